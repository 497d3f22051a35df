"""The seam between running a job and what the job does: one runner per kind of job.

`Job.action` is a `Steps`, `Package`, `Deploy` or `Verify`; the session registers one
`KindRunner` per action type and `JobRunner` looks it up by the action's type. A new kind
of job is a new entry, not a new `if`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from runner.execute.slot import ContainerSlot
from runner.model.pipeline import Job
from runner.model.results import (
    CacheResult,
    Deployment,
    JobResult,
    Measurements,
    Packaged,
    Status,
    StepResult,
)
from runner.output import JobLog

A_contra = TypeVar("A_contra", contravariant=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What a kind runner found; `JobRunner` adds the name, times, log and artifacts."""

    status: Status
    reason: str | None = None
    exit_code: int | None = None
    steps: tuple[StepResult, ...] = ()
    image: str | None = None
    cache: CacheResult | None = None
    packaged: Packaged | None = None
    deployment: Deployment | None = None
    baseline: Measurements | None = None
    rolled_back: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class JobContext:
    """What a kind runner gets besides its job."""

    log: JobLog
    slot: ContainerSlot  # the job's stop: a timeout or cancel sets it; waits end on it
    inputs: Mapping[str, JobResult]  # the results of the jobs this one waits for

    def deadline(self, seconds: float | None, *, step_only: bool = False) -> threading.Timer | None:
        """Stop the job (or, `step_only`, just its current step) after `seconds`."""
        if seconds is None:
            return None
        timer = threading.Timer(
            seconds, self.slot.stop, args=(Status.TIMEOUT,), kwargs={"step_only": step_only}
        )
        timer.daemon = True
        timer.start()
        return timer


class KindRunner(Protocol[A_contra]):
    def run(self, job: Job, action: A_contra, context: JobContext) -> Outcome: ...

    def cancel(self) -> None:
        """The whole run is being cancelled: end every wait now."""


Kinds = Mapping[type, KindRunner[Any]]
