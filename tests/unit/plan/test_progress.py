"""An orchestrated run's bookkeeping: what starts, what is released, what is skipped and why."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runner.format.load import load_pipeline_text
from runner.model.events import Event, EventKind, PipelineStatus
from runner.model.pipeline import Pipeline
from runner.model.results import JobResult, Packaged, PushedImage, Status
from runner.plan.compose import compose
from runner.plan.progress import Progress

IMAGE = "busybox@sha256:" + "a" * 64
API_REPO = "127.0.0.1:5000/api"


def load(tmp_path: Path, name: str, on: str, *, pushes: bool = False) -> Pipeline:
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    jobs = f"  test: {{image: '{IMAGE}', steps: [x]}}\n"
    if pushes:
        jobs += f"  image: {{package: {{context: app, push: ['{API_REPO}']}}}}\n"
    text = f"version: 1\nname: {name}\non: {textwrap.dedent(on)}\njobs:\n{jobs}"
    return load_pipeline_text(text, file=f"pipelines/{name}.yml", workspace=tmp_path)


def chain(tmp_path: Path) -> list[Pipeline]:
    return [
        load(tmp_path, "api", "push", pushes=True),
        load(tmp_path, "web", "push"),
        load(tmp_path, "it", "{pipelines: {names: [api, web]}}"),
        load(tmp_path, "deploy", f"{{image: {{repository: '{API_REPO}'}}}}"),
        load(tmp_path, "smoke", "{pipelines: {names: [it]}}"),
    ]


PUSH = Event(kind=EventKind.PUSH, branch="main", commit="c0ffee")
PASSED = [JobResult(name="test", stage="test", status=Status.PASSED)]
FAILED = [JobResult(name="test", stage="test", status=Status.FAILED)]
PUSHED = PushedImage(repository=API_REPO, digest="sha256:" + "b" * 64)


def test_upstreams_start_and_downstreams_wait_until_they_finished(tmp_path: Path) -> None:
    progress = Progress(compose(chain(tmp_path), PUSH))
    assert [s.name for s in progress.start()] == ["api", "web"]
    packaged = JobResult(
        name="image",
        stage="package",
        status=Status.PASSED,
        packaged=Packaged(image="sha256:1", tags=(), pushed=(PUSHED,)),
    )
    progress.finish("api", [*PASSED, packaged])
    (deploy,) = progress.released()
    assert (deploy.name, deploy.event.image) == ("deploy", PUSHED.reference)
    progress.finish("web", PASSED)
    (it,) = progress.released()
    assert it.event.kind is EventKind.PIPELINE
    assert [up.pipeline for up in it.event.upstream] == ["api", "web"]


def test_a_failed_upstream_skips_the_whole_chain_below_it(tmp_path: Path) -> None:
    progress = Progress(compose(chain(tmp_path), PUSH))
    progress.start()
    progress.finish("api", FAILED)
    progress.finish("web", PASSED)
    assert progress.released() == []
    ended = {e.name: e for e in progress.outcomes()}
    assert ended["it"].status is PipelineStatus.SKIPPED
    assert ended["it"].reasons == ("upstream 'api' failed (status: passed)",)
    assert ended["smoke"].reasons == ("upstream 'it' skipped (status: passed)",)
    assert ended["deploy"].reasons == (f"no upstream pipeline pushed to {API_REPO}",)
    assert ended["web"].status is PipelineStatus.PASSED


def test_pipelines_not_selected_by_job_count_as_skipped(tmp_path: Path) -> None:
    progress = Progress(compose(chain(tmp_path), PUSH), selected={"web"})
    assert [s.name for s in progress.start()] == ["web"]
    assert progress.ended["api"].reasons == ("not selected by --job",)


def test_an_interrupted_run_cancels_what_still_waits(tmp_path: Path) -> None:
    progress = Progress(compose(chain(tmp_path), PUSH))
    progress.start()
    progress.finish("api", PASSED, interrupted=True)
    progress.cancel_waiting("interrupted")
    ended = {e.name: e for e in progress.outcomes()}
    assert ended["api"].status is PipelineStatus.CANCELLED
    assert ended["it"].status is PipelineStatus.CANCELLED
    assert progress.released() == []
