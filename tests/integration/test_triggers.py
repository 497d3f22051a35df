"""Triggers that act: `--event` against `on:`, `run --all` and `plan --all`, on real git
repositories (branches, tags, a pull request touching one service), and the services
example end to end against the real registry."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator

import docker
import pytest

from tests.integration.fixtures.engine import REPO
from tests.integration.fixtures.workspace import Workspace
from tests.integration.registry import Registry, free_port

SERVICE_PIPELINE = """\
on:
  push: {{paths: ["{name}/**"]}}
  pull_request: {{paths: ["{name}/**"]}}
  tag: {{tags: ["v*"]}}
jobs:
  test: {{steps: ["{step}"]}}
"""
INTEGRATION = """\
on: {pipelines: {names: [api, web], status: passed}}
jobs:
  check: {steps: ["echo upstream: $DOCKSTEP_UPSTREAM_STATUS"]}
"""


def services(workspace: Workspace, *, api_step: str = "echo api") -> None:
    """api/ and web/ with a pipeline each, and an integration pipeline after both, on main."""
    workspace.pipeline(SERVICE_PIPELINE.format(name="api", step=api_step), "api")
    workspace.pipeline(SERVICE_PIPELINE.format(name="web", step="echo web"), "web")
    workspace.pipeline(INTEGRATION, "integration")
    workspace.write("api/app.sh", "1\n")
    workspace.write("web/index.html", "1\n")
    workspace.git("checkout", "--quiet", "-b", "main")
    workspace.commit("two services")


def pull_request_touching_api(workspace: Workspace) -> None:
    workspace.git("checkout", "--quiet", "-b", "feature/api")
    workspace.write("api/app.sh", "2\n")
    workspace.commit("api only")


def statuses(report: dict[str, object]) -> dict[str, str]:
    pipelines = report["pipelines"]
    assert isinstance(pipelines, list)
    return {p["name"]: p["status"] for p in pipelines}


def test_a_pull_request_runs_the_pipelines_of_what_it_changed(workspace: Workspace) -> None:
    services(workspace)
    pull_request_touching_api(workspace)
    result = workspace.run("--all", "--event", "pull_request", "--base", "main")
    assert result.code == 0, result
    assert result.report is not None
    assert statuses(result.report) == {"api": "passed", "web": "skipped", "integration": "skipped"}
    assert set(result.jobs) == {"api/test"}
    web = next(p for p in result.report["pipelines"] if p["name"] == "web")
    assert web["reasons"] == ["no changed path matches paths ['web/**']"]
    assert result.report["event"]["changed"] == ["api/app.sh"]


def test_a_push_of_both_services_runs_integration_after_them(workspace: Workspace) -> None:
    services(workspace)
    before = workspace.git("rev-parse", "HEAD")
    workspace.write("api/app.sh", "2\n")
    workspace.write("web/index.html", "2\n")
    workspace.commit("both")
    result = workspace.run("--all", "--event", "push", "--before", before)
    assert result.code == 0, result
    assert result.report is not None
    assert statuses(result.report) == {"api": "passed", "web": "passed", "integration": "passed"}
    assert result.lines_of("integration/check")[-1] == "upstream: api=passed web=passed"
    jobs = result.jobs
    assert float(jobs["integration/check"]["started_at"]) >= max(
        float(jobs["api/test"]["finished_at"]), float(jobs["web/test"]["finished_at"])
    )


def test_a_failed_service_skips_integration_and_nothing_else(workspace: Workspace) -> None:
    services(workspace, api_step="exit 3")
    workspace.git("tag", "v1.0.0")
    result = workspace.run("--all", "--event", "tag", "--tag", "v1.0.0")
    assert result.code == 1, result
    assert result.report is not None
    assert statuses(result.report) == {"api": "failed", "web": "passed", "integration": "skipped"}
    integration = next(p for p in result.report["pipelines"] if p["name"] == "integration")
    assert integration["reasons"] == ["upstream 'api' failed (status: passed)"]


def test_a_cycle_between_pipelines_is_refused_before_any_docker_call(
    workspace: Workspace,
) -> None:
    workspace.pipeline("on: {pipelines: {names: [b]}}\njobs: {t: {steps: [x]}}\n", "a")
    workspace.pipeline("on: {pipelines: {names: [a]}}\njobs: {t: {steps: [x]}}\n", "b")
    workspace.commit("a cycle")
    # an unreachable engine proves no Docker call is made before the refusal
    result = workspace.run("--all", env={"DOCKER_HOST": "tcp://127.0.0.1:9"})
    assert result.code == 2, result
    assert "pipelines wait for each other in a cycle: a -> b -> a" in result.stderr
    assert "DOCKER_HOST" not in result.stderr and "Docker" not in result.stderr


def test_plan_all_says_which_filter_failed(workspace: Workspace) -> None:
    services(workspace)
    pull_request_touching_api(workspace)
    result = workspace.dockstep("plan", "--all", "--event", "pull_request", "--base", "main")
    assert result.code == 0, result
    out = result.stdout
    assert "pull request from feature/api into main" in out
    assert "api (pipelines/api.yml): runs" in out
    web = "web (pipelines/web.yml): does not run\n  - no changed path matches paths ['web/**']"
    assert web in out
    assert (
        "integration (pipelines/integration.yml): does not run\n  - status: passed needs every "
        "upstream to pass, and 'web' does not run" in out
    )


def test_an_event_that_does_not_match_runs_nothing_unless_forced(workspace: Workspace) -> None:
    services(workspace)
    pull_request_touching_api(workspace)
    args = ("pipelines/web.yml", "--event", "pull_request", "--base", "main")
    skipped = workspace.run(*args, report=None)
    assert skipped.code == 0, skipped
    assert "web: not run for this pull_request event: no changed path matches paths" in (
        skipped.stdout
    )
    assert "--force runs it anyway" in skipped.stdout
    assert "web | " not in skipped.stdout
    forced = workspace.run(*args, "--force")
    assert forced.code == 0, forced
    assert forced.jobs["test"]["status"] == "passed"
    assert forced.report is not None
    assert forced.report["event"]["kind"] == "pull_request"


def test_a_manual_job_is_skipped_in_an_unattended_run_unless_approved(
    workspace: Workspace,
) -> None:
    workspace.pipeline(
        "jobs:\n  release: {when: manual, steps: ['echo released']}\n"
        "  after: {needs: [release], steps: ['echo after']}\n"
    )
    workspace.commit("manual")
    unattended = workspace.run("pipelines/ci.yml", env={"CI": "true"})
    assert unattended.code == 0, unattended
    assert unattended.jobs["release"]["status"] == "skipped"
    assert "when: manual" in unattended.jobs["release"]["reason"]
    assert unattended.jobs["after"]["status"] == "skipped"
    approved = workspace.run("pipelines/ci.yml", "--approve", "release", env={"CI": "true"})
    assert approved.code == 0, approved
    assert approved.lines_of("release")[0] == "start this manual job approved"
    assert approved.jobs["after"]["status"] == "passed"


# ---------------------------------------------------------------- the services example

SUFFIX = uuid.uuid4().hex[:8]
SERVICES = ("services-it-api", "services-it-web", "services-staging-api")


@pytest.fixture
def containers(engine: docker.DockerClient) -> Iterator[None]:
    yield
    for name in SERVICES:
        for each in (f"{name}-{SUFFIX}", f"{name}-{SUFFIX}-previous"):
            with contextlib.suppress(docker.errors.NotFound):
                engine.containers.get(each).remove(force=True)


def example(workspace: Workspace, registry: Registry) -> None:
    """examples/services with the test registry, free ports and unique service names."""
    shutil.copytree(REPO / "examples" / "services", workspace.path, dirs_exist_ok=True)
    ports = {str(port): str(free_port()) for port in (18181, 18182, 18183)}
    for path in (workspace.path / "pipelines").glob("*.yml"):
        text = path.read_text().replace("127.0.0.1:5000", registry.address)
        for old, new in ports.items():
            text = text.replace(old, new)
        for name in SERVICES:
            text = text.replace(f"service: {name}", f"service: {name}-{SUFFIX}")
        path.write_text(text)
    workspace.git("checkout", "--quiet", "-b", "main")
    workspace.commit("the services example")


def test_the_services_example_integrates_the_exact_digests_and_deploys_the_push(
    workspace: Workspace, registry: Registry, containers: None
) -> None:
    example(workspace, registry)
    result = workspace.run("--all", "--event", "push", "--var", f"BASE_IMAGE={workspace.image}")
    assert result.code == 0, result
    assert result.report is not None
    assert set(statuses(result.report).values()) == {"passed"}
    jobs = result.jobs
    (api,) = jobs["api/image"]["outputs"]["pushed"].split()[:1]
    (web,) = jobs["web/image"]["outputs"]["pushed"].split()[:1]
    assert api.startswith(f"{registry.address}/services-api@sha256:")
    assert jobs["integration/api"]["deployment"]["image"] == api
    assert jobs["integration/web"]["deployment"]["image"] == web
    assert jobs["deploy/api"]["deployment"]["image"] == api  # chained on the image push
    assert jobs["integration/talk"]["status"] == "passed"
