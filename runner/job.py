"""One job: its container's life, its steps in order, its timeouts -> a `JobResult`.

A job runs in one container kept alive between steps; each step is an exec into it, so
steps share the filesystem (like a CI job's shell) and pay no container start each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from runner import containers
from runner.engine import ContainerEngine
from runner.errors import DockstepError
from runner.images import ImageResolver
from runner.model import Job, Step
from runner.output import Console, JobLog
from runner.results import JobResult, Status, StepResult
from runner.retrying import retrying

Clock = Callable[[], float]


def _single_shot(job: Job) -> bool:
    """A job of one step (not retried) runs it as the container's command: no exec needed,
    and the engine itself sees an OOM kill."""
    return len(job.steps) == 1 and job.steps[0].retry.max_retries == 0


@dataclass
class _Watch:
    """Why a job's container was stopped from outside, when it was."""

    container: str | None = None
    stopped_because: Status | None = None
    oom_kills_seen: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


_Execute = Callable[[Job, Step, "_Watch", JobLog], int]


class JobRunner:
    def __init__(
        self,
        engine: ContainerEngine,
        images: ImageResolver,
        settings: containers.RunSettings,
        console: Console,
        log_dir: Path,
        *,
        clock: Clock = time.time,
        keep: bool = False,
    ) -> None:
        self._engine = engine
        self._images = images
        self._settings = settings
        self._console = console
        self._log_dir = log_dir
        self._clock = clock
        self._keep = keep
        self._watches: dict[str, _Watch] = {}
        self._cancelled = threading.Event()

    def cancel(self, job: str) -> None:
        """Stop a running job now; it ends as cancelled."""
        self._stop(job, Status.CANCELLED)

    def cancel_all(self) -> None:
        self._cancelled.set()
        for name in list(self._watches):
            self.cancel(name)

    def run(self, job: Job) -> JobResult:
        watch = self._watches.setdefault(job.name, _Watch())
        log = JobLog(job.name, self._console, self._log_dir / f"{job.name}.log", self._mask)
        started = self._clock()
        try:
            result = self._run(job, watch, log, started)
        except DockstepError as error:
            # a container killed by a timeout or cancel can make the engine refuse an exec
            status = watch.stopped_because or Status.FAILED
            log.line(f"error: {error}" if status is Status.FAILED else f"{status.value}: {error}")
            result = self._result(job, status, started, reason=str(error))
        finally:
            log.close()
            self._remove(job.name, watch)
        return _allow(job, result)

    def _mask(self, text: str) -> str:
        return self._console.mask(text)

    def _run(self, job: Job, watch: _Watch, log: JobLog, started: float) -> JobResult:
        image = self._images.resolve(job, log.write)
        self._announce(job, log)
        single = _single_shot(job)
        spec = containers.job_spec(self._settings, job, image, main_step=single)
        with watch.lock:
            if watch.stopped_because:  # cancelled while the image was being prepared
                return self._result(job, watch.stopped_because, started, image=image)
            watch.container = self._engine.create(spec)
        if not single and not self._start(watch):
            return self._result(job, watch.stopped_because or Status.CANCELLED, started)
        timer = self._deadline(job.name, job.timeout)
        try:
            steps = self._steps(job, watch, log, self._run_main if single else self._exec)
        finally:
            if timer:
                timer.cancel()
        status, code, reason = self._outcome(job, watch, steps)
        return self._result(
            job, status, started, code=code, steps=steps, reason=reason, image=image
        )

    def _start(self, watch: _Watch) -> bool:
        """Start the container unless the job was stopped first (a kill cannot stop a
        container that has not started, so the check and the start share the lock)."""
        with watch.lock:
            if watch.stopped_because or watch.container is None:
                return False
            self._engine.start(watch.container)
            return True

    def _announce(self, job: Job, log: JobLog) -> None:
        if job.privileged:
            log.line("note: this job runs privileged (privileged: true)")
        if job.docker_socket:
            log.line("note: this job has the host's Docker socket (docker_socket: true)")

    def _steps(
        self, job: Job, watch: _Watch, log: JobLog, execute: _Execute
    ) -> tuple[StepResult, ...]:
        results: list[StepResult] = []
        for step in job.steps:
            if (results and results[-1].status.blocks) or watch.stopped_because:
                results.append(self._skipped_step(step))
                continue
            results.append(self._step(job, step, watch, log, execute))
        return tuple(results)

    def _step(
        self, job: Job, step: Step, watch: _Watch, log: JobLog, execute: _Execute
    ) -> StepResult:
        log.line(f"$ {step.name}")
        started = self._clock()
        attempts = 0
        timer = self._deadline(job.name, step.timeout)

        def attempt() -> int:
            nonlocal attempts
            attempts += 1
            code = execute(job, step, watch, log)
            log.flush()
            return code

        def announce(number: int, delay: float) -> None:
            log.line(
                f"step {step.name!r} failed; attempt {number}/{step.retry.attempts} in {delay:.1f}s"
            )

        try:
            code = retrying(
                step.retry,
                should_retry=lambda c: c != 0 and not watch.stopped_because,
                sleep=self._pause,
                before_retry=announce,
            )(attempt)
        finally:
            if timer:
                timer.cancel()
        status = self._step_status(step, code, watch)
        oom = code != 0 and not watch.stopped_because and self._oom_since_last_look(watch)
        return StepResult(
            name=step.name,
            status=status,
            exit_code=code,
            started_at=started,
            finished_at=self._clock(),
            attempts=attempts,
            oom_killed=oom,
        )

    def _pause(self, seconds: float) -> None:
        """Wait before a retry, but not past a cancellation."""
        self._cancelled.wait(seconds)

    def _run_main(self, _job: Job, _step: Step, watch: _Watch, log: JobLog) -> int:
        """The job's only step is the container's own command."""
        assert watch.container is not None
        stream = self._engine.attach(watch.container)
        if not self._start(watch):
            return -1
        for chunk in stream:
            log.write(chunk)
        return self._engine.wait(watch.container)

    def _exec(self, job: Job, step: Step, watch: _Watch, log: JobLog) -> int:
        assert watch.container is not None
        return self._engine.exec(
            watch.container,
            containers.step_command(step),
            env=containers.step_env(self._settings, job, step),
            workdir=step.workdir or job.workdir,
            user=self._settings.user,
            output=log.write,
        )

    def _oom_since_last_look(self, watch: _Watch) -> bool:
        """Whether the kernel OOM-killed something in the container since we last asked.

        Asked only after a failed step: the engine flags its main process, and the
        cgroup's counter (cumulative) covers steps run by exec.
        """
        assert watch.container is not None
        state = self._engine.state(watch.container)
        fresh = state.oom_kills > watch.oom_kills_seen
        watch.oom_kills_seen = state.oom_kills
        return state.oom_killed or fresh

    @staticmethod
    def _step_status(step: Step, code: int, watch: _Watch) -> Status:
        if watch.stopped_because:
            return watch.stopped_because
        if code == 0:
            return Status.PASSED
        return Status.ALLOWED_FAILURE if step.allow_failure else Status.FAILED

    def _skipped_step(self, step: Step) -> StepResult:
        now = self._clock()
        return StepResult(
            name=step.name,
            status=Status.SKIPPED,
            exit_code=None,
            started_at=now,
            finished_at=now,
            attempts=0,
        )

    def _outcome(
        self, job: Job, watch: _Watch, steps: tuple[StepResult, ...]
    ) -> tuple[Status, int | None, str | None]:
        failed = next((s for s in steps if s.status.blocks), None)
        if failed is None:
            return Status.PASSED, 0, None
        if watch.stopped_because is Status.TIMEOUT:
            return Status.TIMEOUT, failed.exit_code, f"step {failed.name!r} hit a timeout"
        if watch.stopped_because is Status.CANCELLED:
            return Status.CANCELLED, failed.exit_code, "cancelled"
        if failed.oom_killed:
            limit = job.resources.memory
            return (
                Status.FAILED,
                failed.exit_code,
                f"step {failed.name!r} ran out of memory (OOM-killed, limit {limit} bytes)",
            )
        return Status.FAILED, failed.exit_code, f"step {failed.name!r} exited {failed.exit_code}"

    def _deadline(self, job: str, seconds: float | None) -> threading.Timer | None:
        if seconds is None:
            return None
        timer = threading.Timer(seconds, self._stop, args=(job, Status.TIMEOUT))
        timer.daemon = True
        timer.start()
        return timer

    def _stop(self, job: str, because: Status) -> None:
        watch = self._watches.get(job)
        if watch is None:
            return
        with watch.lock:
            if watch.stopped_because is None:
                watch.stopped_because = because
            container = watch.container
        if container:
            self._engine.kill(container)

    def _remove(self, name: str, watch: _Watch) -> None:
        with watch.lock:
            container, watch.container = watch.container, None
            self._watches.pop(name, None)
        if container and not self._keep:
            self._engine.remove(container)

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
            log_file=str(self._log_dir / f"{job.name}.log"),
        )


def _allow(job: Job, result: JobResult) -> JobResult:
    """An `allow_failure` job's failure is reported as such and blocks nothing."""
    if job.allow_failure and result.status in (Status.FAILED, Status.TIMEOUT):
        return replace(result, status=Status.ALLOWED_FAILURE)
    return result
