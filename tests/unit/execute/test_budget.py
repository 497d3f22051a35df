"""A budget shared by several schedulers: `--jobs N` for a whole orchestrated run."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runner.cancel import CancelToken
from runner.execute.budget import Budget
from runner.execute.scheduler import Scheduler
from runner.model.pipeline import Job
from runner.model.results import JobResult, Status
from runner.plan.plan import Selection, plan
from tests.unit.pipelines import pipeline

THREE = """
jobs:
  a: {steps: [a]}
  b: {steps: [b]}
  c: {steps: [c]}
"""


class Counting:
    """An executor that notes how many jobs, of every scheduler using it, run at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def run(self, job: Job, inputs: Mapping[str, JobResult]) -> JobResult:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.15)
        with self._lock:
            self.now -= 1
        return JobResult(name=job.name, stage=job.stage, status=Status.PASSED)

    def cancel(self, job: str) -> None:
        pass

    def cancel_all(self) -> None:
        pass


def run_three_pipelines(budget: Budget | None, tmp_path: Path) -> Counting:
    """Three pipelines of three jobs at once, each scheduler with 3 workers."""
    executor = Counting()
    chosen = plan(pipeline(THREE, tmp_path), Selection())

    def one() -> list[JobResult]:
        scheduler = Scheduler(executor, workers=3, clock=time.time, budget=budget)
        return scheduler.run(chosen, CancelToken())

    with ThreadPoolExecutor(3) as pool:
        results = [f.result() for f in [pool.submit(one) for _ in range(3)]]
    assert all(r.status is Status.PASSED for each in results for r in each)
    return executor


@pytest.mark.parametrize("slots", [1, 2])
def test_a_shared_budget_bounds_the_jobs_of_every_scheduler(tmp_path: Path, slots: int) -> None:
    assert run_three_pipelines(Budget(slots), tmp_path).most == slots


def test_without_a_shared_budget_each_scheduler_has_its_own_workers(tmp_path: Path) -> None:
    assert run_three_pipelines(None, tmp_path).most > 3


def test_a_slot_comes_back_when_its_job_ends(tmp_path: Path) -> None:
    budget = Budget(1)
    run_three_pipelines(budget, tmp_path)
    assert budget.take()
    assert not budget.take()
