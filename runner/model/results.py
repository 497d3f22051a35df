"""What happened: records from which the table, the JSON report and the exit code derive."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from runner.model.pipeline import Pairs


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
    oom_killed: bool = False  # something the step ran was OOM-killed while it ran
    reason: str | None = None  # why it failed, when its exit code does not say

    @property
    def duration(self) -> float:
        return self.finished_at - self.started_at

    @classmethod
    def skipped(cls, name: str, at: float) -> StepResult:
        """A step that did not run (a step before it failed, or the job was stopped)."""
        return cls(
            name=name,
            status=Status.SKIPPED,
            exit_code=None,
            started_at=at,
            finished_at=at,
            attempts=0,
        )


class CacheStatus(StrEnum):
    HIT = "hit"
    REMOTE_HIT = "hit (registry)"
    MISS = "miss"
    FORCED = "miss (--no-cache)"


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheResult:
    """How a job's install layer was found (or made), and what its key was made from."""

    status: CacheStatus
    key: str
    inputs: Pairs = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PushedImage:
    repository: str  # REGISTRY/REPO
    digest: str  # sha256:…
    tags: tuple[str, ...] = ()

    @property
    def reference(self) -> str:
        """What a deploy or a downstream pipeline pins: REGISTRY/REPO@sha256:…"""
        return f"{self.repository}@{self.digest}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Packaged:
    """A package job's image: built locally, then pushed to each repository."""

    image: str  # the local image id
    tags: tuple[str, ...]
    pushed: tuple[PushedImage, ...] = ()

    @property
    def deployable(self) -> str:
        """The pushed digest reference when there is one, else the local image id."""
        return self.pushed[0].reference if self.pushed else self.image


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment:
    service: str
    environment: str
    image: str
    container: str
    previous: str | None = None  # the kept container to roll back to, if there was one
    previous_image: str | None = None
    on_swarm: bool = False  # a Swarm service (rolled back by the swarm), not a container


@dataclass(frozen=True, slots=True, kw_only=True)
class Artifacts:
    """A job's archived files; the digests are the runner's own record, not the manifest's."""

    folder: str
    files: Pairs = ()  # relative name -> sha256


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamArtifacts:
    """A job of an upstream pipeline and its archived files, as its downstream pipeline
    gets them in an orchestrated run (mounted at /artifacts/<pipeline>/<job>)."""

    pipeline: str
    job: str
    artifacts: Artifacts  # the upstream job's own record: the digests to verify against

    @property
    def producer(self) -> str:
        return f"{self.pipeline}/{self.job}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurements:
    """A verify job's baseline: latency percentiles and errors over N requests."""

    requests: int
    errors: int
    p50: float  # seconds
    p95: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


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
    image: str | None = None  # the image id the job's container ran
    cache: CacheResult | None = None  # for jobs with an install
    packaged: Packaged | None = None  # package jobs
    deployment: Deployment | None = None  # deploy jobs
    baseline: Measurements | None = None  # verify jobs with a baseline
    rolled_back: bool = False  # a verify job that rolled its deployment back
    artifacts: Artifacts | None = None
    log_file: str | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


def upstream_artifacts(
    pipeline: str, results: tuple[JobResult, ...] | list[JobResult]
) -> tuple[UpstreamArtifacts, ...]:
    """What a finished pipeline hands its downstream pipelines: its jobs' archives."""
    return tuple(
        UpstreamArtifacts(pipeline=pipeline, job=result.name, artifacts=result.artifacts)
        for result in results
        if result.artifacts is not None
    )


def pipeline_passed(results: tuple[JobResult, ...] | list[JobResult]) -> bool:
    """Green unless a job failed, timed out or was cancelled (skips follow from those or `if:`)."""
    return not any(r.status in (Status.FAILED, Status.TIMEOUT, Status.CANCELLED) for r in results)
