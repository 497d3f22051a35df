"""The `Steps` kind on a Docker Swarm: one job, one service of one task, its steps inside.

What happens on this machine is what the local backend does before its container: the
image is pulled or built, the install layer found or made (and, on a miss, pushed to the
registry so other nodes and machines pull it by digest). Then the workspace (and the
artifacts handed over) is layered on top and pushed, the steps become one script (a Swarm
config), and the task runs it; the markers it prints become the same step results, exit
codes, timeouts, OOM kills, retries and artifacts the local backend reports.
"""

from __future__ import annotations

import io
import secrets as random
import tarfile
from dataclasses import replace

from runner.engine.labels import JOB
from runner.engine.swarm.api import (
    Attachment,
    FileMount,
    ServiceSpec,
    Swarm,
    Task,
    VolumeMount,
)
from runner.errors import EngineError
from runner.execute import containers, environment, swarm_script, swarm_task, unpack
from runner.execute.images import ImageResolver
from runner.execute.install import Installer
from runner.execute.kinds import JobContext, Outcome
from runner.execute.settings import RunSettings
from runner.execute.sidecars import ServiceRun
from runner.execute.steps import Clock
from runner.execute.swarm_files import RunFiles, swarm_name
from runner.execute.swarm_log import TaskLog
from runner.execute.swarm_sidecars import Sidecar, SwarmSidecars
from runner.execute.swarm_workspace import WorkspaceImages
from runner.model.pipeline import CacheSpec, Job, Steps, pairs
from runner.model.results import Status, StepResult
from runner.output import JobLog
from runner.progress import Phase, Stage

CACHE_REPOSITORY = "cache"


