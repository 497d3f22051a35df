"""Package, deploy, verify, approvals and artifacts, as a user runs them: dockstep as a
subprocess, the real engine, a real registry on 127.0.0.1 (and a proxy in front of it
that fails on purpose), services published on free 127.0.0.1 ports.

Every service a test deploys (and its `-previous`) is removed by the `deliveries` fixture,
with the images its package jobs built; all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import docker

from tests.integration.fixtures.delivery import SERVICE_LABEL, Deliveries
from tests.integration.fixtures.engine import REPO
from tests.integration.fixtures.workspace import RUN_TIMEOUT, Result, Workspace
from tests.integration.proxy import Proxy
from tests.integration.registry import Registry, closed_port, free_port

SOURCE = "https://example.invalid/team/webapp.git"
OCI = "org.opencontainers.image"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
RETRY = "{max: 3, delay: 200ms, backoff: 2, max_delay: 500ms}"

# Only ever 127.0.0.1, and never through a proxy from the environment.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(port: int, path: str) -> tuple[int, str]:
    """GET http://127.0.0.1:PORT/PATH from the test itself: status and body."""
    try:
        with _LOCAL.open(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def manifest_digest(registry: Registry, repository: str, tag: str) -> str:
    """The digest the registry serves a tag's manifest under."""
    request = urllib.request.Request(
        registry.url(f"/v2/{repository}/manifests/{tag}"),
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with _LOCAL.open(request, timeout=5) as answer:
        return str(answer.headers["Docker-Content-Digest"])


@dataclass
class Webapp:
    """A workspace holding a copy of examples/webapp, committed, with a remote named origin."""

    workspace: Workspace
    deliveries: Deliveries
    head: str
    branch: str

    @classmethod
    def make(cls, workspace: Workspace, deliveries: Deliveries) -> Webapp:
        shutil.copytree(REPO / "examples" / "webapp", workspace.path / "examples" / "webapp")
        workspace.write(".gitignore", ".dockstep/\nreport.json\n")
        workspace.git("remote", "add", "origin", SOURCE)  # configuration only: never fetched
        head = workspace.commit("the webapp")
        branch = workspace.git("rev-parse", "--abbrev-ref", "HEAD")
        return cls(workspace, deliveries, head, branch)

    @property
    def repository(self) -> str:
        return f"webapp-{self.deliveries.token}"

    def package(self, push: str | None, tags: str = "[sha, branch]") -> str:
        """The package job `image`, pushing to `push` (a registry address), or not at all."""
        labels = json.dumps({**self.deliveries.labels, f"{OCI}.title": "webapp"})
        lines = [
            "  image:",
            "    stage: package",
            "    package:",
            "      context: examples/webapp",
            '      args: {BASE: "${BASE_IMAGE}", VERSION: "${VERSION:-dev}"}',
            f"      labels: {labels}",
            f"      tags: {tags}",
            f"      retry: {RETRY}",
        ]
        if push:
            lines.append(f"      push: [{push}/{self.repository}]")
        return "\n".join(lines) + "\n"

    def deploy(self, service: str, port: int | None, environment: str = "staging") -> str:
        lines = [
            "  deploy:",
            "    stage: deploy",
            "    needs: [image]",
            "    deploy:",
            f"      environment: {environment}",
            "      package: image",
            f"      service: {service}",
        ]
        if port is not None:
            lines.append(f'      ports: ["{port}:8000"]')
        return "\n".join(lines) + "\n"

    @staticmethod
    def verify(port: int, body: str = "^ok", deadline: str = "15s", baseline: bool = True) -> str:
        lines = [
            "  smoke:",
            "    stage: verify",
            "    needs: [deploy]",
            "    verify:",
            "      deployment: deploy",
            "      checks:",
            f'        - http: {{url: "http://127.0.0.1:{port}/health", body: "{body}",'
            f" deadline: {deadline}, interval: 100ms}}",
            f"        - tcp: 127.0.0.1:{port}",
            "        - command: test -s /www/version",
        ]
        if baseline:
            lines.append(
                f'      baseline: {{url: "http://127.0.0.1:{port}/", requests: 20, p95: 2s,'
                " error_rate: 0}"
            )
        return "\n".join(lines) + "\n"

    def pipeline(self, *jobs: str, name: str = "ci", approval: bool = False) -> str:
        environments = "environments:\n  staging: {env: {DEPLOYED_TO: staging}}\n"
        if approval:
            environments += "  production: {approval: required}\n"
        return self.workspace.pipeline(environments + "jobs:\n" + "".join(jobs), name=name)

    def run(self, pipeline: str, *args: str, version: str = "one") -> Result:
        variables = ("--var", f"BASE_IMAGE={self.workspace.image}", "--var", f"VERSION={version}")
        return self.workspace.run(pipeline, *variables, *args)


def outputs(result: Result, job: str) -> dict[str, str]:
    return dict(result.jobs[job]["outputs"])


def passed(result: Result, *jobs: str) -> None:
    assert result.code == 0, result
    for job in jobs:
        assert result.jobs[job]["status"] == "passed", result


# ---------------------------------------------------------------- package


def test_a_package_is_pushed_by_digest_with_its_tags_and_oci_labels(
    workspace: Workspace, deliveries: Deliveries, registry: Registry, engine: docker.DockerClient
) -> None:
    app = Webapp.make(workspace, deliveries)
    result = app.run(app.pipeline(app.package(push=registry.address)))
    passed(result, "image")

    out = outputs(result, "image")
    repository = f"{registry.address}/{app.repository}"
    [pushed] = out["pushed"].split()
    name, _, digest = pushed.partition("@")
    assert name == repository
    assert DIGEST.fullmatch(digest), pushed
    sha_tag = f"sha-{app.head[:12]}"
    assert re.fullmatch(r"sha-[0-9a-f]{12}", sha_tag)
    assert out["tags"] == f"{sha_tag} {app.branch}"
    assert sorted(registry.tags(app.repository)) == sorted([sha_tag, app.branch])
    assert manifest_digest(registry, app.repository, sha_tag) == digest
    assert manifest_digest(registry, app.repository, app.branch) == digest

    image = engine.images.get(out["image"])
    assert f"{repository}@{digest}" in (image.attrs.get("RepoDigests") or [])
    labels = image.labels
    assert labels[f"{OCI}.revision"] == app.head
    assert labels[f"{OCI}.source"] == SOURCE
    assert labels[f"{OCI}.title"] == "webapp"
    committed = datetime.fromisoformat(workspace.git("log", "-1", "--format=%cI"))
    assert labels[f"{OCI}.created"] == committed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"pushed {repository}:{sha_tag} ({digest})" in result.lines_of("image")


def test_a_push_failing_with_500_twice_passes_on_the_third_attempt(
    workspace: Workspace, deliveries: Deliveries, registry: Registry, proxy: Proxy
) -> None:
    """The engine retries layer uploads itself but surfaces a failed manifest PUT at once,
    so failing that is what reaches dockstep's own retries."""
    app = Webapp.make(workspace, deliveries)
    proxy.answer(500, method="PUT", path=r"/manifests/", times=2)
    result = app.run(app.pipeline(app.package(push=proxy.address, tags="[sha]")))
    passed(result, "image")

    lines = result.lines_of("image")
    retried = [line for line in lines if line.startswith("push of ")]
    assert len(retried) == 2, result
    assert "500 Internal Server Error" in retried[0]
    assert "; attempt 2/4 in " in retried[0]
    assert "; attempt 3/4 in " in retried[1]
    manifests = proxy.seen("PUT", r"/manifests/")
    assert [(m.status, m.answered) for m in manifests] == [(500, True), (500, True), (201, False)]
    assert registry.tags(app.repository) == [f"sha-{app.head[:12]}"]
    digest = outputs(result, "image")["pushed"].partition("@")[2]
    assert manifest_digest(registry, app.repository, f"sha-{app.head[:12]}") == digest


def test_a_push_refused_with_401_fails_at_once(
    workspace: Workspace, deliveries: Deliveries, proxy: Proxy
) -> None:
    app = Webapp.make(workspace, deliveries)
    proxy.answer(401)
    started = time.monotonic()
    result = app.run(app.pipeline(app.package(push=proxy.address, tags="[sha]")))
    assert result.code == 1, result
    job = result.jobs["image"]
    assert job["status"] == "failed", result
    # the engine's words for a 401 with a challenge, when it has no credentials to answer
    assert "no basic auth credentials" in (job["reason"] or ""), result
    lines = result.lines_of("image")
    assert not [line for line in lines if "attempt" in line], result
    assert len([line for line in lines if line.startswith("error: ")]) == 1, result
    assert len(proxy.seen("GET", r"^/v2/$")) == 1, "the engine was asked to push once only"
    assert proxy.seen("PUT", r"/manifests/") == []
    assert time.monotonic() - started < 20


# ---------------------------------------------------------------- deploy and verify


def test_deploy_and_verify_a_service_on_a_free_port(
    workspace: Workspace, deliveries: Deliveries, registry: Registry
) -> None:
    app = Webapp.make(workspace, deliveries)
    service, port = deliveries.service("webapp"), free_port()
    path = app.pipeline(
        app.package(push=registry.address), app.deploy(service, port), app.verify(port)
    )
    result = app.run(path)
    passed(result, "image", "deploy", "smoke")

    pushed = outputs(result, "image")["pushed"]
    deployed = outputs(result, "deploy")
    assert deployed["image"] == pushed, "the deploy must run the digest that was pushed"
    assert (deployed["service"], deployed["environment"], deployed["previous"]) == (
        service,
        "staging",
        "",
    )
    smoke = outputs(result, "smoke")
    assert smoke["requests"] == "20"
    assert float(smoke["p50_ms"]) <= float(smoke["p95_ms"]) < 2000
    assert smoke["error_rate"] == "0.0000"
    assert get(port, "/health") == (200, "ok\n")
    assert get(port, "/version") == (200, "one\n")

    container = deliveries.container(service)
    assert container is not None and container.status == "running"
    assert container.labels[SERVICE_LABEL] == service
    assert container.image is not None
    assert container.image.id == outputs(result, "image")["image"]
    bindings = container.attrs["HostConfig"]["PortBindings"]["8000/tcp"]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    assert "DEPLOYED_TO=staging" in container.attrs["Config"]["Env"]
    assert deliveries.container(f"{service}-previous") is None


def test_a_failed_health_check_rolls_back_to_the_first_deployment(
    workspace: Workspace, deliveries: Deliveries, registry: Registry
) -> None:
    app = Webapp.make(workspace, deliveries)
    service, port = deliveries.service("webapp"), free_port()
    package, deploy = app.package(push=registry.address), app.deploy(service, port)
    good = app.pipeline(package, deploy, app.verify(port, baseline=False))
    bad = app.pipeline(
        package, deploy, app.verify(port, body="^nope", deadline="1s", baseline=False), name="bad"
    )
    first = app.run(good, version="one")
    passed(first, "image", "deploy", "smoke")
    assert get(port, "/version") == (200, "one\n")
    first_container = deliveries.container(service)
    assert first_container is not None

    second = app.run(bad, version="two")
    assert second.code == 1, second
    assert second.jobs["deploy"]["status"] == "passed", second
    assert outputs(second, "deploy")["previous"] == first_container.attrs["Image"]
    smoke = second.jobs["smoke"]
    assert smoke["status"] == "failed", second
    assert "body does not match '^nope'" in smoke["reason"]
    assert smoke["reason"].endswith("; rolled back")
    assert smoke["outputs"]["rolled_back"] == "true"
    assert f"rolled back {service} to the previous version" in "\n".join(
        second.lines_of("smoke")
    ), second

    assert get(port, "/version") == (200, "one\n"), "the first deployment must answer again"
    restored = deliveries.container(service)
    assert restored is not None and restored.status == "running"
    assert restored.id == first_container.id
    assert deliveries.container(f"{service}-previous") is None


def test_a_service_named_like_a_container_id_leaves_that_container_alone(
    workspace: Workspace, deliveries: Deliveries, engine: docker.DockerClient
) -> None:
    """The engine resolves a name it does not know as an id prefix: a first deploy of a
    service whose name is some other container's id prefix must not stop and rename it."""
    bystander = engine.containers.create(
        workspace.image, ["sleep", "60"], labels=deliveries.labels, init=True
    )
    bystander.start()
    assert bystander.id is not None and bystander.name is not None
    name = bystander.name
    service = deliveries.keep(bystander.id[:12])
    app = Webapp.make(workspace, deliveries)
    result = app.run(app.pipeline(app.package(push=None), app.deploy(service, port=None)))
    passed(result, "image", "deploy")

    bystander.reload()
    assert (bystander.name, bystander.status) == (name, "running"), (
        "the deploy stopped and renamed a container that was not its own"
    )
    deployed = deliveries.container(service)
    assert deployed is not None and deployed.id != bystander.id
    assert deployed.labels[SERVICE_LABEL] == service


# ---------------------------------------------------------------- approvals


def test_a_guarded_deploy_fails_at_once_without_a_terminal_and_passes_when_approved(
    workspace: Workspace, deliveries: Deliveries
) -> None:
    app = Webapp.make(workspace, deliveries)
    service = deliveries.service("prod")
    path = app.pipeline(
        app.package(push=None), app.deploy(service, None, "production"), approval=True
    )
    refused = app.run(path)
    assert refused.code == 1, refused
    deploy = refused.jobs["deploy"]
    assert deploy["status"] == "failed", refused
    assert "--approve deploy" in deploy["reason"]
    assert f"dockstep approve {refused.run_id} deploy" in deploy["reason"]
    assert deploy["duration"] < 2, "nobody can answer: it must not wait"
    assert deliveries.container(service) is None

    approved = app.run(path, "--approve", "deploy")
    passed(approved, "image", "deploy")
    assert "deploy to production approved" in approved.lines_of("deploy")
    container = deliveries.container(service)
    assert container is not None and container.status == "running"


class Terminal:
    """`dockstep run` with a pseudo-terminal as stdin (someone could answer), its output
    read line by line while it runs."""

    def __init__(self, workspace: Workspace, *args: str) -> None:
        self.workspace = workspace
        primary, secondary = os.openpty()
        self._primary = primary
        env = {k: v for k, v in workspace.env.items() if k != "CI"}
        self.process = subprocess.Popen(
            workspace.command("run", *args),
            cwd=workspace.path,
            env=env,
            stdin=secondary,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        os.close(secondary)
        workspace.owners.pids.add(self.process.pid)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self._stderr.append(self.process.stderr.read())

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.seen))

    def finish(self) -> Result:
        try:
            self.process.wait(timeout=RUN_TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for reader in self._readers:
                reader.join(10)
            for pipe in (self.process.stdout, self.process.stderr):
                if pipe is not None:
                    pipe.close()
            os.close(self._primary)
        while (line := self.lines.get_nowait() if not self.lines.empty() else None) is not None:
            self.seen.append(line)
        stdout = "\n".join(self.seen) + "\n"
        report: dict[str, Any] | None = None
        if (self.workspace.path / "report.json").is_file():
            report = json.loads((self.workspace.path / "report.json").read_text())
        result = Result(self.process.returncode, stdout, "".join(self._stderr), report)
        self.workspace.owners.run_ids.add(result.run_id)
        return result


def test_an_interactive_run_waits_for_dockstep_approve(
    workspace: Workspace, deliveries: Deliveries
) -> None:
    app = Webapp.make(workspace, deliveries)
    service = deliveries.service("prod")
    path = app.pipeline(
        app.package(push=None), app.deploy(service, None, "production"), approval=True
    )
    terminal = Terminal(
        workspace, path, "--var", f"BASE_IMAGE={workspace.image}", "--report", "report.json"
    )
    try:
        run_id = terminal.wait_for(r"^dockstep run (\S+):").group(1)
        waiting = terminal.wait_for(r"^deploy\s+\| waiting for approval")
        assert f"run `dockstep approve {run_id} deploy`" in waiting.string
        time.sleep(0.3)
        assert terminal.process.poll() is None, "it must keep waiting until approved"
        assert deliveries.container(service) is None
        approval = workspace.dockstep("approve", run_id, "deploy")
        assert approval.code == 0, approval
        assert f"approved deploy in run {run_id}" in approval.stdout
    finally:
        result = terminal.finish()
    passed(result, "image", "deploy")
    assert "deploy to production approved" in result.lines_of("deploy")
    container = deliveries.container(service)
    assert container is not None and container.status == "running"


# ---------------------------------------------------------------- artifacts


def artifacts_pipeline(workspace: Workspace, tamper: bool) -> str:
    jobs = [
        "jobs:",
        "  A:",
        "    artifacts: [out]",
        "    steps: ['mkdir -p out && echo 42 > out/result.txt']",
    ]
    consumer_needs = "[A]"
    if tamper:
        archived = ".dockstep/runs/$DOCKSTEP_RUN_ID/artifacts/A/out/result.txt"
        jobs += [
            "  T:",
            "    needs: [A]",
            f"    steps: ['echo 666 > {archived}']",
        ]
        consumer_needs = "[A, T]"
    jobs += [
        "  B:",
        f"    needs: {consumer_needs}",
        "    steps:",
        "      - 'echo got $(cat /artifacts/A/out/result.txt)'",
        "      - 'test \"$(cat /artifacts/A/out/result.txt)\" = 42'",
    ]
    return workspace.pipeline("\n".join(jobs) + "\n")


def test_a_job_gets_the_artifacts_of_the_job_it_needs(workspace: Workspace) -> None:
    result = workspace.run(artifacts_pipeline(workspace, tamper=False))
    passed(result, "A", "B")
    assert "got 42" in result.lines_of("B"), result
    folder = workspace.path / ".dockstep" / "runs" / result.run_id / "artifacts" / "A"
    assert outputs(result, "A")["artifacts"] == str(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"] == {"out/result.txt": hashlib.sha256(b"42\n").hexdigest()}
    assert "artifacts of A (checksums verified) at /artifacts/A" in result.lines_of("B")


def test_an_archive_changed_after_it_was_made_fails_the_consumer(workspace: Workspace) -> None:
    result = workspace.run(artifacts_pipeline(workspace, tamper=True))
    assert result.code == 1, result
    assert result.jobs["T"]["status"] == "passed", result
    consumer = result.jobs["B"]
    assert consumer["status"] == "failed", result
    assert consumer["reason"] == "artifacts of 'A': out/result.txt does not match its checksum"
    assert not [line for line in result.lines_of("B") if line.startswith("got ")], result


def test_a_job_cannot_approve_a_deploy_by_writing_the_workspace(
    workspace: Workspace, deliveries: Deliveries
) -> None:
    """Every job can write the workspace; approvals must live where no job reaches."""
    app = Webapp.make(workspace, deliveries)
    service = deliveries.service("prod")
    forger = """
  forge:
    stage: build
    steps:
      - |
        d=.dockstep/runs/$DOCKSTEP_RUN_ID/approvals
        mkdir -p $d && touch $d/deploy
"""
    path = app.pipeline(
        forger, app.package(push=None), app.deploy(service, None, "production"), approval=True
    )
    result = app.run(path)
    assert result.jobs["forge"]["status"] == "passed", result
    assert result.jobs["deploy"]["status"] == "failed", result
    assert "needs approval" in result.jobs["deploy"]["reason"]
    assert deliveries.container(service) is None


def test_a_package_job_retrying_past_its_timeout_ends_as_timeout(
    workspace: Workspace, deliveries: Deliveries
) -> None:
    app = Webapp.make(workspace, deliveries)
    job = app.package(push=f"127.0.0.1:{closed_port()}").replace(
        f"      retry: {RETRY}", "      retry: {max: 5, delay: 30s, max_delay: 60s}"
    )
    result = app.run(app.pipeline(job + "    timeout: 3s\n"))
    image = result.jobs["image"]
    assert image["status"] == "timeout", result
    assert image["duration"] < 20, "the timeout must end the 30 s wait between attempts"
