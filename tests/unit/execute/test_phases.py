"""What a job reports to the status line as it goes, over the fake engine."""

from __future__ import annotations

from pathlib import Path

from runner.progress import Board, Phase, StatusLine
from tests.fake_engine import FakeEngine
from tests.unit.harness import run_pipeline

TEXT = """
jobs:
  test:
    install: {keys: [requirements.txt], run: install-deps}
    steps: [lint, unit]
"""


class Recording(Board):
    """A board that remembers every phase it was told, in order."""

    def __init__(self) -> None:
        super().__init__(clock=lambda: 0.0)
        self.told: list[tuple[str, str]] = []

    def set(self, job: str, phase: Phase) -> None:
        self.told.append((job, phase.label()))
        super().set(job, phase)


def phases_of(tmp_path: Path, engine: FakeEngine) -> tuple[list[str], Recording, str]:
    board = Recording()
    status = StatusLine(board, columns=lambda: 200, colour=False)
    output = run_pipeline(TEXT, tmp_path, engine, status=status).output
    return [label for job, label in board.told if job == "test"], board, output


def test_a_steps_job_goes_through_image_install_and_each_step(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("click==8.1.7\n")
    engine = FakeEngine()
    cold, board, output = phases_of(tmp_path, engine)
    assert cold == [
        "starting",
        "image",
        "install cache lookup",
        "install waiting for the same install",
        "install cache miss, installing",
        "step 1/2 'lint'",
        "step 2/2 'unit'",
    ]
    assert board.snapshot() == ()  # nothing runs once the run is over
    assert "running: test" in output
    summary = output[output.index("\njob ") :]
    assert "\x1b" not in summary.split("\n", 1)[1]  # cleared before the table, never within
    warm, _board, _output = phases_of(tmp_path, engine)
    assert warm[2:4] == ["install cache lookup", "install cache hit"]
