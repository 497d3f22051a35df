"""A job's service containers on this engine: started on the job's own network, ready
before the steps, their output kept for when the job fails, and removed with the job
whatever happens (the life itself is `sidecars.Sidecars`).

Each job with services gets a network of its own (labelled with the run, so a crash is
cleaned up with the run): two jobs of one run, both with a `db`, never share a host name.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from runner.engine.api import ContainerEngine, ContainerSpec
from runner.engine.labels import JOB, JOB_SERVICE
from runner.errors import EngineError
from runner.execute import containers, environment, readiness
from runner.execute.images import ImageResolver
from runner.execute.kinds import JobContext
from runner.execute.settings import RunSettings
from runner.execute.sidecars import LOG_LINES, ServiceRun, Sidecars
from runner.model.pipeline import Job, Steps, pairs
from runner.model.services import Service


@dataclass
class Running:
    """One started service: its container and the tail of its output."""

    service: Service
    container: str
    tail: deque[str]


def network_name(settings: RunSettings, job: Job) -> str:
    return f"{containers.container_name(settings.run_id, job.name)}-net"


class Services(Sidecars[Running]):
    def __init__(
        self, engine: ContainerEngine, settings: RunSettings, images: ImageResolver
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._images = images

    def _network(self, job: Job) -> str:
        network = network_name(self._settings, job)
        labels = pairs({**dict(self._settings.labels), JOB: job.name})
        self._engine.create_network(network, labels)
        return network

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

    def _wait(self, started: Running, context: JobContext) -> str | None:
        ready = started.service.ready
        return readiness.wait(self._engine, started.container, ready, context.slot.stopped)

    def _output(self, started: Running) -> list[str]:
        return list(started.tail)

    def _stop(self, run: ServiceRun[Running], context: JobContext) -> None:
        """Remove the services and the network (the job's container leaves it first)."""
        context.slot.discard()
        for started in run.started:
            self._engine.remove(started.container)
        if run.network is None:
            return
        try:
            self._engine.remove_network(run.network)
        except EngineError as error:  # the run's own cleanup tries again
            context.log.line(f"warning: network {run.network} stays until the run ends: {error}")


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
