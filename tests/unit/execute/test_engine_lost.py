"""An engine that stops answering mid-run: the run still ends, fails with exit 3, says so."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from runner import session
from runner.cancel import CancelToken
from runner.engine.api import Resource
from runner.errors import EXIT_INFRASTRUCTURE, EngineUnavailable
from runner.model.results import Status
from runner.output import Console
from tests.fake_engine import FakeEngine
from tests.unit.harness import prepared
from tests.unit.pipelines import IMAGE


@dataclass
class DyingEngine(FakeEngine):
    """Answers until the step named `dies` runs; from then on nothing answers."""

    gone: bool = False

    def exec(self, container: str, command: tuple[str, ...], **kwargs: object) -> int:
        if command[-1] == "dies":
            self.gone = True
        if self.gone:
            raise EngineUnavailable("no Docker engine answers at unix:///var/run/docker.sock")
        return super().exec(container, command, **kwargs)  # type: ignore[arg-type]

    def remove(self, container: str) -> None:
        if self.gone:
            raise EngineUnavailable("no Docker engine answers")
        super().remove(container)

    def labelled(self, label: str) -> list[Resource]:
        if self.gone:
            raise EngineUnavailable("no Docker engine answers")
        return super().labelled(label)


def test_a_lost_engine_fails_the_run_with_exit_3_and_a_report(tmp_path: Path) -> None:
    engine = DyingEngine(present={IMAGE: "sha256:" + "1" * 64})
    text = "jobs:\n  a: {steps: [first, dies]}\n  b: {needs: [a], steps: [never]}\n"
    stream = io.StringIO()
    ready = prepared(text, tmp_path)
    result = session.run(
        ready, engine=engine, console=Console(stream, colour=False, mask=str), token=CancelToken()
    )
    jobs = {r.name: r for r in result.jobs}
    assert result.exit_code == EXIT_INFRASTRUCTURE
    assert jobs["a"].status is Status.FAILED
    assert (jobs["a"].reason or "").startswith("the Docker engine was lost mid-run")
    assert jobs["b"].status is Status.SKIPPED
    assert "the Docker engine was lost mid-run" in stream.getvalue()
    report = json.loads((ready.run_dir / "report.json").read_text())
    assert (report["status"], report["exit_code"]) == ("failed", EXIT_INFRASTRUCTURE)
