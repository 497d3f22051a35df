"""Pipelines of pipelines: what an event starts, what waits, and what a user is told."""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.errors import PipelineInvalid
from runner.format.load import load_pipeline_text
from runner.model.events import Event, EventKind, EventSource, PipelineStatus, Upstream
from runner.model.pipeline import Pipeline
from runner.model.results import JobResult, Packaged, PushedImage, Status
from runner.plan.compose import compose, release, upstream, upstream_variables

IMAGE = "busybox@sha256:" + "a" * 64
API_REPO = "127.0.0.1:5000/api"
API_IMAGE = f"{API_REPO}@sha256:" + "b" * 64

Make = Callable[..., Pipeline]  # make(name, on, pushes=())
Services = Callable[..., list[Pipeline]]  # services(status="passed")


@pytest.fixture
def make(tmp_path: Path) -> Make:
    """Load a pipeline `name` with this `on:` (flow YAML), pushing to `pushes` if any."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")

    def load(name: str, on: str, pushes: tuple[str, ...] = ()) -> Pipeline:
        jobs = f"  test: {{image: '{IMAGE}', steps: [x]}}\n"
        if pushes:
            jobs += f"  image: {{package: {{context: app, push: [{', '.join(pushes)}]}}}}\n"
        text = f"version: 1\nname: {name}\non: {textwrap.dedent(on)}\njobs:\n{jobs}"
        return load_pipeline_text(text, file=f"pipelines/{name}.yml", workspace=tmp_path)

    return load


def push(*changed: str) -> Event:
    return Event(kind=EventKind.PUSH, branch="main", commit="c0ffee", changed=changed)


@pytest.fixture
def services(make: Make) -> Services:
    """api and web build on their own paths; deploy follows both."""

    def three(status: str = "passed") -> list[Pipeline]:
        return [
            make("deploy", f"{{pipelines: {{names: [api, web], status: {status}}}}}"),
            make("api", "{push: {paths: ['api/**']}}", pushes=(API_REPO,)),
            make("web", "{push: {paths: ['web/**']}}"),
        ]

    return three


def test_upstreams_come_first_and_the_downstream_waits(services: Services) -> None:
    orchestration = compose(services(), push("api/app.py", "web/index.html"))
    assert [p.name for p in orchestration.pipelines] == ["api", "web", "deploy"]
    assert orchestration.starting == ("api", "web")
    deploy = orchestration.planned("deploy")
    assert (deploy.decision.runs, deploy.waits_for, deploy.starts_now) == (
        True,
        ("api", "web"),
        False,
    )


def test_an_upstream_not_triggered_skips_a_downstream_that_needs_it_passed(
    services: Services,
) -> None:
    deploy = compose(services(), push("api/app.py")).planned("deploy")
    assert not deploy.decision.runs
    assert str(deploy.decision) == (
        "status: passed needs every upstream to pass, and 'web' does not run: "
        "no changed path matches paths ['web/**']"
    )


def test_passed_or_skipped_waits_only_for_the_upstreams_that_run(services: Services) -> None:
    deploy = compose(services("passed-or-skipped"), push("api/app.py")).planned("deploy")
    assert (deploy.decision.runs, deploy.waits_for) == (True, ("api",))


def test_no_upstream_running_means_no_downstream_either(services: Services) -> None:
    orchestration = compose(services("passed-or-skipped"), push("README.md"))
    assert orchestration.starting == ()
    assert str(orchestration.planned("deploy").decision) == (
        "none of the upstream pipelines runs ('api' does not run: no changed path matches "
        "paths ['api/**']; 'web' does not run: no changed path matches paths ['web/**'])"
    )


def test_a_direct_trigger_starts_a_pipeline_at_once(make: Make) -> None:
    pipelines = [
        make("api", "push", pushes=(API_REPO,)),
        make("deploy", "{manual: , pipelines: {names: [api]}}"),
    ]
    orchestration = compose(pipelines, Event(kind=EventKind.MANUAL))
    assert orchestration.starting == ("deploy",)
    assert str(orchestration.planned("api").decision) == "on: has no manual trigger (it has push)"


def test_image_triggers_wait_for_every_pipeline_pushing_there(make: Make) -> None:
    pipelines = [
        make("deploy", f"{{image: {{repository: '{API_REPO}'}}}}"),
        make("api", "{push: {paths: ['api/**']}}", pushes=(API_REPO,)),
        make("api-arm", "{push: {paths: ['api/**', 'arm/**']}}", pushes=(API_REPO,)),
        make("smoke", "{pipelines: {names: [deploy]}}"),
    ]
    orchestration = compose(pipelines, push("arm/build.sh"))
    assert orchestration.planned("deploy").waits_for == ("api-arm",)
    assert orchestration.planned("smoke").waits_for == ("deploy",)
    nothing = compose(pipelines, push("README.md"))
    assert str(nothing.planned("deploy").decision) == (
        f"no pipeline pushing to {API_REPO} runs ('api' does not run: no changed path matches "
        "paths ['api/**']; 'api-arm' does not run: no changed path matches paths "
        "['api/**', 'arm/**'])"
    )
    assert str(nothing.planned("smoke").decision).startswith(
        "none of the upstream pipelines runs ('deploy' does not run: no pipeline pushing to"
    )


# ---------------------------------------------------------------- validation


def problems(pipelines: list[Pipeline]) -> list[str]:
    with pytest.raises(PipelineInvalid) as caught:
        compose(pipelines, push("x"))
    return [str(problem) for problem in caught.value.problems]


def test_a_cycle_is_refused_and_printed(make: Make) -> None:
    pipelines = [
        make("a", "{pipelines: {names: [c]}}"),
        make("b", "{pipelines: {names: [a]}}"),
        make("c", "{push: , pipelines: {names: [b]}}"),
    ]
    assert problems(pipelines) == [
        "pipelines/a.yml:3:17: on: pipelines wait for each other in a cycle: a -> c -> b -> a"
    ]
    assert problems([make("self", "{pipelines: {names: [self]}}")]) == [
        "pipelines/self.yml:3:17: on: pipelines wait for each other in a cycle: self -> self"
    ]


def test_an_image_cycle_is_found_through_package_jobs(make: Make) -> None:
    pipelines = [
        make("api", "{pipelines: {names: [deploy]}}", pushes=(API_REPO,)),
        make("deploy", f"{{image: {{repository: '{API_REPO}'}}}}"),
    ]
    assert problems(pipelines) == [
        "pipelines/api.yml:3:17: on: pipelines wait for each other in a cycle: api -> deploy -> api"
    ]


def test_unknown_upstreams_are_named_with_a_suggestion(make: Make) -> None:
    pipelines = [
        make("api", "push", pushes=(API_REPO,)),
        make(
            "deploy", "{pipelines: {names: [apii, web]}, image: {repository: '127.0.0.1:5000/app'}}"
        ),
    ]
    assert problems(pipelines) == [
        "pipelines/deploy.yml:3:17: on.pipelines.names: no pipeline is named 'apii' "
        "(did you mean 'api'?)",
        "pipelines/deploy.yml:3:17: on.pipelines.names: no pipeline is named 'web'",
        "pipelines/deploy.yml:3:46: on.image.repository: no package job of these pipelines "
        "pushes to '127.0.0.1:5000/app' (did you mean '127.0.0.1:5000/api'?)",
    ]


def test_pipeline_names_must_be_unique(make: Make) -> None:
    first, second = make("api", "push"), make("api", "manual")
    second = dataclasses.replace(second, path="pipelines/api2.yml")
    assert problems([first, second]) == [
        "pipelines/api2.yml:1:1: name: pipeline name 'api' is also pipelines/api.yml's"
    ]


# ---------------------------------------------------------------- release


def test_release_builds_the_pipeline_event(services: Services) -> None:
    event = push("api/app.py")
    deploy = compose(services("passed-or-skipped"), event).planned("deploy")
    finished = [Upstream(pipeline="api", status=PipelineStatus.PASSED, images=(API_IMAGE,))]
    released = release(deploy, event, finished)
    assert released.runs
    assert released.event is not None
    assert (released.event.kind, released.event.source) == (
        EventKind.PIPELINE,
        EventSource.PIPELINE,
    )
    assert (released.event.commit, released.event.branch) == ("c0ffee", "main")
    assert released.event.upstream == tuple(finished)
    assert upstream_variables(released.event) == {
        "DOCKSTEP_UPSTREAM_PIPELINES": "api",
        "DOCKSTEP_UPSTREAM_STATUS": "api=passed",
        "DOCKSTEP_UPSTREAM_IMAGES": API_IMAGE,
        "DOCKSTEP_UPSTREAM_API_IMAGE": API_IMAGE,
    }


@pytest.mark.parametrize(
    ("status", "web", "runs", "reason"),
    [
        ("passed", PipelineStatus.PASSED, True, ""),
        ("passed", PipelineStatus.FAILED, False, "upstream 'web' failed (status: passed)"),
        ("passed", PipelineStatus.SKIPPED, False, "upstream 'web' skipped (status: passed)"),
        ("passed-or-skipped", PipelineStatus.SKIPPED, True, ""),
        (
            "passed-or-skipped",
            PipelineStatus.CANCELLED,
            False,
            "upstream 'web' cancelled (status: passed-or-skipped)",
        ),
    ],
)
def test_release_reads_the_upstream_statuses(
    services: Services,
    status: str,
    web: PipelineStatus,
    runs: bool,
    reason: str,
) -> None:
    event = push("api/app.py", "web/a.html")
    deploy = compose(services(status), event).planned("deploy")
    finished = [
        Upstream(pipeline="api", status=PipelineStatus.PASSED),
        Upstream(pipeline="web", status=web),
    ]
    released = release(deploy, event, finished)
    assert (released.runs, released.reasons) == (runs, (reason,) if reason else ())


def test_an_image_release_passes_the_pushed_digest_on(make: Make) -> None:
    pipelines = [
        make("api", "push", pushes=(API_REPO, "127.0.0.1:5000/mirror")),
        make("deploy", f"{{image: {{repository: '{API_REPO}'}}}}"),
    ]
    event = push("api/app.py")
    deploy = compose(pipelines, event).planned("deploy")
    mirror = "127.0.0.1:5000/mirror@sha256:" + "c" * 64
    pushed = Upstream(pipeline="api", status=PipelineStatus.FAILED, images=(mirror, API_IMAGE))
    released = release(deploy, event, [pushed])
    assert released.event is not None
    assert released.event.image == API_IMAGE
    assert upstream_variables(released.event)["DOCKSTEP_UPSTREAM_IMAGE"] == API_IMAGE
    nothing = release(deploy, event, [Upstream(pipeline="api", status=PipelineStatus.PASSED)])
    assert (nothing.runs, nothing.reasons) == (
        False,
        (f"no upstream pipeline pushed to {API_REPO}",),
    )


def test_each_upstream_that_pushed_gets_its_own_image_variable() -> None:
    web = "127.0.0.1:5000/web@sha256:" + "d" * 64
    event = Event(
        kind=EventKind.PIPELINE,
        upstream=(
            Upstream(pipeline="api", status=PipelineStatus.PASSED, images=(API_IMAGE,)),
            Upstream(pipeline="web-ui.v2", status=PipelineStatus.PASSED, images=(web,)),
            Upstream(pipeline="docs", status=PipelineStatus.SKIPPED),
        ),
    )
    found = upstream_variables(event)
    assert found["DOCKSTEP_UPSTREAM_API_IMAGE"] == API_IMAGE
    assert found["DOCKSTEP_UPSTREAM_WEB_UI_V2_IMAGE"] == web
    assert found["DOCKSTEP_UPSTREAM_IMAGES"] == f"{API_IMAGE} {web}"
    assert "DOCKSTEP_UPSTREAM_DOCS_IMAGE" not in found


def test_other_events_have_no_upstream_variables() -> None:
    assert upstream_variables(push("a")) == {}


def result(status: Status, pushed: str = "") -> JobResult:
    images = tuple(
        PushedImage(repository=reference.partition("@")[0], digest=reference.partition("@")[2])
        for reference in pushed.split()
    )
    packaged = Packaged(image="sha256:1", tags=(), pushed=images) if pushed else None
    return JobResult(name="j", stage="s", status=status, packaged=packaged)


@pytest.mark.parametrize(
    ("results", "status"),
    [
        ([result(Status.PASSED), result(Status.SKIPPED)], PipelineStatus.PASSED),
        ([result(Status.PASSED), result(Status.ALLOWED_FAILURE)], PipelineStatus.PASSED),
        ([result(Status.FAILED), result(Status.SKIPPED)], PipelineStatus.FAILED),
        ([result(Status.TIMEOUT)], PipelineStatus.FAILED),
        ([result(Status.PASSED), result(Status.CANCELLED)], PipelineStatus.CANCELLED),
    ],
)
def test_upstream_from_job_results(results: list[JobResult], status: PipelineStatus) -> None:
    assert upstream("api", results).status is status


def test_upstream_images_are_every_pushed_reference() -> None:
    results = [result(Status.PASSED, f"{API_IMAGE} 127.0.0.1:5000/m@sha256:{'d' * 64}")]
    assert upstream("api", results).images == (API_IMAGE, f"127.0.0.1:5000/m@sha256:{'d' * 64}")
    assert upstream("api", [], skipped=True).status is PipelineStatus.SKIPPED
