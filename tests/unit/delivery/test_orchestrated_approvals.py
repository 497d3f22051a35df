"""`dockstep approve RUN pipeline/job` with an orchestrated run's id: the job's pipeline has
a session (and approvals folder) of its own, which the run's `pipelines.json` names."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from runner.delivery import approvals
from runner.delivery.approvals import ApprovalMissing, Gate, approval_file, approve, within
from runner.errors import UsageError

RUN = "20261125-151015-048fdf"
SESSION = f"{RUN}-release"


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """An orchestrated run whose pipeline `release` gates its job `ship`."""
    root = tmp_path / "runs"
    approvals.record_pipelines(root / RUN, {"release": SESSION, "api": f"{RUN}-api"})
    approvals.record_gated(root / SESSION, ["ship"])
    return root


def test_pipeline_slash_job_names_the_pipelines_own_session(runs: Path) -> None:
    assert within(runs, RUN, "release/ship") == (SESSION, "ship")
    path = approve(runs, RUN, "release/ship")
    assert path == approval_file(runs / SESSION, "ship")
    assert path.is_file()


def test_a_single_run_keeps_its_run_and_job(runs: Path) -> None:
    approvals.record_gated(runs / "single", ["ship"])
    assert within(runs, "single", "ship") == ("single", "ship")
    assert approve(runs, "single", "ship") == approval_file(runs / "single", "ship")
    assert approve(runs, SESSION, "ship").is_file()  # the session's own id still works


def test_an_orchestrated_run_needs_pipeline_slash_job(runs: Path) -> None:
    with pytest.raises(UsageError, match=r"several pipelines: name the job as pipeline/job$"):
        approve(runs, RUN, "ship")


def test_an_unknown_pipeline_lists_the_runs_pipelines(runs: Path) -> None:
    with pytest.raises(UsageError, match=r"no pipeline 'relase' \(pipelines: api, release\)$"):
        approve(runs, RUN, "relase/ship")


def test_a_job_that_does_not_wait_is_refused_in_its_pipeline(runs: Path) -> None:
    with pytest.raises(UsageError, match=r"job 'lint' of run .*-release does not wait"):
        approve(runs, RUN, "release/lint")


def test_the_gate_of_an_orchestrated_pipeline_says_what_to_type(runs: Path) -> None:
    gate = Gate(runs / SESSION, RUN, interactive=False, pipeline="release")
    with pytest.raises(ApprovalMissing) as caught:
        gate.wait_manual("ship", lambda _line: None)
    assert "pass --approve release/ship" in str(caught.value)
    assert f"`dockstep approve {RUN} release/ship`" in str(caught.value)


def test_an_orchestrated_approval_releases_the_waiting_gate(
    runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(approvals, "POLL", 0.01)
    said: list[str] = []
    gate = Gate(runs / SESSION, RUN, interactive=True, pipeline="release")
    waiting = threading.Thread(target=gate.wait_manual, args=("ship", said.append))
    waiting.start()
    approve(runs, RUN, "release/ship")
    waiting.join(timeout=5)
    assert not waiting.is_alive()
    assert said[-1] == "start this manual job approved"
