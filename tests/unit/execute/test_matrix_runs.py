"""Matrix cells as jobs of a run (fake engine): their variables, fail fast among siblings."""

from __future__ import annotations

from pathlib import Path

from runner.model.results import Status
from tests.fake_engine import FakeEngine
from tests.unit.harness import run_pipeline

MATRIX = """
stages: [test, deploy]
jobs:
  test:
    matrix: {{N: [1, 2, 3]}}
    {fail_fast}
    steps: ['cell $N']
  other:
    steps: [other]
  ship:
    stage: deploy
    needs: [test]
    steps: [ship]
"""


def test_each_cell_sees_its_values_and_needs_waits_for_every_cell(tmp_path: Path) -> None:
    engine = FakeEngine()
    results = run_pipeline(MATRIX.format(fail_fast=""), tmp_path, engine).results
    assert {r.status for r in results.values()} == {Status.PASSED}
    values = sorted(env["N"] for env in engine.exec_envs if "N" in env)
    specs = [s for s in engine.created.values() if s.name.startswith("dockstep-r1-test.")]
    seen = sorted(dict(s.env)["N"] for s in specs) + values
    assert sorted(seen) == ["1", "2", "3"]
    assert {s.name for s in specs} == {f"dockstep-r1-test.N-{n}" for n in (1, 2, 3)}
    ship = results["ship"]
    assert ship.started_at is not None
    assert all((results[f"test.N-{n}"].finished_at or 0) <= ship.started_at for n in (1, 2, 3))


def cells_engine() -> FakeEngine:
    """The cell whose container says N=1 fails at once; the others take a while."""
    engine = FakeEngine()
    original = engine._step

    def step(container: str, command: str) -> tuple[int, bytes]:
        if container.endswith("test.N-1"):
            return 1, b"boom\n"
        if container.startswith("dockstep-r1-test."):
            engine.durations[command] = 1.0
        return original(container, command)

    engine._step = step  # type: ignore[method-assign]
    return engine


def test_a_failing_cell_cancels_its_siblings(tmp_path: Path) -> None:
    results = run_pipeline(MATRIX.format(fail_fast=""), tmp_path, cells_engine(), workers=2).results
    assert results["test.N-1"].status is Status.FAILED
    assert {results[f"test.N-{n}"].status for n in (2, 3)} == {Status.CANCELLED}
    assert results["test.N-2"].reason == "cancelled: test.N-1 failed"
    assert results["ship"].status is Status.SKIPPED


def test_fail_fast_false_lets_the_siblings_finish(tmp_path: Path) -> None:
    text = MATRIX.format(fail_fast="fail_fast: false")
    results = run_pipeline(text, tmp_path, cells_engine(), workers=2).results
    assert results["test.N-1"].status is Status.FAILED
    assert {results[f"test.N-{n}"].status for n in (2, 3)} == {Status.PASSED}
    assert results["ship"].status is Status.SKIPPED
