"""A `dockstep run`'s history, opened and started on a thread: recorded in order, and a
failure to record is raised on the run's thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import paths, session
from runner.commands.history import CliHistory
from runner.service.history import History, history_path
from runner.service.records import RunStatus
from tests.unit.harness import RUN_ID, prepared

TEXT = "jobs:\n  a: {steps: ['true']}\n"


def _result(tmp_path: Path) -> session.RunResult:
    return session.RunResult(
        run_id=RUN_ID, pipeline="pipelines/ci.yml", jobs=(), interrupted=False, run_dir=tmp_path
    )


def test_the_run_is_recorded_started_then_finished(tmp_path: Path) -> None:
    environ = {paths.STATE_ENV: str(tmp_path / "state")}
    recorder = CliHistory(environ, prepared(TEXT, tmp_path), "cli someone")
    recorder.finish(_result(tmp_path))
    with History(history_path(tmp_path / "state")) as history:
        (run,) = history.list_runs()
    assert run.requested_by == "cli someone"
    assert run.status is RunStatus.PASSED
    assert (tmp_path / "logs" / "plan.json").is_file()


def test_a_run_that_raised_is_recorded_as_failed_not_left_running(tmp_path: Path) -> None:
    environ = {paths.STATE_ENV: str(tmp_path / "state")}
    CliHistory(environ, prepared(TEXT, tmp_path), "cli someone").finish(None)
    with History(history_path(tmp_path / "state")) as history:
        (run,) = history.list_runs()
    assert run.status is RunStatus.FAILED


def test_a_failure_to_record_the_start_is_raised_by_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> int:
        raise RuntimeError("the history broke")

    monkeypatch.setattr("runner.service.recording.start_cli_run", broken)
    environ = {paths.STATE_ENV: str(tmp_path / "state")}
    recorder = CliHistory(environ, prepared(TEXT, tmp_path), "cli someone")
    with pytest.raises(RuntimeError, match="the history broke"):
        recorder.finish(_result(tmp_path))
