"""Integration tests: dockstep as a user runs it, against the real Docker engine.

Without an engine every test fails (never skips), saying how to start one. Each test runs
`dockstep` as a subprocess in its own `git init`-ed workspace, and afterwards nothing
labelled `io.dockstep.run` by that test's runs may be left on the engine.
"""

from __future__ import annotations

import gc
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from runner.engine import labels

REPO = Path(__file__).resolve().parents[2]
RUN_LABEL = labels.RUN
OWNER_HOST = labels.OWNER_HOST
OWNER_PID = labels.OWNER_PID
OWNER_STARTED = labels.OWNER_STARTED
GIT_NAME, GIT_EMAIL = "dockstep tests", "tests@dockstep.invalid"
RUN_TIMEOUT = 120  # seconds a dockstep subprocess may take before the test gives up on it
_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")
_RUN_LINE = re.compile(r"^dockstep run (\S+):", re.MULTILINE)

Report = dict[str, Any]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


# ---------------------------------------------------------------- the engine


def _connect() -> tuple[docker.DockerClient | None, str]:
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as error:  # any failure to reach the engine means "start one"
        return None, f"{error.__class__.__name__}: {error}"
    return client, ""


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        client, problem = _connect()
        gc.collect()  # the SDK leaves a failed connection's socket to the collector
    if client is None:
        pytest.fail(
            f"no Docker engine answers ({problem}). The integration tests need one: "
            "start it with scripts/ensure-docker.sh (as root), or point DOCKER_HOST at a "
            "running engine.",
            pytrace=False,
        )
    yield client
    client.close()


@pytest.fixture(scope="session", autouse=True)
def engine_answers(engine: docker.DockerClient) -> None:
    """Every integration test fails, never skips, when no engine answers."""


