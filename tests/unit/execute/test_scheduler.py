"""Scheduling behaviour over the fake engine: ordering, fail fast, keep going, cancel."""

from __future__ import annotations

import itertools
from pathlib import Path

from runner.model.results import Status
from tests.fake_engine import FakeEngine
from tests.unit.harness import run_pipeline

DIAMOND = """
stages: [build, test, deploy]
jobs:
  compile: {stage: build, steps: [compile]}
  unit: {stage: test, steps: [unit]}
  lint: {stage: test, steps: [lint]}
  ship: {stage: deploy, steps: [ship]}
"""


def fails_on(word: str) -> FakeEngine:
    return FakeEngine(script=lambda command: (1, b"boom\n") if command == word else (0, b"ok\n"))


def test_a_green_pipeline_runs_every_job_in_dependency_order(tmp_path: Path) -> None:
    engine = FakeEngine()
    outcome = run_pipeline(DIAMOND, tmp_path, engine)
    assert {r.status for r in outcome.results.values()} == {Status.PASSED}
    created = [subject for call, subject in engine.calls if call == "create"]
    assert created[0] == "dockstep-r1-compile"
    assert created[-1] == "dockstep-r1-ship"


def test_jobs_of_one_wave_overlap_in_time(tmp_path: Path) -> None:
    engine = FakeEngine(step_seconds=0.2)
    results = run_pipeline(DIAMOND, tmp_path, engine).results
    unit, lint = results["unit"], results["lint"]
    assert unit.started_at is not None and lint.finished_at is not None
    assert lint.started_at is not None and unit.finished_at is not None
    assert unit.started_at < lint.finished_at and lint.started_at < unit.finished_at


def test_one_worker_runs_one_job_at_a_time(tmp_path: Path) -> None:
    engine = FakeEngine(step_seconds=0.05)
    results = run_pipeline(DIAMOND, tmp_path, engine, workers=1).results
    spans = sorted((r.started_at or 0, r.finished_at or 0) for r in results.values())
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


def test_a_failure_skips_what_depends_on_it(tmp_path: Path) -> None:
    results = run_pipeline(DIAMOND, tmp_path, fails_on("compile")).results
    assert results["compile"].status is Status.FAILED
    assert results["compile"].exit_code == 1
    assert {results[n].status for n in ("unit", "lint", "ship")} == {Status.SKIPPED}
    assert results["unit"].reason == "compile failed"


PARALLEL = """
stages: [test, deploy]
jobs:
  quick_fail: {stage: test, needs: [], steps: [fail]}
  slow_same_stage: {stage: test, needs: [], steps: [slow]}
  slow_later_stage: {stage: deploy, needs: [], steps: [slow]}
  queued: {stage: deploy, needs: [], steps: [other]}
"""


def slow_engine() -> FakeEngine:
    return FakeEngine(
        script=lambda command: (1, b"") if command == "fail" else (0, b""),
        durations={"slow": 0.5, "fail": 0.05},
    )


def test_fail_fast_cancels_later_stages_and_lets_its_own_stage_finish(tmp_path: Path) -> None:
    engine = slow_engine()
    results = run_pipeline(PARALLEL, tmp_path, engine, workers=3).results
    assert results["quick_fail"].status is Status.FAILED
    assert results["slow_same_stage"].status is Status.PASSED
    assert results["slow_later_stage"].status is Status.CANCELLED
    assert results["queued"].status is Status.CANCELLED
    assert results["queued"].reason == "cancelled: quick_fail failed"


def test_keep_going_runs_everything_that_does_not_depend_on_the_failure(tmp_path: Path) -> None:
    results = run_pipeline(PARALLEL, tmp_path, slow_engine(), workers=3, keep_going=True).results
    assert results["quick_fail"].status is Status.FAILED
    assert {results[n].status for n in ("slow_same_stage", "slow_later_stage", "queued")} == {
        Status.PASSED
    }


def test_an_allowed_failure_blocks_nothing(tmp_path: Path) -> None:
    text = """
    jobs:
      flaky: {stage: build, allow_failure: true, steps: [flaky]}
      after: {stage: test, steps: [after]}
    """
    results = run_pipeline(text, tmp_path, fails_on("flaky")).results
    assert results["flaky"].status is Status.ALLOWED_FAILURE
    assert results["after"].status is Status.PASSED


def test_every_container_is_removed_whatever_the_outcome(tmp_path: Path) -> None:
    engine = fails_on("compile")
    run_pipeline(DIAMOND, tmp_path, engine)
    started = [s for call, s in engine.calls if call == "create"]
    removed = [s for call, s in engine.calls if call == "remove"]
    assert sorted(started) == sorted(removed)
