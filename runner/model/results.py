"""What happened: records from which the table, the JSON report and the exit code derive."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    ALLOWED_FAILURE = "allowed-failure"

    @property
    def blocks(self) -> bool:
        """Whether this outcome stops the jobs that depend on it."""
        return self in (Status.FAILED, Status.TIMEOUT, Status.CANCELLED, Status.SKIPPED)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    name: str
    status: Status
    exit_code: int | None
    started_at: float
    finished_at: float
    attempts: int = 1
    oom_killed: bool = False

    @property
    def duration(self) -> float:
        return self.finished_at - self.started_at


@dataclass(frozen=True, slots=True, kw_only=True)
class JobResult:
    name: str
    stage: str
    status: Status
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    steps: tuple[StepResult, ...] = ()
    reason: str | None = None  # why it failed, was skipped or cancelled, in words
    image: str | None = None
    cache: str | None = None  # hit, hit (registry), miss: for jobs with an install
    cache_key: str | None = None
    cache_inputs: tuple[tuple[str, str], ...] = ()  # what the key was made from
    outputs: tuple[tuple[str, str], ...] = ()  # digests pushed, deployment, latency figures…
    log_file: str | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


def pipeline_passed(results: tuple[JobResult, ...] | list[JobResult]) -> bool:
    """Green unless a job failed, timed out or was cancelled (skips follow from those or `if:`)."""
    return not any(r.status in (Status.FAILED, Status.TIMEOUT, Status.CANCELLED) for r in results)
