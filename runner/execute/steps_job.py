"""The `Steps` kind: image, cache volumes, install layer, one container, its steps."""

from __future__ import annotations

from dataclasses import replace

from runner.cache.layers import CacheOutcome
from runner.engine.api import ContainerEngine, Mount
from runner.execute import artifacts, containers, environment
from runner.execute.images import ImageResolver, ResolvedImage
from runner.execute.install import Installer, InstallFailed
from runner.execute.kinds import JobContext, Outcome
from runner.execute.services import Running, Services
from runner.execute.settings import RunSettings
from runner.execute.sidecars import ServiceRun
from runner.execute.slot import ContainerSlot
from runner.execute.steps import Clock, StepRunner, single_shot
from runner.model.pipeline import Job, Steps
from runner.model.results import Status, StepResult
from runner.progress import Phase, Stage


class StepsJob:
    def __init__(
        self,
        engine: ContainerEngine,
        *,
        images: ImageResolver,
        installer: Installer,
        settings: RunSettings,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._images = images
        self._installer = installer
        self._settings = settings
        self._clock = clock
        self._services = Services(engine, settings, images)

    def cancel(self) -> None:
        self._installer.cancel()

    def run(self, job: Job, action: Steps, context: JobContext) -> Outcome:
        log = context.log
        log.phase(Phase(stage=Stage.IMAGE))
        resolved = self._images.resolve(job, action, log.write)
        settings = replace(self._settings, image_env=resolved.env)  # this job's: its image's env
        environment.check_image(settings, job, str(action.image))
        _announce(action, context)
        if action.cache.volumes:
            log.phase(Phase(stage=Stage.VOLUMES))
        volumes = self._installer.volumes(job, action, resolved, log.line)
        try:
            cached = self._install(job, action, resolved, volumes, context)
        except InstallFailed as error:
            if error.code is None:  # stopped, not failed: the job runner says why
                raise
            log.line(f"error: {error}")
            return Outcome(
                status=Status.FAILED, exit_code=error.code, reason=str(error), image=resolved.id
            )
        image = cached.image if cached else resolved.id
        cache = cached.result() if cached else None
        if action.services:
            log.phase(Phase(stage=Stage.SERVICES))
        with self._services.around(job, action, context) as services:
            outcome = self._container(
                job,
                action,
                context,
                settings=settings,
                image=image,
                volumes=volumes,
                services=services,
            )
            services.failed = outcome.status is not Status.PASSED
        return replace(outcome, image=image, cache=cache)

    def _install(
        self,
        job: Job,
        action: Steps,
        resolved: ResolvedImage,
        volumes: tuple[Mount, ...],
        context: JobContext,
    ) -> CacheOutcome | None:
        if action.install is None:
            return None
        slot, log = context.slot, context.log
        return self._installer.install(
            job, action, action.install, resolved, volumes=volumes, slot=slot, log=log
        )

    def _container(
        self,
        job: Job,
        action: Steps,
        context: JobContext,
        *,
        settings: RunSettings,
        image: str,
        volumes: tuple[Mount, ...],
        services: ServiceRun[Running],
    ) -> Outcome:
        """The job's container, its volumes handed to the steps' user, then its steps."""
        slot = context.slot
        handed = _handed_over(context, settings)  # not for the install: not in its key
        outputs = self._installer.outputs.for_steps(job, action)
        single = single_shot(action, settings)
        spec = containers.job_spec(
            settings,
            job,
            action,
            image,
            main_step=single,
            volumes=volumes + handed + outputs,
            network=services.network or settings.network,  # the job's, else the run's
        )
        created = slot.create(spec)
        if created and slot.container is not None:  # created just now, not started yet
            self._installer.hand_over(slot.container, volumes)
        if not created or (not single and not slot.start()):
            return Outcome(status=slot.stopped_because or Status.CANCELLED)
        self._installer.outputs.hand_over(action, slot)
        steps = StepRunner(self._engine, settings, clock=self._clock).run_all(job, action, context)
        status, code, reason = _outcome(action, slot, steps)
        return Outcome(status=status, exit_code=code, steps=steps, reason=reason)


def _announce(action: Steps, context: JobContext) -> None:
    if action.privileged:
        context.log.line("note: this job runs privileged (privileged: true)")
    if action.docker_socket:
        context.log.line("note: this job has the host's Docker socket (docker_socket: true)")


def _handed_over(context: JobContext, settings: RunSettings) -> tuple[Mount, ...]:
    """The artifacts of the jobs this one waits for and of the upstream pipelines, checked
    against the digests their results hold (never the manifest beside them, which a job
    could rewrite), read-only."""
    mounts = []
    for producer, recorded in artifacts.handed(context.inputs, settings.upstream_artifacts):
        source = artifacts.verified(producer, recorded)
        target = artifacts.mount_point(producer)
        mounts.append(Mount(source=str(source), target=target, read_only=True))
        context.log.line(f"artifacts of {producer} (checksums verified) at {target}")
    return tuple(mounts)


def _outcome(
    action: Steps, slot: ContainerSlot, steps: tuple[StepResult, ...]
) -> tuple[Status, int | None, str | None]:
    failed = next((s for s in steps if s.status.blocks), None)
    if failed is None:
        return Status.PASSED, 0, None
    if slot.stopped_because is Status.TIMEOUT:
        return Status.TIMEOUT, failed.exit_code, f"step {failed.name!r} hit a timeout"
    if slot.stopped_because is Status.CANCELLED:
        return Status.CANCELLED, failed.exit_code, "cancelled"
    if failed.reason:
        return Status.FAILED, failed.exit_code, failed.reason
    if failed.oom_killed:
        limit = action.resources.memory
        why = f"step {failed.name!r} ran out of memory (OOM-killed, limit {limit} bytes)"
        return Status.FAILED, failed.exit_code, why
    return Status.FAILED, failed.exit_code, f"step {failed.name!r} exited {failed.exit_code}"
