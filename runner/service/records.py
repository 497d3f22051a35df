"""What the run history returns: frozen records, never database rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from runner.model.events import EventKind, EventSource
from runner.model.results import JobResult, pipeline_passed

PENDING = "pending"  # a planned job's status until its result is recorded


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the service died (or was killed) while it was queued or running

    @property
    def final(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)

    @classmethod
    def of(cls, results: Sequence[JobResult]) -> RunStatus:
        """The status a finished run gets from its jobs' results."""
        return cls.PASSED if pipeline_passed(list(results)) else cls.FAILED


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    id: int
    pipelines: tuple[str, ...]
    event: EventKind
    source: EventSource
    ref: str
    branch: str
    tag: str
    base: str
    commit: str
    delivery: str
    status: RunStatus
    created_at: float
    started_at: float | None
    finished_at: float | None
    report_dir: str  # the run's logs: <pipeline>/<job>.log below it
    requested_by: str
    session_runs: tuple[tuple[str, str], ...] = ()  # pipeline -> the session's run id

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRecord:
    run_id: int
    pipeline: str
    name: str
    stage: str
    status: str  # a runner.model.results.Status value
    started_at: float | None
    finished_at: float | None
    duration: float | None
    exit_code: int | None
    reason: str | None
    log_path: str | None
    pushed: tuple[str, ...]  # repository@sha256:… references a package job pushed
    cache: str | None  # hit, hit (registry), miss: for jobs with an install


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRecord:
    run_id: int
    job: str
    who: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDetail:
    run: RunRecord
    jobs: tuple[JobRecord, ...]
    approvals: tuple[ApprovalRecord, ...]


ScheduleKey = tuple[str, str, str]  # pipeline, cron, time zone