class SwarmStepsJob:
    def __init__(
        self,
        swarm: Swarm,
        *,
        images: ImageResolver,
        installer: Installer,
        workspace: WorkspaceImages,
        sidecars: SwarmSidecars,
        files: RunFiles,
        settings: RunSettings,
        registry: str,
        clock: Clock,
    ) -> None:
        self._swarm = swarm
        self._images = images
        self._installer = installer
        self._workspace = workspace
        self._sidecars = sidecars
        self._files = files
        self._settings = settings
        self._registry = registry
        self._clock = clock

    def cancel(self) -> None:
        self._installer.cancel()

    def run(self, job: Job, action: Steps, context: JobContext) -> Outcome:
        log, slot = context.log, context.slot
        log.phase(Phase(stage=Stage.IMAGE))
        resolved = self._images.resolve(job, action, log.write)
        settings = replace(self._settings, image_env=resolved.env)  # this job's: its image's env
        environment.check_image(settings, job, str(action.image))
        base, cache = resolved.id, None
        if action.install:
            shared = self._shared_cache(action)
            cached = self._installer.install(
                job, shared, action.install, resolved, volumes=(), slot=slot, log=log
            )
            slot.discard()  # the install's container, on this machine
            base, cache = cached.image, cached.result()
        log.phase(Phase(stage=Stage.IMAGE, detail="workspace"))
        image = self._workspace.image(action, base, context.inputs, log)
        if slot.stopped_because:
            return Outcome(status=slot.stopped_because, image=image, cache=cache)
        if action.services:
            log.phase(Phase(stage=Stage.SERVICES))
        nonce = random.token_hex(12)
        script = self._script(settings, job, action, nonce)
        try:  # the script's config is in use until the job's task is gone
            with self._sidecars.around(job, action, context) as sidecars:
                log.phase(Phase(stage=Stage.START, detail="swarm task"))  # its steps say which
                reader = TaskLog(nonce, action.steps, context.log)
                task = self._run_task(job, action, image, context, script, reader, sidecars)
                if reader.artifacts is not None:
                    with tarfile.open(fileobj=io.BytesIO(reader.artifacts)) as tar:
                        unpack.extract(tar, self._settings.workspace)
                steps = reader.results(slot.stopped_because, self._clock())
                status, code, reason = _verdict(
                    action, steps, reader=reader, task=task, stopped=slot.stopped_because
                )
                sidecars.failed = status is not Status.PASSED
        finally:
            try:
                self._files.remove(script)
            except EngineError as error:  # the run's sweep removes it; the job's verdict stands
                log.line(f"warning: config {script.name} stays until the run ends: {error}")
        return Outcome(
            status=status, exit_code=code, steps=steps, reason=reason, image=image, cache=cache
        )

    def _script(self, settings: RunSettings, job: Job, action: Steps, nonce: str) -> FileMount:
        """The job's steps as one script, a Swarm config of the job's."""
        script = swarm_script.wrapper(
            settings,
            job,
            action,
            nonce=nonce,
            secrets=[name for name, _ in self._settings.secrets],
        )
        return self._files.job_config(job.name, "steps", script.encode(), swarm_script.PATH)

    def _shared_cache(self, action: Steps) -> Steps:
        """Cache layers go through the run's registry unless the job names its own."""
        shared = action.cache.registry or f"{self._registry}/{CACHE_REPOSITORY}"
        return replace(action, cache=CacheSpec(volumes=(), registry=shared))

    def _run_task(  # noqa: PLR0917 (what one task is made of)
        self,
        job: Job,
        action: Steps,
        image: str,
        context: JobContext,
        script: FileMount,
        reader: TaskLog,
        sidecars: ServiceRun[Sidecar],
    ) -> Task | None:
        mounts = self._files.mounts()
        spec = ServiceSpec(
            name=swarm_name(self._settings.run_id, job.name),
            image=image,
            command=("sh", swarm_script.PATH),
            labels=pairs({**dict(self._settings.labels), JOB: job.name}),
            workdir=action.workdir,
            user=self._settings.user,
            memory=action.resources.memory,
            cpus=action.resources.cpus,
            pids=containers.pids_limit(action),
            secrets=mounts.secrets,
            configs=(*mounts.configs, script),
            tmpfs=(environment.HOME,) if self._settings.user else (),
            networks=() if sidecars.network is None else (Attachment(network=sidecars.network),),
            volumes=self._volumes(job, action, context.log),
        )
        # beside sidecars, the job's service is removed with them, at once
        beside = sidecars.beside if sidecars.network is not None else None
        return swarm_task.run_to_end(
            self._swarm, spec, reader, context.slot.stopped, removed_with=beside
        )

    def _volumes(self, job: Job, action: Steps, log: JobLog) -> tuple[VolumeMount, ...]:
        """Cache volumes live on the node that runs the task: per node, as a runner's cache."""
        return tuple(
            VolumeMount(name=keyed.name, target=keyed.volume.path, labels=keyed.labels)
            for keyed in self._installer.node_volumes(job, action, log.line)
        )


def _verdict(
    action: Steps,
    steps: tuple[StepResult, ...],
    *,
    reader: TaskLog,
    task: Task | None,
    stopped: Status | None,
) -> tuple[Status, int | None, str | None]:
    failed = next((s for s in steps if s.status.blocks), None)
    if stopped is not None:
        why = "cancelled" if stopped is Status.CANCELLED else "the job hit its timeout"
        return stopped, failed.exit_code if failed else None, why
    if reader.done is None:
        state = f"{task.state}: {task.error}" if task else "never scheduled"
        code = task.exit_code if task else None
        return Status.FAILED, code, f"the swarm task ended before its steps did ({state})"
    if failed is None:
        return Status.PASSED, 0, None
    if failed.status is Status.TIMEOUT:
        return Status.TIMEOUT, failed.exit_code, f"step {failed.name!r} hit a timeout"
    if failed.oom_killed:
        limit = action.resources.memory
        why = f"step {failed.name!r} ran out of memory (OOM-killed, limit {limit} bytes)"
        return Status.FAILED, failed.exit_code, why
    return Status.FAILED, failed.exit_code, f"step {failed.name!r} exited {failed.exit_code}"
