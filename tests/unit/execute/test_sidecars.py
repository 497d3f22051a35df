"""The life of a job's services, whatever runs them: what is started is stopped, on every
path out, and the job's own failure is the one reported."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from runner.errors import EngineError
from runner.execute.kinds import JobContext
from runner.execute.sidecars import ServiceFailed, ServiceRun, Sidecars
from runner.model.pipeline import ImageRef, Job, Steps
from runner.model.services import Service


@dataclass
class Started:
    service: Service


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)


class Recorded(Sidecars[Started]):
    """Sidecars whose steps are recorded; `failing` names the steps that raise."""

    def __init__(self, *failing: str) -> None:
        self.failing = set(failing)
        self.calls: list[str] = []

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if name in self.failing:
            error = ServiceFailed if name.startswith("wait") else EngineError
            raise error(f"{name} went wrong")

    def _network(self, job: Job) -> str:
        self._step("network")
        return "net"

    def _start(
        self, job: Job, action: Steps, service: Service, network: str, context: JobContext
    ) -> Started:
        self._step(f"start {service.alias}")
        return Started(service)

    def _wait(self, started: Started, context: JobContext) -> str | None:
        self._step(f"wait {started.service.alias}")
        return None

    def _output(self, started: Started) -> list[str]:
        self._step(f"output {started.service.alias}")
        return ["a line"]

    def _stop(self, run: ServiceRun[Started], context: JobContext) -> None:
        self.calls.append(f"stop {[s.service.alias for s in run.started]}")


IMAGE = ImageRef(reference="i@sha256:" + "a" * 64)
JOB = Job(name="test", stage="test", action=Steps(image=IMAGE, steps=()))
ACTION = Steps(
    image=IMAGE,
    steps=(),
    services=(Service(alias="db", image=IMAGE), Service(alias="cache", image=IMAGE)),
)


def context(log: Log) -> JobContext:
    return JobContext(log=log, slot=None, inputs={})  # type: ignore[arg-type]


def test_a_service_that_fails_to_start_stops_those_started_before_it() -> None:
    sidecars, log = Recorded("start cache"), Log()
    with pytest.raises(EngineError), sidecars.around(JOB, ACTION, context(log)):
        pass
    assert sidecars.calls == ["network", "start db", "start cache", "output db", "stop ['db']"]


def test_output_that_cannot_be_read_neither_hides_the_failure_nor_skips_the_stop() -> None:
    sidecars, log = Recorded("wait db", "output db"), Log()
    with (
        pytest.raises(ServiceFailed, match="wait db went wrong"),
        sidecars.around(JOB, ACTION, context(log)),
    ):
        pass
    assert sidecars.calls[-1] == "stop ['db', 'cache']"
    assert "service db: its output could not be read: output db went wrong" in log.lines
    assert "service cache: last 1 lines of its output" in log.lines


def test_a_job_without_services_gets_the_backends_default_network() -> None:
    sidecars = Recorded()
    with sidecars.around(JOB, Steps(image=IMAGE, steps=()), context(Log())) as run:
        assert run.network is None
    assert sidecars.calls == []
