"""Runs a plan with N workers: jobs start as soon as what they wait for has passed.

A job also needs a slot of the budget, which the sessions of an orchestrated run share, so
that `--jobs` bounds the whole run. Fail fast: a failed job skips its dependents and, unless
keep_going, cancels what has not started and stops what is running in later stages (its own
stage is left to finish).
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Protocol

from runner.cancel import CancelToken
from runner.execute.budget import Budget
from runner.model.pipeline import Job
from runner.model.results import JobResult, Status
from runner.plan.plan import Plan, PlannedJob

POLL = 0.2  # seconds between checks, so a cancel is seen promptly
# Seconds cancelled jobs get, beyond their steps' stop grace, to end and remove their containers.
CLEANUP_MARGIN = 20.0


class JobExecutor(Protocol):
    def run(self, job: Job, inputs: Mapping[str, JobResult]) -> JobResult:
        """Run `job`; `inputs` are the results of the jobs it waits for."""

    def cancel(self, job: str) -> None: ...

    def cancel_all(self) -> None: ...


class Scheduler:
    def __init__(
        self,
        executor: JobExecutor,
        *,
        workers: int,
        keep_going: bool = False,
        clock: Callable[[], float],
        budget: Budget | None = None,
    ) -> None:
        """`budget`: shared with other schedulers (None: this run's own, `workers` slots)."""
        self._executor = executor
        self._workers = max(1, workers)
        self._budget = budget or Budget(self._workers)
        self._keep_going = keep_going
        self._clock = clock
        self.interrupted = False

    def run(self, plan: Plan, token: CancelToken) -> list[JobResult]:
        """Every planned job's result, in plan order.

        A cancel of `token` cancels every job and waits for them to clean up; a second
        cancel (a forced one) stops waiting. Either way `interrupted` is set.
        """
        run = _Run(plan, self._clock)
        pool = cf.ThreadPoolExecutor(self._workers, thread_name_prefix="job")
        try:
            self._drive(run, pool, token)
            if token.cancelled:
                self._interrupt(run, token)
        finally:
            pool.shutdown(wait=not self.interrupted, cancel_futures=True)
        return run.ordered()

    def _interrupt(self, run: _Run, token: CancelToken) -> None:
        self.interrupted = True
        self._executor.cancel_all()
        run.cancel_pending("interrupted")
        deadline = self._clock() + run.longest_grace() + CLEANUP_MARGIN
        while run.running and not token.forced and self._clock() < deadline:
            run.collect(cf.wait(run.running, timeout=POLL).done)
        run.cancel_running("interrupted")  # the caller's sweep removes what is left

    def _drive(self, run: _Run, pool: cf.ThreadPoolExecutor, token: CancelToken) -> None:
        while (run.pending or run.running) and not token.cancelled:
            run.skip_blocked()
            for planned in run.ready()[: self._workers - len(run.running)]:
                if not self._budget.take():
                    break
                inputs = {name: run.results[name] for name in planned.waits_for}
                future = pool.submit(self._executor.run, planned.job, inputs)
                # given back once the job has ended, or was never started (a shutdown)
                future.add_done_callback(lambda _: self._budget.give_back())
                run.start(planned, future)
            done, _ = cf.wait(run.running, timeout=POLL, return_when=cf.FIRST_COMPLETED)
            for result in run.collect(done):
                if result.status in (Status.FAILED, Status.TIMEOUT) and not self._keep_going:
                    self._fail_fast(run, result)

    def _fail_fast(self, run: _Run, failed: JobResult) -> None:
        """Cancel what has not started and what runs in later stages; a failed matrix cell
        also stops its sibling cells, unless its job says `fail_fast: false`."""
        run.skip_dependents(failed)
        cell = run.planned[failed.name].job.cell
        siblings = {
            n for n, p in run.planned.items() if cell and p.job.cell and p.job.family == cell.family
        }
        spared = set() if cell is None or cell.fail_fast else siblings
        run.cancel_pending(f"cancelled: {failed.name} {failed.status.value}", spare=spared)
        limit = run.stage_index(failed.stage)
        for name in run.running_names():
            later = run.stage_index(run.planned[name].job.stage) > limit
            if later or (name in siblings and name not in spared):
                run.why_cancelled[name] = f"cancelled: {failed.name} {failed.status.value}"
                self._executor.cancel(name)


class _Run:
    """The bookkeeping of one scheduling pass."""

    def __init__(self, plan: Plan, clock: Callable[[], float]) -> None:
        self.plan = plan
        self.clock = clock
        self.planned = {p.name: p for p in plan.jobs}
        self.results: dict[str, JobResult] = {}
        self.running: dict[cf.Future[JobResult], str] = {}
        self.why_cancelled: dict[str, str] = {}  # running jobs stopped by a failure
        self.pending = [p for p in plan.jobs if p.skip_reason is None]
        for p in plan.jobs:
            if p.skip_reason is not None:
                self.record(p, Status.SKIPPED, p.skip_reason)

    def stage_index(self, stage: str) -> int:
        return self.plan.pipeline.stages.index(stage)

    def running_names(self) -> list[str]:
        return list(self.running.values())

    def longest_grace(self) -> float:
        """The longest stop grace of the running jobs: how long their steps may take to end."""
        return max((self.planned[name].job.stop_grace for name in self.running_names()), default=0)

    def ready(self) -> list[PlannedJob]:
        return [p for p in self.pending if all(w in self.results for w in p.waits_for)]

    def skip_blocked(self) -> None:
        for planned in self.ready():
            blocker = next((w for w in planned.waits_for if self.results[w].status.blocks), None)
            if blocker:
                status = self.results[blocker].status.value
                self.record(planned, Status.SKIPPED, f"{blocker} {status}")

    def skip_dependents(self, failed: JobResult) -> None:
        """Everything waiting on `failed`, directly or not, is skipped because of it."""
        blocked = {failed.name}
        for planned in list(self.pending):  # plan order: waits come before waiters
            if blocked.intersection(planned.waits_for):
                blocked.add(planned.name)
                self.record(planned, Status.SKIPPED, f"{failed.name} {failed.status.value}")

    def start(self, planned: PlannedJob, future: cf.Future[JobResult]) -> None:
        self.pending.remove(planned)
        self.running[future] = planned.name

    def collect(self, done: set[cf.Future[JobResult]]) -> list[JobResult]:
        collected = []
        for future in done:
            self.running.pop(future)
            result = future.result()
            if result.status is Status.CANCELLED and result.name in self.why_cancelled:
                result = replace(result, reason=self.why_cancelled[result.name])
            self.results[result.name] = result
            collected.append(result)
        return collected

    def cancel_running(self, reason: str) -> None:
        for name in self.running_names():
            self.record(self.planned[name], Status.CANCELLED, reason)
        self.running.clear()

    def cancel_pending(self, reason: str, *, spare: set[str] | None = None) -> None:
        for planned in list(self.pending):
            if planned.name not in (spare or ()):
                self.record(planned, Status.CANCELLED, reason)

    def record(self, planned: PlannedJob, status: Status, reason: str) -> None:
        if planned in self.pending:
            self.pending.remove(planned)
        self.results[planned.name] = JobResult(
            name=planned.name, stage=planned.job.stage, status=status, reason=reason
        )

    def ordered(self) -> list[JobResult]:
        return [self.results[p.name] for p in self.plan.jobs if p.name in self.results]
