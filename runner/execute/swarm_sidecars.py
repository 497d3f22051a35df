"""A job's `services:` on a swarm: Swarm services on an overlay network of the job's own,
ready before the job's task starts, their output shown when it fails, removed with it.

The network is an attachable overlay labelled with the run (a crash is swept with the
run): the services join it under their aliases and the job's task joins it too, on
whichever nodes they land. A service's image goes through the run's registry as the
workspace's does. Readiness is the swarm's own gate: the `ready:` check becomes the task's
HEALTHCHECK, which runs inside the service as on the local backend, and the manager keeps
the task `starting` until it passes (a manager has no exec to run checks with).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from runner.engine.api import Images
from runner.engine.labels import JOB, JOB_SERVICE
from runner.engine.swarm.api import Attachment, HealthCheck, ServiceSpec, Swarm, Task
from runner.errors import EngineError
from runner.execute import environment, readiness
from runner.execute.images import ImageResolver
from runner.execute.kinds import JobContext
from runner.execute.settings import RunSettings
from runner.execute.sidecars import LOG_LINES, ServiceFailed, ServiceRun, Sidecars
from runner.execute.swarm_files import swarm_name
from runner.execute.swarm_images import RegistryImages
from runner.model.pipeline import Job, Steps, pairs
from runner.model.services import Readiness, ReadyKind, Service

POLL = 0.2  # seconds between looks at a service's task while it gets ready
SCHEDULE_WAIT = 300.0  # seconds a task may take to be placed and its image pulled
REPOSITORY = "services"


@dataclass
class Sidecar:
    service: Service
    id: str  # the Swarm service's


class SwarmSidecars(Sidecars[Sidecar]):
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
        self._published = RegistryImages(engine, f"{registry}/{REPOSITORY}")

    def _network(self, job: Job) -> str:
        labels = pairs({**dict(self._settings.labels), JOB: job.name})
        name = swarm_name(self._settings.run_id, job.name, "net")
        return self._swarm.create_network(name, labels)

    def _start(
        self, job: Job, action: Steps, service: Service, network: str, context: JobContext
    ) -> Sidecar:
        probe = Steps(image=service.image, steps=(), pull=action.pull)
        resolved = self._images.resolve(job, probe, context.log.write)
        if service.ready.kind is ReadyKind.HEALTHCHECK and not self._engine.has_healthcheck(
            resolved.id
        ):
            raise ServiceFailed(
                f"service {service.alias!r}: the image has no HEALTHCHECK "
                "(use ready: {tcp|http|command: ...})"
            )
        spec = ServiceSpec(
            name=swarm_name(self._settings.run_id, job.name, service.alias),
            image=self._published.pinned(resolved.id),
            args=("sh", "-c", service.command) if service.command else (),
            labels=pairs(
                {**dict(self._settings.labels), JOB: job.name, JOB_SERVICE: service.alias}
            ),
            env=environment.service_env(self._settings, job, service),
            networks=(Attachment(network=network, aliases=(service.alias,)),),
            health=_health(service.ready),
        )
        made = Sidecar(service=service, id=self._swarm.create_service(spec))
        context.log.line(f"service {service.alias}: started ({service.image})")
        return made

    def _wait(self, started: Sidecar, context: JobContext) -> str | None:
        return wait(self._swarm, started.id, started.service.ready, context.slot.stopped.wait)

    def _output(self, started: Sidecar) -> list[str]:
        return self._swarm.tail(started.id, LOG_LINES)

    def _stop(self, run: ServiceRun[Sidecar], context: JobContext) -> None:
        """The job's service and its sidecars at once, then their network (which, like the
        local backend's, is left to the run's sweep when it will not go)."""
        self._swarm.remove_services([*run.beside, *(started.id for started in run.started)])
        if run.network is None:
            return
        try:
            self._swarm.remove_network(run.network)
        except EngineError as error:
            context.log.line(f"warning: network {run.network} stays until the run ends: {error}")


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
    backend: placing the task and pulling its image on its node is not the service's
    start-up, and has its own bound (SCHEDULE_WAIT).
    """
    scheduled_by = clock() + SCHEDULE_WAIT
    deadline: float | None = None
    while True:
        task = swarm.task(service)
        if task is not None and task.state == "running":
            return None
        if task is not None and task.ended:
            code = "" if task.exit_code is None else f", exit code {task.exit_code}"
            return f"its task ended ({task.state}: {task.error or 'no reason given'}{code})"
        if task is not None and task.state == "starting" and deadline is None:
            deadline = clock() + ready.timeout
        if deadline is not None and clock() >= deadline:
            return f"{readiness.describe(ready)} still failing after {ready.timeout:g}s{_HINT}"
        if deadline is None and clock() >= scheduled_by:
            state = f"{task.state}: {task.error}" if task and task.error else _state(task)
            return f"its task did not start within {SCHEDULE_WAIT:g}s ({state})"
        if pause(POLL):
            return f"the job was stopped while waiting (its task: {_state(task)})"


_HINT = (
    " (the check runs inside the service: a tcp check needs bash, nc, python3 or perl there, "
    "an http check curl, wget or python3)"
)


def _state(task: Task | None) -> str:
    return task.state if task else "not scheduled yet"
