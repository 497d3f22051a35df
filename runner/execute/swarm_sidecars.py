"""A job's `services:` on a swarm: Swarm services on an overlay network of the job's own,
ready before the job's task starts, their output kept for when it fails, removed with it.

The network is an attachable overlay labelled with the run (a crash is swept with the
run): the services join it under their aliases and the job's task joins it too, on
whichever nodes they land. A service's image goes through the run's registry as the
workspace's does. Readiness is the swarm's own gate: the `ready:` check becomes the task's
HEALTHCHECK, which runs inside the service as on the local backend, and the manager keeps
the task `starting` until it passes (a manager has no exec to run checks with).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from runner.engine.api import Images
from runner.engine.labels import JOB, JOB_SERVICE
from runner.engine.swarm.api import Attachment, HealthCheck, ServiceSpec, Swarm, Task
from runner.errors import DockstepError
from runner.execute import environment, readiness
from runner.execute.images import ImageResolver
from runner.execute.kinds import JobContext
from runner.execute.services import LOG_LINES, ServiceFailed
from runner.execute.settings import RunSettings
from runner.execute.swarm_files import swarm_name
from runner.execute.swarm_images import PublishedImages
from runner.model.pipeline import Job, Steps, pairs
from runner.model.services import Readiness, ReadyKind, Service

POLL = 0.2  # seconds between looks at a service's task while it gets ready
STARTED = frozenset({"starting", "running"})  # its container exists: the check runs
REPOSITORY = "services"


@dataclass
class Sidecar:
    service: Service
    id: str  # the Swarm service's


@dataclass
class Sidecars:
    """What `SwarmSidecars.around` yields: the network the job's task joins (None when the
    job has no services), and whether the job failed (so their output is shown)."""

    network: str | None
    started: list[Sidecar] = field(default_factory=list)
    failed: bool = False


class SwarmSidecars:
    def __init__(
        self,
        swarm: Swarm,
        engine: Images,
        *,
        settings: RunSettings,
        images: ImageResolver,
        registry: str,
    ) -> None:
        self._swarm = swarm
        self._engine = engine
        self._settings = settings
        self._images = images
        self._published = PublishedImages(engine, f"{registry}/{REPOSITORY}")

    @contextmanager
    def around(self, job: Job, action: Steps, context: JobContext) -> Iterator[Sidecars]:
        if not action.services:
            yield Sidecars(network=None)
            return
        labels = pairs({**dict(self._settings.labels), JOB: job.name})
        name = swarm_name(self._settings.run_id, job.name, "net")
        run = Sidecars(network=self._swarm.create_network(name, labels))
        try:
            for service in action.services:
                run.started.append(self._start(job, action, service, run, context))
            for started in run.started:
                self._ready(started, context)
            yield run
        except DockstepError:
            run.failed = True
            raise
        finally:
            self._stop(run, context)

    def _start(
        self, job: Job, action: Steps, service: Service, run: Sidecars, context: JobContext
    ) -> Sidecar:
        probe = Steps(image=service.image, steps=(), pull=action.pull)
        resolved = self._images.resolve(job, probe, context.log.write)
        health = _health(service.ready)
        if service.ready.kind is ReadyKind.HEALTHCHECK and not self._engine.has_healthcheck(
            resolved.id
        ):
            raise ServiceFailed(
                f"service {service.alias!r}: the image has no HEALTHCHECK "
                "(use ready: {tcp|http|command: ...})"
            )
        assert run.network is not None  # made before any service
        spec = ServiceSpec(
            name=swarm_name(self._settings.run_id, job.name, service.alias),
            image=self._published.pinned(resolved.id),
            args=("sh", "-c", service.command) if service.command else (),
            labels=pairs(
                {**dict(self._settings.labels), JOB: job.name, JOB_SERVICE: service.alias}
            ),
            env=environment.service_env(self._settings, job, service),
            networks=(_attached(run.network, service.alias),),
            health=health,
        )
        made = Sidecar(service=service, id=self._swarm.create_service(spec))
        context.log.line(f"service {service.alias}: started ({service.image})")
        return made

    def _ready(self, sidecar: Sidecar, context: JobContext) -> None:
        alias, ready = sidecar.service.alias, sidecar.service.ready
        problem = wait(self._swarm, sidecar.id, ready, context.slot.stopped.wait)
        if problem is not None:
            raise ServiceFailed(f"service {alias!r} is not ready: {problem}")
        context.log.line(f"service {alias}: ready ({readiness.describe(ready)})")

    def _stop(self, run: Sidecars, context: JobContext) -> None:
        """Show the services' output if the job failed, then remove them and the network."""
        for started in run.started:
            if run.failed:
                self._show(started, context)
            self._swarm.remove_service(started.id)
        if run.network is not None:
            self._swarm.remove_network(run.network)

    def _show(self, sidecar: Sidecar, context: JobContext) -> None:
        lines = self._swarm.tail(sidecar.id, LOG_LINES)
        alias = sidecar.service.alias
        context.log.line(f"service {alias}: last {len(lines)} lines of its output")
        for line in lines:
            context.log.line(f"  {line}")


def _attached(network: str, alias: str) -> Attachment:
    return Attachment(network=network, aliases=(alias,))


def _health(ready: Readiness) -> HealthCheck | None:
    """The task's HEALTHCHECK for a `ready:` check; None keeps the image's own."""
    if ready.kind is ReadyKind.HEALTHCHECK:
        return None
    if ready.kind is ReadyKind.RUNNING:  # started is ready, whatever the image checks
        return HealthCheck(command=(), interval=ready.interval)
    return HealthCheck(command=readiness.probe(ready), interval=ready.interval)


def wait(
    swarm: Swarm,
    service: str,
    ready: Readiness,
    pause: Callable[[float], bool],
    clock: Callable[[], float] = time.monotonic,
) -> str | None:
    """None once the service's task is running (its check passed); else why not.

    The readiness timeout counts from when the task's container started, as on the local
    backend: pulling the image on its node is not the service's start-up.
    """
    deadline: float | None = None
    task: Task | None = None
    while True:
        task = swarm.task(service)
        if task is not None and task.state == "running":
            return None
        if task is not None and task.ended:
            code = "" if task.exit_code is None else f", exit code {task.exit_code}"
            return f"its task ended ({task.state}: {task.error or 'no reason given'}{code})"
        if task is not None and task.state in STARTED and deadline is None:
            deadline = clock() + ready.timeout
        if deadline is not None and clock() >= deadline:
            return (
                f"{readiness.describe(ready)} still failing after {ready.timeout:g}s "
                "(checked inside the service; its output is below when the job fails)"
            )
        if pause(POLL):
            state = task.state if task else "not scheduled yet"
            return f"the job was stopped while waiting (its task: {state})"
