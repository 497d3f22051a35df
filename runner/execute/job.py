"""One job, start to end, whatever its kind: log, timeout, stop, artifacts -> `JobResult`.

The kind runner registered for the job's action does the work. Whatever happens
(failure, timeout, cancel, an engine error), the job's container is removed before
`run` returns, and one job's crash never sinks the run.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from runner.engine.api import Containers
from runner.errors import DockstepError, EngineLost, EngineUnavailable
from runner.execute import artifacts
from runner.execute.kinds import JobContext, Kinds, Outcome
from runner.execute.slot import ContainerSlot
from runner.model.pipeline import Deploy, Job, Package, Verify
from runner.model.results import Artifacts, JobResult, Status
from runner.output import Console, JobLog
from runner.progress import Phase, Stage

Clock = Callable[[], float]
# what a job shows on the status line until its kind runner says more
KIND_STAGES: dict[type, Stage] = {
    Package: Stage.PACKAGE,
    Deploy: Stage.DEPLOY,
    Verify: Stage.VERIFY,
}


class JobRunner:
    def __init__(
        self,
        engine: Containers,
        *,
        kinds: Kinds,
        console: Console,
        workspace: Path,
        log_dir: Path,
        clock: Clock = time.time,
        keep: bool = False,
    ) -> None:
        self._engine = engine
        self._kinds = kinds
        self._console = console
        self._workspace = workspace
        self._log_dir = log_dir
        self._clock = clock
        self._keep = keep
        self._slots: dict[str, ContainerSlot] = {}
        self._cancel_early: set[str] = set()
        self._cancelled = threading.Event()
        self.engine_lost: EngineLost | None = None  # the engine stopped answering mid-run

    def cancel(self, job: str) -> None:
        """Stop a running job now; it ends as cancelled."""
        self._cancel_early.add(job)
        slot = self._slots.get(job)
        if slot:
            slot.stop(Status.CANCELLED)

    def cancel_all(self) -> None:
        self._cancelled.set()
        for kind in self._kinds.values():
            kind.cancel()
        for name in list(self._slots):
            self.cancel(name)

    def run(self, job: Job, inputs: Mapping[str, JobResult]) -> JobResult:
        """Run `job`; `inputs` are the results of the jobs it waits for."""
        slot = self._slots.setdefault(
            job.name, ContainerSlot(self._engine, keep=self._keep, grace=job.stop_grace)
        )
        if self._cancelled.is_set() or job.name in self._cancel_early:
            slot.stop(Status.CANCELLED)  # cancelled between being scheduled and starting
        log = JobLog(job.name, self._console, self._log_dir / f"{job.name}.log", self._console.mask)
        context = JobContext(log=log, slot=slot, inputs=inputs)
        started = self._clock()
        archived = None
        self._console.started(job.name)
        log.phase(Phase(stage=KIND_STAGES.get(type(job.action), Stage.START)))
        try:
            outcome = self._outcome(job, context)
            if job.artifacts and outcome.status is Status.PASSED:
                archived = self._archive(job, log)
        except EngineUnavailable as error:
            outcome = self._lost(error, log)
        except DockstepError as error:
            # a container killed by a timeout or cancel can make the engine refuse a call
            status = slot.stopped_because or Status.FAILED
            log.line(f"error: {error}" if status is Status.FAILED else f"{status.value}: {error}")
            outcome = Outcome(status=status, reason=str(error))
        except Exception as error:  # one job's crash must not sink the run and its cleanup
            log.line(f"internal error: {error!r}")
            for line in traceback.format_exc().splitlines():
                log.line(line)
            outcome = Outcome(status=Status.FAILED, reason=f"internal error: {error!r}")
        finally:
            self._discard(slot, log)
            log.close()
            self._slots.pop(job.name, None)
            self._console.ended(job.name)
        return _allow(job, self._result(job, outcome, started, archived))

    def _lost(self, error: EngineUnavailable, log: JobLog) -> Outcome:
        """The engine stopped answering: the job failed (never passed), and so did the run."""
        lost = error if isinstance(error, EngineLost) else EngineLost(str(error))
        self.engine_lost = self.engine_lost or lost
        log.line(f"error: {lost}")
        return Outcome(status=Status.FAILED, reason=str(lost))

    def _discard(self, slot: ContainerSlot, log: JobLog) -> None:
        """Remove the job's container; an engine that is gone leaves it to the run's sweep."""
        try:
            slot.discard()
        except EngineUnavailable as error:
            self._lost(error, log)
        except DockstepError as error:
            log.line(f"warning: the job's container was left behind: {error}")

    def _outcome(self, job: Job, context: JobContext) -> Outcome:
        kind = self._kinds[type(job.action)]
        timer = context.deadline(job.timeout)  # image builds, installs and waits count too
        try:
            outcome = kind.run(job, job.action, context)
        finally:
            if timer:
                timer.cancel()
        stopped = context.slot.stopped_because
        if outcome.status is not Status.PASSED and stopped:
            return replace(outcome, status=stopped)
        return outcome

    def _archive(self, job: Job, log: JobLog) -> Artifacts:
        made = artifacts.archive(job.name, job.artifacts, self._workspace, self._log_dir)
        log.line(f"archived artifacts to {made.folder}")
        return made

    def _result(
        self, job: Job, outcome: Outcome, started: float, archived: Artifacts | None
    ) -> JobResult:
        return JobResult(
            name=job.name,
            stage=job.stage,
            status=outcome.status,
            started_at=started,
            finished_at=self._clock(),
            exit_code=outcome.exit_code,
            steps=outcome.steps,
            reason=outcome.reason,
            image=outcome.image,
            cache=outcome.cache,
            packaged=outcome.packaged,
            deployment=outcome.deployment,
            baseline=outcome.baseline,
            rolled_back=outcome.rolled_back,
            artifacts=archived,
            log_file=str(self._log_dir / f"{job.name}.log"),
        )


def _allow(job: Job, result: JobResult) -> JobResult:
    """An `allow_failure` job's failure is reported as such and blocks nothing."""
    if job.allow_failure and result.status in (Status.FAILED, Status.TIMEOUT):
        return replace(result, status=Status.ALLOWED_FAILURE)
    return result
