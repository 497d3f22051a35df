"""The `on:` triggers of a pipeline: one record per kind, built by `runner.format.triggers`.

Direct triggers (push, pull_request, tag, schedule, manual, webhook) are matched against an
`Event` by `runner.plan.triggers`; chain triggers (pipelines, image) start a pipeline after
other pipelines of the same orchestrated run, as `runner.plan.compose` decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # pipeline.py imports this module; the annotation is only a string here
    from runner.model.pipeline import Position


class TriggerKind(StrEnum):
    PUSH = "push"
    PULL_REQUEST = "pull_request"
    TAG = "tag"
    SCHEDULE = "schedule"
    MANUAL = "manual"
    WEBHOOK = "webhook"
    PIPELINES = "pipelines"  # after named pipelines of the same orchestrated run
    IMAGE = "image"  # after a pipeline of the same orchestrated run pushes to a repository


class UpstreamStatus(StrEnum):
    """What the upstream pipelines of `on.pipelines` must have done."""

    PASSED = "passed"
    PASSED_OR_SKIPPED = "passed-or-skipped"  # skipped: not triggered by the event, or skipped


@dataclass(frozen=True, slots=True, kw_only=True)
class Filter:
    """Glob patterns (`runner.expr.globs`); `ignore` for branches-ignore / paths-ignore."""

    patterns: tuple[str, ...]
    ignore: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PushTrigger:
    kind: ClassVar[TriggerKind] = TriggerKind.PUSH
    branches: Filter | None = None  # None: any branch
    paths: Filter | None = None  # None: whatever changed


@dataclass(frozen=True, slots=True, kw_only=True)
class PullRequestTrigger:
    kind: ClassVar[TriggerKind] = TriggerKind.PULL_REQUEST
    branches: Filter | None = None  # the base branches the pull request targets
    paths: Filter | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TagTrigger:
    kind: ClassVar[TriggerKind] = TriggerKind.TAG
    tags: tuple[str, ...] = ()  # empty: any tag; `!` patterns exclude


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleTrigger:
    kind: ClassVar[TriggerKind] = TriggerKind.SCHEDULE
    cron: str
    timezone: str | None = None  # an IANA zone name; None: UTC


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualTrigger:
    kind: ClassVar[TriggerKind] = TriggerKind.MANUAL


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookTrigger:
    kind: ClassVar[TriggerKind] = TriggerKind.WEBHOOK
    name: str | None = None  # None: any webhook


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelinesTrigger:
    kind: ClassVar[TriggerKind] = TriggerKind.PIPELINES
    names: tuple[str, ...]
    status: UpstreamStatus = UpstreamStatus.PASSED
    position: Position | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageTrigger:
    kind: ClassVar[TriggerKind] = TriggerKind.IMAGE
    repository: str  # REGISTRY/REPOSITORY, as a package job's push: lists it
    position: Position | None = field(default=None, compare=False)


DirectTrigger = (
    PushTrigger | PullRequestTrigger | TagTrigger | ScheduleTrigger | ManualTrigger | WebhookTrigger
)
ChainTrigger = PipelinesTrigger | ImageTrigger
Trigger = DirectTrigger | ChainTrigger
