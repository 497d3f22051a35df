"""A job's steps, in order, in its container: retries, step timeouts, OOM detection.

Steps are exec'd into the job's container (kept alive between them) so they share its
filesystem like the lines of a CI job's shell. A job of one step that is not retried
runs it as the container's own command instead (unless the run has secrets, which only
an exec may carry): no exec is needed, and the engine itself sees an OOM kill.

An exec'd step is charged only with the OOM kills of its own run: the cgroup's counter
is read before and after it (from the host's files when the engine is local, so no
engine round trip is paid per step). A child killed in step 1 that step 1 survived is
step 1's, never a later step's that fails for its own reasons.
"""

from __future__ import annotations

from collections.abc import Callable

from runner.engine.api import Containers
from runner.errors import EngineError
from runner.execute import containers, environment
from runner.execute.kinds import JobContext
from runner.execute.settings import RunSettings
from runner.execute.slot import ContainerSlot
from runner.model.pipeline import Job, Step, Steps
from runner.model.results import Status, StepResult
from runner.progress import Phase
from runner.retrying import retrying

Clock = Callable[[], float]


def single_shot(action: Steps, settings: RunSettings) -> bool:
    """Whether the job's only step can be its container's command: not retried, no secret
    to pass (a container's command gets its env from the container's config), and no
    install output to hand to the user before the step (that needs a started container)."""
    one = len(action.steps) == 1 and action.steps[0].retry.max_retries == 0
    handed = bool(action.install and action.install.outputs and settings.user)
    return one and not settings.secrets and not handed


class StepRunner:
    def __init__(
        self,
        engine: Containers,
        settings: RunSettings,
        *,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._clock = clock

    def run_all(self, job: Job, action: Steps, context: JobContext) -> tuple[StepResult, ...]:
        """Every step's result; after a blocking failure or a stop the rest are skipped."""
        results: list[StepResult] = []
        for number, step in enumerate(action.steps, start=1):
            if (results and results[-1].status.blocks) or context.slot.stopped_because:
                results.append(self._skipped(step))
            else:
                context.log.phase(Phase.step(number, len(action.steps), step.name))
                results.append(self._step(job, action, step, context))
        return tuple(results)

    def _step(self, job: Job, action: Steps, step: Step, context: JobContext) -> StepResult:
        slot, log = context.slot, context.log
        assert slot.container is not None  # created before the first step
        log.line(f"$ {step.name}")
        started = self._clock()
        before = (
            None if single_shot(action, self._settings) else self._engine.oom_kills(slot.container)
        )
        try:
            code, attempts = self._attempts(job, action, step, context)
        except EngineError as error:
            return self._container_died(step, slot, error, started)
        status = self._status(action, step, code, context)
        return StepResult(
            name=step.name,
            status=status,
            exit_code=code,
            started_at=started,
            finished_at=self._clock(),
            attempts=attempts,
            oom_killed=self._oom_killed(action, slot, code, before),
        )

    def _attempts(
        self, job: Job, action: Steps, step: Step, context: JobContext
    ) -> tuple[int, int]:
        """Run the step, retried by its policy, within its timeout: (exit code, attempts)."""
        slot, log = context.slot, context.log
        attempts = 0
        timer = context.deadline(step.timeout, step_only=True)

        def attempt() -> int:
            nonlocal attempts
            attempts += 1
            code = self._execute(job, action, step, context)
            log.flush()
            return code

        def announce(number: int, delay: float) -> None:
            log.line(
                f"step {step.name!r} failed; attempt {number}/{step.retry.attempts} in {delay:.1f}s"
            )

        try:
            code: int = retrying(
                step.retry,
                should_retry=lambda c: c != 0 and not slot.stopped_because,
                sleep=lambda seconds: _pause(slot, seconds),
                before_retry=announce,
            )(attempt)
        finally:
            if timer:
                timer.cancel()
        return code, attempts

    def _status(self, action: Steps, step: Step, code: int, context: JobContext) -> Status:
        slot, log = context.slot, context.log
        status = _status(step, code, slot)
        if (
            status is Status.TIMEOUT
            and step.allow_failure
            and slot.resume(restart=not single_shot(action, self._settings))
        ):
            status = Status.ALLOWED_FAILURE
            log.line(f"step {step.name!r} hit its timeout; allowed to fail, carrying on")
        elif status is Status.ALLOWED_FAILURE:
            log.line(f"step {step.name!r} exited {code}; allowed to fail, carrying on")
        return status

    def _execute(self, job: Job, action: Steps, step: Step, context: JobContext) -> int:
        slot, log = context.slot, context.log
        assert slot.container is not None  # created before the first step
        if single_shot(action, self._settings):  # the container's own command is the step
            stream = self._engine.attach(slot.container)
            if not slot.start():
                return -1
            for chunk in stream:
                log.write(chunk)
            return self._engine.wait(slot.container)
        return self._engine.exec(
            slot.container,
            containers.shell(step.run),
            env=environment.step_env(self._settings, job, step),
            workdir=step.workdir or action.workdir,
            user=self._settings.user,
            output=log.write,
        )

    def _oom_killed(
        self, action: Steps, slot: ContainerSlot, code: int, before: int | None
    ) -> bool:
        """Whether the kernel OOM-killed something of this step while it ran."""
        assert slot.container is not None
        if single_shot(action, self._settings):  # the engine flags its main process on failure
            failed = code != 0 and not slot.stopped_because
            return failed and self._engine.state(slot.container).oom_killed
        after = self._engine.oom_kills(slot.container)
        if after is None:  # the container ended with the step: its flag is all that is left
            return not slot.stopped_because and self._engine.state(slot.container).oom_killed
        return before is not None and after > before

    def _container_died(
        self, step: Step, slot: ContainerSlot, error: EngineError, started: float
    ) -> StepResult:
        """An exec refused because the job's container had stopped: say why, from its state
        (an OOM kill, an exit code), rather than the engine's "is not running"."""
        assert slot.container is not None
        state = self._engine.state(slot.container)
        if state.running or slot.stopped_because:
            raise error
        why = "it was OOM-killed" if state.oom_killed else f"it exited {state.exit_code}"
        return StepResult(
            name=step.name,
            status=Status.FAILED,
            exit_code=state.exit_code,
            started_at=started,
            finished_at=self._clock(),
            attempts=1,
            oom_killed=state.oom_killed,
            reason=f"the job's container stopped before step {step.name!r} could run: {why}",
        )

    def _skipped(self, step: Step) -> StepResult:
        return StepResult.skipped(step.name, self._clock())


def _pause(slot: ContainerSlot, seconds: float) -> None:
    """Wait before a retry, but not past a timeout or a cancel."""
    slot.stopped.wait(seconds)


def _status(step: Step, code: int, slot: ContainerSlot) -> Status:
    if slot.stopped_because:
        return slot.stopped_because
    if code == 0:
        return Status.PASSED
    return Status.ALLOWED_FAILURE if step.allow_failure else Status.FAILED
