"""One job, start to end: image, cache volumes, install layer, container, steps -> `JobResult`.

Whatever happens (failure, timeout, cancel, an engine error) the job's container is
removed before `run` returns.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from runner.cache.layers import CacheOutcome, LayerCache
from runner.delivery.delivery import Delivery
from runner.engine.api import ContainerEngine, Mount
from runner.errors import DockstepError
from runner.execute import artifacts, containers
from runner.execute.images import ImageResolver
from runner.execute.install import Installer
from runner.execute.slot import ContainerSlot
from runner.execute.steps import StepRunner, single_shot
from runner.model.pipeline import Job, Pairs
from runner.model.results import JobResult, Status, StepResult
from runner.output import Console, JobLog

Clock = Callable[[], float]


class JobRunner:
    def __init__(
        self,
        engine: ContainerEngine,
        *,
        images: ImageResolver,
        layers: LayerCache,
        settings: containers.RunSettings,
        console: Console,
        log_dir: Path,
        delivery: Delivery | None = None,
        upstream: Mapping[str, tuple[str, ...]] | None = None,
        clock: Clock = time.time,
        keep: bool = False,
    ) -> None:
        self._engine = engine
        self._images = images
        self._layers = layers
        self._installer = Installer(engine, settings, layers)
        self._settings = settings
        self._console = console
        self._log_dir = log_dir
        self._delivery = delivery
        self._upstream = upstream or {}
        self._clock = clock
        self._keep = keep
        self._slots: dict[str, ContainerSlot] = {}
        self._cancel_early: set[str] = set()
        self._archives: dict[str, artifacts.Archive] = {}  # digests kept out of jobs' reach
        self._cancelled = threading.Event()
        self._steps = StepRunner(engine, settings, clock=clock)

    def cancel(self, job: str) -> None:
        """Stop a running job now; it ends as cancelled."""
        self._cancel_early.add(job)
        slot = self._slots.get(job)
        if slot:
            slot.stop(Status.CANCELLED)

    def cancel_all(self) -> None:
        self._cancelled.set()
        self._layers.cancel()
        if self._delivery:
            self._delivery.cancel()
        for name in list(self._slots):
            self.cancel(name)

    def run(self, job: Job) -> JobResult:
        slot = self._slots.setdefault(job.name, ContainerSlot(self._engine, keep=self._keep))
        if self._cancelled.is_set() or job.name in self._cancel_early:
            slot.stop(Status.CANCELLED)  # cancelled between being scheduled and starting
        log = JobLog(job.name, self._console, self._log_dir / f"{job.name}.log", self._console.mask)
        started = self._clock()
        try:
            result = self._run(job, slot, log, started)
            if job.artifacts and result.status is Status.PASSED:
                result = self._archive(job, result, log)
        except DockstepError as error:
            # a container killed by a timeout or cancel can make the engine refuse a call
            status = slot.stopped_because or Status.FAILED
            log.line(f"error: {error}" if status is Status.FAILED else f"{status.value}: {error}")
            result = self._result(job, status, started, reason=str(error))
        except Exception as error:  # one job's crash must not sink the run and its cleanup
            log.line(f"internal error: {error!r}")
            for line in traceback.format_exc().splitlines():
                log.line(line)
            result = self._result(job, Status.FAILED, started, reason=f"internal error: {error!r}")
        finally:
            log.close()
            slot.discard()
            self._slots.pop(job.name, None)
        return _allow(job, result)

    def _run(self, job: Job, slot: ContainerSlot, log: JobLog, started: float) -> JobResult:
        if job.package or job.deploy or job.verify:
            assert self._delivery is not None
            timer = self._deadline(slot, job.timeout)
            try:
                done = self._delivery.run(job, log, slot)
            finally:
                if timer:
                    timer.cancel()
            status = slot.stopped_because if done.status is not Status.PASSED else None
            return self._result(
                job, status or done.status, started, reason=done.reason, outputs=done.outputs
            )
        timer = self._deadline(slot, job.timeout)  # image builds and installs count too
        try:
            resolved = self._images.resolve(job, log.write)
            self._announce(job, log)
            caches = self._installer.volumes(job, resolved)
            handed = self._handed_over(job, log)  # not for the install: not in its key
            cached = (
                self._installer.install(job, resolved, caches, slot, log) if job.install else None
            )
            image = cached.image if cached else resolved.id
            single = single_shot(job)
            spec = containers.job_spec(
                self._settings, job, image, main_step=single, volumes=caches + handed
            )
            if not slot.create(spec) or (not single and not slot.start()):
                stopped = slot.stopped_because or Status.CANCELLED
                return self._result(job, stopped, started, image=image, cached=cached)
            steps = self._steps.run_all(
                job, slot, log, lambda seconds, step_only: self._deadline(slot, seconds, step_only)
            )
        finally:
            if timer:
                timer.cancel()
        status, code, reason = _outcome(job, slot, steps)
        return self._result(
            job, status, started, code=code, steps=steps, reason=reason, image=image, cached=cached
        )

    def _handed_over(self, job: Job, log: JobLog) -> tuple[Mount, ...]:
        """The verified artifacts of the jobs this one waits for, mounted read-only."""
        mounts = []
        for producer in self._upstream.get(job.name, ()):
            recorded = self._archives.get(producer)
            if recorded is not None:
                source = artifacts.verified(producer, self._log_dir, recorded.files)
                target = artifacts.mount_point(producer)
                mounts.append(Mount(source=str(source), target=target, read_only=True))
                log.line(f"artifacts of {producer} (checksums verified) at {target}")
        return tuple(mounts)

    def _archive(self, job: Job, result: JobResult, log: JobLog) -> JobResult:
        made = artifacts.archive(job.name, job.artifacts, self._settings.workspace, self._log_dir)
        self._archives[job.name] = made
        log.line(f"archived artifacts to {made.folder}")
        return replace(result, outputs=(*result.outputs, ("artifacts", str(made.folder))))

    @staticmethod
    def _announce(job: Job, log: JobLog) -> None:
        if job.privileged:
            log.line("note: this job runs privileged (privileged: true)")
        if job.docker_socket:
            log.line("note: this job has the host's Docker socket (docker_socket: true)")

    @staticmethod
    def _deadline(
        slot: ContainerSlot, seconds: float | None, step_only: bool = False
    ) -> threading.Timer | None:
        if seconds is None:
            return None
        timer = threading.Timer(
            seconds, slot.stop, args=(Status.TIMEOUT,), kwargs={"step_only": step_only}
        )
        timer.daemon = True
        timer.start()
        return timer

    def _result(
        self,
        job: Job,
        status: Status,
        started: float,
        *,
        code: int | None = None,
        steps: tuple[StepResult, ...] = (),
        reason: str | None = None,
        image: str | None = None,
        cached: CacheOutcome | None = None,
        outputs: Pairs = (),
    ) -> JobResult:
        return JobResult(
            name=job.name,
            stage=job.stage,
            status=status,
            started_at=started,
            finished_at=self._clock(),
            exit_code=code,
            steps=steps,
            reason=reason,
            image=image,
            cache=cached.status.value if cached else None,
            cache_key=cached.key.value if cached else None,
            cache_inputs=cached.key.inputs if cached else (),
            outputs=outputs,
            log_file=str(self._log_dir / f"{job.name}.log"),
        )


def _outcome(
    job: Job, slot: ContainerSlot, steps: tuple[StepResult, ...]
) -> tuple[Status, int | None, str | None]:
    failed = next((s for s in steps if s.status.blocks), None)
    if failed is None:
        return Status.PASSED, 0, None
    if slot.stopped_because is Status.TIMEOUT:
        return Status.TIMEOUT, failed.exit_code, f"step {failed.name!r} hit a timeout"
    if slot.stopped_because is Status.CANCELLED:
        return Status.CANCELLED, failed.exit_code, "cancelled"
    if failed.oom_killed:
        limit = job.resources.memory
        why = f"step {failed.name!r} ran out of memory (OOM-killed, limit {limit} bytes)"
        return Status.FAILED, failed.exit_code, why
    return Status.FAILED, failed.exit_code, f"step {failed.name!r} exited {failed.exit_code}"


def _allow(job: Job, result: JobResult) -> JobResult:
    """An `allow_failure` job's failure is reported as such and blocks nothing."""
    if job.allow_failure and result.status in (Status.FAILED, Status.TIMEOUT):
        return replace(result, status=Status.ALLOWED_FAILURE)
    return result
