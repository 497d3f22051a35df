"""The life of a job's `services:`, whatever runs them: a network of the job's own, each
service started on it, all ready before the steps, their output shown when the job fails,
and all removed with the job whatever happens. `services.py` runs them as containers on
this engine, `swarm_sidecars.py` as Swarm services.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from runner.errors import DockstepError
from runner.execute import readiness
from runner.execute.kinds import JobContext
from runner.model.pipeline import Job, Steps
from runner.model.services import Service

LOG_LINES = 40  # what a failed job shows of each service's output


class ServiceFailed(DockstepError):
    pass


class Started(Protocol):
    @property
    def service(self) -> Service: ...


S = TypeVar("S", bound=Started)


@dataclass
class ServiceRun(Generic[S]):
    """What `around` yields: the network for the job (None: the backend's default), and
    whether the job failed (its kind runner says so, so the services' output is shown).
    `beside`: what of the job's own goes with the services, at once (its swarm service)."""

    network: str | None
    started: list[S] = field(default_factory=list)
    failed: bool = False
    beside: list[str] = field(default_factory=list)  # the job's own, removed with them


class Sidecars(ABC, Generic[S]):
    @contextmanager
    def around(self, job: Job, action: Steps, context: JobContext) -> Iterator[ServiceRun[S]]:
        if not action.services:
            yield ServiceRun(network=None)
            return
        network = self._network(job)
        run: ServiceRun[S] = ServiceRun(network=network)
        try:
            for service in action.services:
                run.started.append(self._start(job, action, service, network, context))
            for started in run.started:
                self._ready(started, context)
            yield run
        except DockstepError:
            run.failed = True
            raise
        finally:
            try:
                if run.failed:
                    for started in run.started:
                        self._show(started, context)
            finally:
                self._stop(run, context)

    def _show(self, started: S, context: JobContext) -> None:
        alias = started.service.alias
        try:
            lines = self._output(started)
        except DockstepError as error:  # the job's own failure is what counts
            context.log.line(f"service {alias}: its output could not be read: {error}")
            return
        context.log.line(f"service {alias}: last {len(lines)} lines of its output")
        for line in lines:
            context.log.line(f"  {line}")

    def _ready(self, started: S, context: JobContext) -> None:
        alias, ready = started.service.alias, started.service.ready
        problem = self._wait(started, context)
        if problem is not None:
            raise ServiceFailed(f"service {alias!r} is not ready: {problem}")
        context.log.line(f"service {alias}: ready ({readiness.describe(ready)})")

    @abstractmethod
    def _network(self, job: Job) -> str:
        """Make the job's network; its name or id."""

    @abstractmethod
    def _start(
        self, job: Job, action: Steps, service: Service, network: str, context: JobContext
    ) -> S: ...

    @abstractmethod
    def _wait(self, started: S, context: JobContext) -> str | None:
        """None once the service is ready; else why it is not."""

    @abstractmethod
    def _output(self, started: S) -> list[str]:
        """The service's last LOG_LINES lines."""

    @abstractmethod
    def _stop(self, run: ServiceRun[S], context: JobContext) -> None:
        """Remove the services, then the network."""
