"""`RunRequest.reuse`: an earlier run's results stand in for those jobs, the rest run."""

from __future__ import annotations

from pathlib import Path

from runner.model.results import JobResult, Packaged, PushedImage, Status
from tests.fake_engine import FakeEngine
from tests.unit.harness import run_pipeline

PIPELINE = """
jobs:
  build:
    steps:
      - run: make build
  test:
    needs: [build]
    steps:
      - run: make test
"""


def test_reused_jobs_do_not_run_and_their_results_reach_the_others(tmp_path: Path) -> None:
    engine = FakeEngine()
    pushed = PushedImage(repository="127.0.0.1:5000/app", digest="sha256:" + "a" * 64)
    kept = JobResult(
        name="build",
        stage="test",
        status=Status.PASSED,
        reason="reused from run 7",
        packaged=Packaged(image="x", tags=(), pushed=(pushed,)),
    )
    outcome = run_pipeline(PIPELINE, tmp_path, engine, reuse=(kept,))
    assert outcome.results["build"] == kept
    assert outcome.results["test"].status is Status.PASSED
    assert list(engine.created) == ["dockstep-r1-test"]  # no container for build


def test_without_reuse_every_job_runs(tmp_path: Path) -> None:
    engine = FakeEngine()
    outcome = run_pipeline(PIPELINE, tmp_path, engine)
    assert outcome.results["build"].reason is None
    assert outcome.results["build"].status is Status.PASSED
    assert list(engine.created) == ["dockstep-r1-build", "dockstep-r1-test"]
