"""Which pipelines an event runs: every `pipelines/*.yml` of the checked-out commit whose
`on:` matches it (`runner.plan.triggers.match`).

A pipeline file that does not load cannot be matched; it is left out with its problem as
the reason, and the others still run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runner.errors import DockstepError
from runner.format.load import load_pipeline
from runner.model.events import Event
from runner.model.pipeline import Pipeline
from runner.model.triggers import ScheduleTrigger
from runner.plan.triggers import match
from runner.service.schedules import ScheduleEntry

PIPELINES = "pipelines"


@dataclass(frozen=True, slots=True, kw_only=True)
class Selected:
    pipelines: tuple[str, ...]  # paths relative to the work directory, in name order
    reasons: tuple[tuple[str, str], ...]  # the others: path -> why not


def loaded(workdir: Path) -> Iterator[tuple[str, Pipeline | DockstepError]]:
    for path in sorted((workdir / PIPELINES).glob("*.yml")):
        relative = str(path.relative_to(workdir))
        try:
            yield relative, load_pipeline(path, workspace=workdir)
        except DockstepError as error:
            yield relative, error


def triggered(workdir: Path, event: Event, only: tuple[str, ...] = ()) -> Selected:
    chosen: list[str] = []
    reasons: list[tuple[str, str]] = []
    for path, found in loaded(workdir):
        if only and path not in only:
            continue
        if isinstance(found, DockstepError):
            reasons.append((path, f"does not load: {found}"))
            continue
        decision = match(event, found.triggers)
        if decision.runs:
            chosen.append(path)
        else:
            reasons.append((path, str(decision)))
    return Selected(pipelines=tuple(chosen), reasons=tuple(reasons))


def schedule_entries(workdir: Path) -> list[ScheduleEntry]:
    """The `on.schedule` entries of the pipelines at `workdir` (invalid ones left out)."""
    return [
        ScheduleEntry(pipeline=path, cron=trigger.cron, timezone=trigger.timezone or "UTC")
        for path, found in loaded(workdir)
        if not isinstance(found, DockstepError)
        for trigger in found.triggers
        if isinstance(trigger, ScheduleTrigger)
    ]