@pytest.fixture(scope="session")
def tiny_image(engine: docker.DockerClient) -> str:
    """The id of the locally made 2 MB busybox image (never pulled from a registry)."""
    done = subprocess.run(
        [str(REPO / "images" / "bootstrap.sh"), "tiny"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    image = done.stdout.strip()
    if done.returncode != 0 or not _IMAGE_ID.fullmatch(image):
        pytest.fail(f"images/bootstrap.sh tiny failed ({done.returncode}):\n{done.stderr}")
    return image


# ---------------------------------------------------------------- what runs leave behind


@dataclass(frozen=True)
class Leftover:
    kind: str  # container | network | volume
    name: str
    labels: Mapping[str, str]

    @property
    def run_id(self) -> str:
        return self.labels.get(RUN_LABEL, "")


def labelled(engine: docker.DockerClient, label: str = RUN_LABEL) -> list[Leftover]:
    """Every container, network and volume carrying `label` (NAME or NAME=VALUE)."""
    filters: dict[str, str | list[str] | bool] = {"label": label}
    found = [
        Leftover("container", c.name or c.id or "?", c.labels)
        for c in engine.containers.list(all=True, filters=filters)
    ]
    found += [
        Leftover("network", n.name or "?", n.attrs.get("Labels") or {})
        for n in engine.networks.list(filters=filters)
    ]
    found += [
        Leftover("volume", v.name or "?", v.attrs.get("Labels") or {})
        for v in engine.volumes.list(filters=filters)
    ]
    return found


def of_run(engine: docker.DockerClient, run_id: str) -> list[Leftover]:
    return labelled(engine, f"{RUN_LABEL}={run_id}")


def remove(engine: docker.DockerClient, leftovers: list[Leftover]) -> None:
    order = {"container": 0, "network": 1, "volume": 2}
    for item in sorted(leftovers, key=lambda i: order[i.kind]):
        try:
            if item.kind == "container":
                engine.containers.get(item.name).remove(force=True, v=True)
            elif item.kind == "network":
                engine.networks.get(item.name).remove()
            else:
                engine.volumes.get(item.name).remove(force=True)
        except docker.errors.NotFound:
            pass


@dataclass
class Owners:
    """The runs one test started: their process ids and run ids."""

    pids: set[int] = field(default_factory=set)
    run_ids: set[str] = field(default_factory=set)

    def owns(self, item: Leftover) -> bool:
        pid = item.labels.get(OWNER_PID, "")
        return item.run_id in self.run_ids or (pid.isdigit() and int(pid) in self.pids)


@pytest.fixture
def owners() -> Owners:
    return Owners()


@pytest.fixture(autouse=True)
def nothing_left_behind(engine: docker.DockerClient, owners: Owners) -> Iterator[None]:
    """After each test, nothing its runs labelled io.dockstep.run may remain on the engine.

    Only this test's runs are judged (by owner pid and run id), so a run someone else
    has going on the same engine cannot fail it. Leftovers are removed, then reported,
    so that one failure does not cascade into the next tests.
    """
    yield
    left = [item for item in labelled(engine) if owners.owns(item)]
    remove(engine, left)
    assert not left, "left behind on the engine: " + ", ".join(
        f"{i.kind} {i.name} (run {i.run_id})" for i in left
    )


# ---------------------------------------------------------------- a user's workspace


@dataclass
class Result:
    """A finished `dockstep` process as its user sees it."""

    code: int
    stdout: str
    stderr: str
    report: Report | None

    @property
    def run_id(self) -> str:
        if self.report is not None:
            return str(self.report["run_id"])
        found = _RUN_LINE.search(self.stdout)
        assert found, f"no run id in the output:\n{self.stdout}"
        return found.group(1)

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        """The report's jobs by name."""
        assert self.report is not None, f"no report was written\n{self}"
        return {job["name"]: job for job in self.report["jobs"]}

    def row(self, job: str) -> list[str]:
        """The summary table's row for a job: name, stage, status, ... split on spaces."""
        lines = self.stdout.splitlines()
        header = next(
            (i for i, line in enumerate(lines) if line.split()[:3] == ["job", "stage", "status"]),
            None,
        )
        assert header is not None, f"no summary table in:\n{self.stdout}"
        for line in lines[header + 2 :]:
            cells = line.split()
            if cells and cells[0] == job:
                return cells
        raise AssertionError(f"no summary row for {job!r} in:\n{self.stdout}")

    def lines_of(self, job: str) -> list[str]:
        """What a job printed (its `job | text` lines), without the prefix."""
        found = []
        for line in self.stdout.splitlines():
            name, sep, text = line.partition(" | ")
            if sep and name.strip() == job:
                found.append(text)
        return found

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def _child_defaults() -> None:
    """A user's shell delivers Ctrl-C: make sure SIGINT is not inherited as ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Workspace:
    """A git repository with pipelines in it, where the test runs dockstep."""

    def __init__(self, path: Path, image: str, owners: Owners) -> None:
        self.path = path
        self.image = image
        self.owners = owners
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("DOCKSTEP_") and name != "FORCE_COLOR"
        }
        self.env["NO_COLOR"] = "1"
        self.git("init", "--quiet")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-c", f"user.name={GIT_NAME}", "-c", f"user.email={GIT_EMAIL}", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return done.stdout.strip()

    def commit(self, message: str = "a commit") -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def write(self, relative: str, text: str) -> Path:
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def pipeline(self, body: str, name: str = "ci") -> str:
        """Write pipelines/<name>.yml: version 1, the tiny image by default, then `body`."""
        header = f'version: 1\ndefaults: {{image: "{self.image}"}}\n'
        self.write(f"pipelines/{name}.yml", header + textwrap.dedent(body))
        return f"pipelines/{name}.yml"

    def command(self, *args: str, user: tuple[int, int, int] | None = None) -> list[str]:
        """`python -m runner.cli ARGS`, as uid:gid with one extra group when `user` is set."""
        command = [sys.executable, "-m", "runner.cli", *args]
        if user is None:
            return command
        uid, gid, group = user
        return [
            "setpriv", f"--reuid={uid}", f"--regid={gid}", f"--groups={group}", "--", *command
        ]  # fmt: skip

    def start(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        user: tuple[int, int, int] | None = None,
    ) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            self.command(*args, user=user),
            cwd=self.path,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_child_defaults,  # noqa: PLW1509 (single-threaded test process)
        )
        self.owners.pids.add(process.pid)  # setpriv execs: dockstep keeps this pid
        return process

    def finish(
        self,
        process: subprocess.Popen[str],
        report: str | None = None,
        timeout: float = RUN_TIMEOUT,
    ) -> Result:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail(f"dockstep did not end within {timeout}s\n{stdout}\n{stderr}")
        data: Report | None = None
        if report is not None and (self.path / report).is_file():
            data = json.loads((self.path / report).read_text())
        result = Result(code=process.returncode, stdout=stdout, stderr=stderr, report=data)
        if data is not None or _RUN_LINE.search(stdout):
            self.owners.run_ids.add(result.run_id)
        return result

    def run(
        self,
        *args: str,
        report: str | None = "report.json",
        env: Mapping[str, str] | None = None,
        user: tuple[int, int, int] | None = None,
    ) -> Result:
        """`dockstep run ARGS --report report.json`, to the end."""
        extra = ("--report", report) if report else ()
        if report:
            (self.path / report).unlink(missing_ok=True)  # never read an earlier run's report
        process = self.start("run", *args, *extra, env=env, user=user)
        return self.finish(process, report)

    def dockstep(self, *args: str, env: Mapping[str, str] | None = None) -> Result:
        """Any other dockstep command, to the end."""
        return self.finish(self.start(*args, env=env))


@pytest.fixture
def workspace(tmp_path: Path, tiny_image: str, owners: Owners) -> Workspace:
    path = tmp_path / "repo"
    path.mkdir()
    return Workspace(path, tiny_image, owners)


# ---------------------------------------------------------------- shell snippets for steps


def wait_for_file(name: str, seconds: int = 30) -> str:
    """Shell: wait until `name` exists in the workspace (bounded), fail the step otherwise.

    Jobs meet through files in the shared workspace, so that "these ran at the same time"
    is arranged by the steps themselves and then proven from the report's timestamps.
    """
    tries = seconds * 10
    return (
        f'i=0; while [ ! -e "{name}" ] && [ $i -lt {tries} ]; do sleep 0.1; i=$((i+1)); done; '
        f'[ -e "{name}" ] || {{ echo "gave up waiting for {name}"; exit 1; }}'
    )


def overlap(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Whether two recorded [started_at, finished_at] intervals overlap."""
    start = max(float(first["started_at"]), float(second["started_at"]))
    end = min(float(first["finished_at"]), float(second["finished_at"]))
    return start < end


# ---------------------------------------------------------------- the dependency cache

import uuid  # noqa: E402  (appended section: the fixtures above are left as they were)

# The registry the cache tests share layers through: a session fixture, found from here.
from tests.integration.registry import registry  # noqa: E402, F401

CACHE_KIND = labels.CACHE_KIND  # layer | volume
CACHE_KEY = labels.CACHE_KEY
CACHE_JOB = labels.CACHE_JOB
TEST_TOKEN = "io.dockstep.test.token"  # on images a test builds, so it can remove them
LAYER_REPOSITORY = "dockstep-cache"


def _sweep_token(engine: docker.DockerClient, token: str) -> list[str]:
    """Remove the cache layers, cache volumes and built images of one test; what stayed.

    A test's cache entries are the ones whose job name carries its token; its built images
    carry the token as a label. Layers go before the images they were committed on.
    """
    stayed: list[str] = []
    layers = [
        image
        for image in engine.images.list(all=True, filters={"label": CACHE_KIND})
        if token in image.labels.get(CACHE_JOB, "")
    ]
    built = engine.images.list(filters={"label": f"{TEST_TOKEN}={token}"})
    for image in [*layers, *(b for b in built if b.id not in {i.id for i in layers})]:
        try:
            engine.images.remove(str(image.id), force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:  # still used by a leftover container
            stayed.append(f"image {image.id}: {error}")
    for volume in engine.volumes.list(filters={"label": CACHE_KIND}):
        if token not in (volume.attrs.get("Labels") or {}).get(CACHE_JOB, ""):
            continue
        try:
            volume.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            stayed.append(f"volume {volume.name}: {error}")
    return stayed


@pytest.fixture(scope="session")
def cache_tokens(engine: docker.DockerClient) -> Iterator[list[str]]:
    """Every cache token of the session; at its end, what a test could not remove goes.

    A test's own sweep runs before `nothing_left_behind` removes the containers a failed
    run left, so a volume or layer still in use then is removed here, at the very end.
    """
    tokens: list[str] = []
    yield tokens
    stayed = [item for token in tokens for item in _sweep_token(engine, token)]
    assert not stayed, "cache entries the tests could not remove: " + "; ".join(stayed)


@dataclass
class CacheArea:
    """One test's share of the dependency cache.

    `token` makes its cache keys unique (write it into a key file) and names its jobs
    (`job()`), `env` gives its runs their own DOCKSTEP_CACHE_DIR (usage times and locks).
    """

    engine: docker.DockerClient
    token: str
    directory: Path

    @property
    def env(self) -> dict[str, str]:
        return {"DOCKSTEP_CACHE_DIR": str(self.directory)}

    def job(self, name: str = "deps") -> str:
        """A job name of this test: the cache labels its layers and volumes with it."""
        return f"{name}-{self.token}"

    def layers(self, key: str | None = None) -> list[str]:
        """Ids of this test's cache layer images (tagged or not), for one key or all."""
        found = self.engine.images.list(all=True, filters={"label": CACHE_KIND + "=layer"})
        return sorted(
            image.id or ""
            for image in found
            if self.token in image.labels.get(CACHE_JOB, "")
            and (key is None or image.labels.get(CACHE_KEY) == key)
        )

    def tagged(self, key: str) -> str | None:
        """The id of the image tagged dockstep-cache:<key>, None when there is none."""
        try:
            return self.engine.images.get(f"{LAYER_REPOSITORY}:{key}").id
        except docker.errors.ImageNotFound:
            return None

    def volumes(self) -> dict[str, Mapping[str, str]]:
        """This test's cache volumes: name -> labels."""
        found = self.engine.volumes.list(filters={"label": CACHE_KIND + "=volume"})
        return {
            v.name or "": labels
            for v in found
            if self.token in (labels := v.attrs.get("Labels") or {}).get(CACHE_JOB, "")
        }


@pytest.fixture
def cache_area(
    engine: docker.DockerClient, tmp_path: Path, cache_tokens: list[str]
) -> Iterator[CacheArea]:
    """A unique token and cache dir; afterwards the test's layers and volumes are removed."""
    token = uuid.uuid4().hex[:12]
    cache_tokens.append(token)
    area = CacheArea(engine=engine, token=token, directory=tmp_path / "dockstep-cache")
    yield area
    _sweep_token(engine, token)  # what is still in use goes at the end of the session


INSTALL = "echo ran >> /counter/installs; mkdir -p /opt/deps; cat deps.lock > /opt/deps/x"
SHOW = 'echo "installs=$(wc -l < /counter/installs)"; echo "deps=$(cat /opt/deps/x)"'
_SEEN = re.compile(r"^(\w+)=(.*)$")


class DepsJob:
    """One job with a cached install, in a workspace, as the cache tests write it.

    The install counts its runs in a download-cache volume (`/counter`, keyed by
    counter.key, which never changes) and copies deps.lock, the install's key file, to
    /opt/deps/x in the layer. The step prints both: `installs=N` and `deps=<lockfile>`.
    """

    def __init__(self, workspace: Workspace, area: CacheArea) -> None:
        self.workspace = workspace
        self.area = area
        self.name = area.job()
        workspace.write("counter.key", f"{area.token}\n")
        self.lock("v1")
        self.pipeline()

    def lock(self, version: str) -> str:
        """Write deps.lock (unique to this test) and return its content."""
        content = f"{self.area.token} {version}"
        self.workspace.write("deps.lock", content + "\n")
        return content

    def pipeline(
        self,
        *,
        install: str = INSTALL,
        steps: tuple[str, ...] = (SHOW,),
        image: str | None = None,
        remote: str | None = None,
    ) -> str:
        """Write pipelines/ci.yml with the job; `remote` is its `cache.registry`."""
        lines = [f"  {self.name}:"]
        if image:
            lines.append(f"    image: {image}")
        lines += [
            "    install:",
            "      keys: [deps.lock]",
            f"      run: {json.dumps(install)}",
            "    cache:",
            "      volumes: [{path: /counter, keys: [counter.key]}]",
        ]
        if remote:
            lines.append(f"      registry: {remote}")
        lines += ["    steps:", *(f"      - {json.dumps(step)}" for step in steps)]
        return self.workspace.pipeline("jobs:\n" + "\n".join(lines) + "\n")

    def run(self, *args: str, report: str = "report.json") -> Result:
        return self.workspace.run(*args, report=report, env=self.area.env)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return self.workspace.start("run", *args, env=self.area.env)

    def dockstep(self, *args: str) -> Result:
        return self.workspace.dockstep(*args, env=self.area.env)

    def report(self, result: Result) -> dict[str, Any]:
        """The job's entry in the run's report."""
        return result.jobs[self.name]

    def seen(self, result: Result) -> dict[str, str]:
        """What the job's steps printed as NAME=VALUE lines (installs, deps)."""
        found = (_SEEN.match(line) for line in result.lines_of(self.name))
        return {match.group(1): match.group(2) for match in found if match}


@pytest.fixture
def deps(workspace: Workspace, cache_area: CacheArea) -> DepsJob:
    return DepsJob(workspace, cache_area)


# ---------------------------------------------------------------- delivery: services, packages

# A proxy in front of the registry that can answer chosen statuses (proxy.py).
from docker.models.containers import Container  # noqa: E402

from tests.integration.proxy import proxy  # noqa: E402, F401

SERVICE_LABEL = labels.SERVICE


def _remove_containers(engine: docker.DockerClient, names: list[str], token: str) -> list[str]:
    """Remove these containers, and every container labelled with the token; what was there."""
    found: list[str] = []
    for name in names:
        try:
            engine.containers.get(name).remove(force=True, v=True)
        except docker.errors.NotFound:
            continue
        found.append(name)
    for container in engine.containers.list(all=True, filters={"label": f"{TEST_TOKEN}={token}"}):
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            continue
    return found


@dataclass
class Deliveries:
    """One test's share of the engine for package and deploy jobs.

    Service names carry `token`, so no two tests (or a user's own services) collide; a
    package labelled with `labels` is removed, with every tag it got, at the end.
    """

    engine: docker.DockerClient
    token: str
    services: list[str] = field(default_factory=list)

    def service(self, name: str = "web") -> str:
        """A service name of this test; it and `<name>-previous` are removed at the end."""
        return self.keep(f"{name}-{self.token}")

    def keep(self, service: str) -> str:
        """Remove `service` and `service-previous` at the end, whatever the test did."""
        self.services.append(service)
        return service

    @property
    def labels(self) -> dict[str, str]:
        """Labels for a package job (or a container) that make it this test's."""
        return {TEST_TOKEN: self.token}

    def container(self, name: str) -> Container | None:
        """The container of this name, running or not; None when there is none."""
        try:
            return self.engine.containers.get(name)
        except docker.errors.NotFound:
            return None


@pytest.fixture
def deliveries(engine: docker.DockerClient, cache_tokens: list[str]) -> Iterator[Deliveries]:
    """Deployed service containers and `<service>-previous` are removed after the test, then
    the images its package jobs built (labelled with its token), pushed tags included."""
    token = uuid.uuid4().hex[:10]
    cache_tokens.append(token)  # what is still in use now is swept at the session's end
    area = Deliveries(engine=engine, token=token)
    yield area
    names = [n for s in area.services for n in (s, f"{s}-previous")]
    _remove_containers(engine, names, token)
    _sweep_token(engine, token)
