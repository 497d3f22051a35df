"""Event x a pipeline's `on:` triggers -> whether it runs, and if not, why not. Pure.

GitHub's rules: within a trigger every filter must pass (branches and paths); between
triggers any one is enough. Paths are not filtered for tags. When the changed paths are
unknown (`Event.changed is None`: no diff could be made) a path filter passes, as GitHub
runs a workflow when it cannot compute the diff; when nothing changed it fails, as GitHub
does not run a path-filtered workflow for an empty diff.

Chain triggers (pipelines, image) never match an event here: `runner.plan.compose` starts
those pipelines after their upstreams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runner.expr.cron import normalize
from runner.expr.globs import matches
from runner.model.events import Event, EventKind
from runner.model.triggers import (
    Filter,
    ImageTrigger,
    ManualTrigger,
    PipelinesTrigger,
    PullRequestTrigger,
    PushTrigger,
    ScheduleTrigger,
    TagTrigger,
    Trigger,
    WebhookTrigger,
)

# Without `on:` a pipeline runs for what a person or a commit starts, never on a clock,
# a webhook or another pipeline: those must be asked for.
UNTRIGGERED_KINDS = (EventKind.PUSH, EventKind.PULL_REQUEST, EventKind.TAG, EventKind.MANUAL)


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    runs: bool
    trigger: Trigger | None = None  # the trigger that matched (None: no `on:` at all)
    reasons: tuple[str, ...] = ()  # why not: one line per trigger that could have matched

    def __str__(self) -> str:
        return "runs" if self.runs else "; ".join(self.reasons)


def match(event: Event, triggers: Sequence[Trigger]) -> Decision:
    """Whether a pipeline with these triggers runs for the event, with the reasons if not."""
    if not triggers:
        return _untriggered(event)
    reasons: list[str] = []
    for trigger in triggers:
        if trigger.kind.value != event.kind.value:
            continue
        reason = why_not(event, trigger)
        if reason is None:
            return Decision(runs=True, trigger=trigger)
        reasons.append(reason)
    if not reasons:
        kinds = ", ".join(dict.fromkeys(trigger.kind.value for trigger in triggers))
        reasons.append(f"on: has no {event.kind.value} trigger (it has {kinds})")
    return Decision(runs=False, reasons=tuple(reasons))


def why_not(event: Event, trigger: Trigger) -> str | None:
    """Why one trigger does not match the event, or None when it does."""
    match trigger:
        case PushTrigger() if event.kind is EventKind.PUSH:
            return _branch("push to", event.branch, trigger.branches) or _paths(event, trigger)
        case PullRequestTrigger() if event.kind is EventKind.PULL_REQUEST:
            base = _branch("pull request into", event.base, trigger.branches)
            return base or _paths(event, trigger)
        case TagTrigger() if event.kind is EventKind.TAG:
            return _tag(event.tag, trigger.tags)
        case ScheduleTrigger() if event.kind is EventKind.SCHEDULE:
            return _schedule(event.schedule, trigger)
        case ManualTrigger() if event.kind is EventKind.MANUAL:
            return None
        case WebhookTrigger() if event.kind is EventKind.WEBHOOK:
            return _webhook(event.webhook, trigger.name)
        case PipelinesTrigger() | ImageTrigger():
            return f"{trigger.kind.value} triggers start a pipeline after others, not on an event"
    return f"a {trigger.kind.value} trigger does not match a {event.kind.value} event"


def _untriggered(event: Event) -> Decision:
    if event.kind in UNTRIGGERED_KINDS:
        return Decision(runs=True)
    kinds = ", ".join(kind.value for kind in UNTRIGGERED_KINDS)
    reason = f"without on: a pipeline runs for {kinds} events, not {event.kind.value}"
    return Decision(runs=False, reasons=(reason,))


def _branch(what: str, branch: str, branches: Filter | None) -> str | None:
    if branches is None:
        return None
    patterns = list(branches.patterns)
    if branches.ignore:
        if branch and matches(patterns, branch):
            return f"{what} {branch!r} matches branches-ignore {patterns}"
        return None
    if not branch:
        return f"{what} an unknown branch cannot match branches {patterns}"
    if matches(patterns, branch):
        return None
    return f"{what} {branch!r} does not match branches {patterns}"


def _paths(event: Event, trigger: PushTrigger | PullRequestTrigger) -> str | None:
    paths = trigger.paths
    if paths is None or event.changed is None:  # unknown changes: the filter passes
        return None
    key, patterns = ("paths-ignore" if paths.ignore else "paths"), list(paths.patterns)
    if not event.changed:
        return f"no path changed, so {key} {patterns} cannot match"
    if paths.ignore:
        kept = [path for path in event.changed if not matches(patterns, path)]
        return None if kept else f"every changed path matches paths-ignore {patterns}"
    if any(matches(patterns, path) for path in event.changed):
        return None
    return f"no changed path matches paths {patterns}"


def _tag(tag: str, tags: tuple[str, ...]) -> str | None:
    if not tags:
        return None
    if not tag:
        return f"a tag event without a tag cannot match tags {list(tags)}"
    return None if matches(tags, tag) else f"tag {tag!r} does not match tags {list(tags)}"


def _schedule(fired: str, trigger: ScheduleTrigger) -> str | None:
    """An event without its cron entry (`--event schedule` by hand) matches any schedule."""
    if not fired or normalize(fired) == normalize(trigger.cron):
        return None
    return f"schedule {fired!r} is not this pipeline's {trigger.cron!r}"


def _webhook(received: str, name: str | None) -> str | None:
    if name is None or received == name:
        return None
    return f"webhook {received!r} is not {name!r}" if received else f"webhook is not {name!r}"
