"""What starts a run: one record for every way a pipeline can be triggered.

The command line (`--event`), webhooks, schedules and upstream pipelines all produce an
`Event`; trigger matching (`runner.plan.triggers`) and `if:` read only this record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EventKind(StrEnum):
    PUSH = "push"
    PULL_REQUEST = "pull_request"
    TAG = "tag"
    SCHEDULE = "schedule"
    MANUAL = "manual"
    WEBHOOK = "webhook"
    PIPELINE = "pipeline"  # an upstream pipeline of the same orchestrated run finished


class PipelineStatus(StrEnum):
    """How an upstream pipeline of an orchestrated run ended."""

    PASSED = "passed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # not triggered by the event, or skipped by its own upstreams


@dataclass(frozen=True, slots=True, kw_only=True)
class Upstream:
    """An upstream pipeline that finished, as a `pipeline` event tells its downstream."""

    pipeline: str
    status: PipelineStatus
    images: tuple[str, ...] = ()  # repository@sha256:… its package jobs pushed


class EventSource(StrEnum):
    CLI = "cli"
    WEBHOOK = "webhook"
    SCHEDULE = "schedule"
    PIPELINE = "pipeline"


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    kind: EventKind
    source: EventSource = EventSource.CLI
    commit: str = ""  # the commit the run builds
    ref: str = ""  # refs/heads/<branch>, refs/tags/<tag>, refs/pull/<n>/head, or ""
    branch: str = ""  # push: the branch pushed; pull_request: the head branch
    tag: str = ""
    base: str = ""  # pull_request: the branch it targets
    before: str = ""  # push: the commit the branch pointed at before ("" for a new branch)
    changed: tuple[str, ...] | None = None  # paths changed; None when they cannot be known
    schedule: str = ""  # schedule: the cron entry that fired
    webhook: str = ""  # webhook: its name
    delivery: str = ""  # webhook: the sender's delivery id
    upstream: tuple[Upstream, ...] = ()  # pipeline: the upstream pipelines that finished
    image: str = ""  # pipeline, from on.image: the repository@sha256:… pushed upstream

    @property
    def name(self) -> str:
        """What `if: event == '…'` and DOCKSTEP_EVENT see."""
        return self.kind.value
