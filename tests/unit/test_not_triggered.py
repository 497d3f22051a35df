"""A single pipeline the event does not trigger: nothing runs, and `--report` says why."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

from runner import session
from runner.cancel import CancelToken
from runner.model.events import Event, EventKind
from runner.output import Console
from runner.plan.triggers import Decision
from tests.fake_engine import FakeEngine
from tests.unit.harness import prepared

PIPELINE = "jobs:\n  test: {steps: [echo]}\n"
WHY = "no changed path matches paths ['web/**']"


def test_the_report_of_a_pipeline_not_triggered_gives_the_reasons(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    event = Event(kind=EventKind.PULL_REQUEST, base="main")
    request = session.RunRequest(pipeline=tmp_path / "p.yml", event=event, report_file=report)
    ready = prepared(PIPELINE, tmp_path, request=request)
    resolved = dataclasses.replace(ready.resolved, decision=Decision(runs=False, reasons=(WHY,)))
    engine = FakeEngine()
    result = session.run(
        dataclasses.replace(ready, resolved=resolved),
        engine=engine,
        console=Console(io.StringIO(), colour=False, mask=str),
        token=CancelToken(),
    )
    assert result.exit_code == 0
    assert result.not_triggered == (WHY,)
    assert not engine.calls
    written = json.loads(report.read_text())
    assert written["status"] == "not-triggered"
    assert written["exit_code"] == 0
    assert written["reasons"] == [WHY]
    assert written["jobs"] == []
    assert written["event"]["kind"] == "pull_request"
    assert written["run_id"] == result.run_id
