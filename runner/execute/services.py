"""A job's service containers: started on the job's own network, ready before the steps,
their output kept for when the job fails, and removed with the job whatever happens.

Each job with services gets a network of its own (labelled with the run, so a crash is
cleaned up with the run): two jobs of one run, both with a `db`, never share a host name.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from runner.engine.api import ContainerEngine, ContainerSpec
from runner.engine.labels import JOB, JOB_SERVICE
from runner.errors import DockstepError, EngineError
from runner.execute import containers, environment, readiness
from runner.execute.images import ImageResolver
from runner.execute.kinds import JobContext
from runner.execute.settings import RunSettings
from runner.model.pipeline import Job, Steps, pairs
from runner.model.services import Service

LOG_LINES = 40  # what a failed job shows of each service's output


class ServiceFailed(DockstepError):
    pass


@dataclass
class Running:
    """One started service: its container and the tail of its output."""

    service: Service
    container: str
    tail: deque[str]


def network_name(settings: RunSettings, job: Job) -> str:
    return f"{containers.container_name(settings.run_id, job.name)}-net"


class Services:
    def __init__(
        self, engine: ContainerEngine, settings: RunSettings, images: ImageResolver
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._images = images

    @contextmanager
    def around(self, job: Job, action: Steps, context: JobContext) -> Iterator[ServiceRun]:
        """The job's network (the run's when it has no services) with its services ready."""
        if not action.services:
            yield ServiceRun(self._settings.network, [])
            return
        network = network_name(self._settings, job)
        labels = pairs({**dict(self._settings.labels), JOB: job.name})
        self._engine.create_network(network, labels)
        run = ServiceRun(network, [])
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
            self._stop(run, context)

    def _start(
        self, job: Job, action: Steps, service: Service, network: str, context: JobContext
    ) -> Running:
        probe = Steps(image=service.image, steps=(), pull=action.pull)
        image = self._images.resolve(job, probe, context.log.write)
        spec = ContainerSpec(
            image=image.id,
            name=f"{containers.container_name(self._settings.run_id, job.name)}-{service.alias}",
            command=("sh", "-c", service.command) if service.command else (),
            labels=pairs(
                {**dict(self._settings.labels), JOB: job.name, JOB_SERVICE: service.alias}
            ),
            network=network,
            aliases=(service.alias,),
            workdir="",
            env=environment.service_env(self._settings, job, service),
        )
        container = self._engine.create(spec)
        tail: deque[str] = deque(maxlen=LOG_LINES)
        _follow(self._engine.attach(container), tail)
        self._engine.start(container)
        context.log.line(f"service {service.alias}: started ({service.image})")
        return Running(service=service, container=container, tail=tail)

    def _ready(self, running: Running, context: JobContext) -> None:
        alias, ready = running.service.alias, running.service.ready
        problem = readiness.wait(self._engine, running.container, ready, context.slot.stopped)
        if problem is not None:
            raise ServiceFailed(f"service {alias!r} is not ready: {problem}")
        context.log.line(f"service {alias}: ready ({readiness.describe(ready)})")

    def _stop(self, run: ServiceRun, context: JobContext) -> None:
        """Show the services' output if the job failed, then remove them and the network."""
        if run.failed:
            for started in run.started:
                _show(started, context)
        context.slot.discard()  # the job's container leaves the network first
        for started in run.started:
            self._engine.remove(started.container)
        try:
            self._engine.remove_network(run.network)
        except EngineError as error:  # the run's own cleanup tries again
            context.log.line(f"warning: network {run.network} stays until the run ends: {error}")


@dataclass
class ServiceRun:
    """What `Services.around` yields: the network for the job's container, and whether the
    job failed (its kind runner says so, so the services' output is shown)."""

    network: str
    started: list[Running]
    failed: bool = False


def _follow(stream: Iterator[bytes], tail: deque[str]) -> None:
    """Keep the last lines of a container's output, on a thread, until the stream ends."""

    def read() -> None:
        pending = b""
        for chunk in stream:
            *lines, pending = (pending + chunk).split(b"\n")
            tail.extend(line.decode(errors="replace") for line in lines)
        if pending:
            tail.append(pending.decode(errors="replace"))

    threading.Thread(target=read, name="service-log", daemon=True).start()


def _show(running: Running, context: JobContext) -> None:
    lines = list(running.tail)
    context.log.line(f"service {running.service.alias}: last {len(lines)} lines of its output")
    for line in lines:
        context.log.line(f"  {line}")
