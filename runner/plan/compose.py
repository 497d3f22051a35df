"""Pipelines of pipelines: which pipelines an event starts, and which wait for others. Pure.

A pipeline whose direct triggers match the event starts at once (even if it also has chain
triggers). Otherwise its chain triggers may start it later, after the upstream pipelines
they name: `on.pipelines` names them, `on.image` means every pipeline with a package job
pushing to the repository. A chain trigger can fire only if at least one of its upstreams
runs for the event; an upstream that does not run counts as passed only with
`status: passed-or-skipped`. Once the upstreams finish, `release` decides for good.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from runner.model.events import Event, EventKind, EventSource, PipelineStatus, Upstream
from runner.model.pipeline import Pipeline
from runner.model.results import JobResult, Status, pipeline_passed
from runner.model.triggers import ChainTrigger, ImageTrigger, PipelinesTrigger, UpstreamStatus
from runner.plan.compose_checks import check_chains, producers
from runner.plan.triggers import Decision, match

UPSTREAM_IMAGE = "DOCKSTEP_UPSTREAM_IMAGE"  # repository@sha256:… that fired on.image
UPSTREAM_PIPELINES = "DOCKSTEP_UPSTREAM_PIPELINES"  # "api web": the upstreams that finished
UPSTREAM_STATUS = "DOCKSTEP_UPSTREAM_STATUS"  # "api=passed web=skipped"
UPSTREAM_IMAGES = "DOCKSTEP_UPSTREAM_IMAGES"  # every repository@sha256:… the upstreams pushed


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    name: str
    decision: Decision  # runs: at once, or once `waits_for` finish; else the reasons
    waits_for: tuple[str, ...] = ()
    chain: tuple[ChainTrigger, ...] = ()  # the chain triggers that may still start it

    @property
    def starts_now(self) -> bool:
        return self.decision.runs and not self.waits_for


@dataclass(frozen=True, slots=True, kw_only=True)
class Orchestration:
    event: Event
    pipelines: tuple[Planned, ...]  # every upstream before its downstreams

    def planned(self, name: str) -> Planned:
        for planned in self.pipelines:
            if planned.name == name:
                return planned
        raise KeyError(name)

    @property
    def starting(self) -> tuple[str, ...]:
        return tuple(planned.name for planned in self.pipelines if planned.starts_now)


@dataclass(frozen=True, slots=True, kw_only=True)
class Release:
    """What a waiting pipeline does once its upstreams finished."""

    runs: bool
    reasons: tuple[str, ...] = ()
    event: Event | None = None  # the `pipeline` event it runs with


def compose(pipelines: Sequence[Pipeline], event: Event) -> Orchestration:
    """The orchestration of `pipelines` for `event`; PipelineInvalid for bad chains or a cycle."""
    order = check_chains(pipelines)
    by_name = {pipeline.name: pipeline for pipeline in pipelines}
    decided: dict[str, Planned] = {}
    for name in order:
        decided[name] = _plan(by_name[name], event, pipelines, decided)
    return Orchestration(event=event, pipelines=tuple(decided[name] for name in order))


def _plan(
    pipeline: Pipeline, event: Event, everyone: Sequence[Pipeline], decided: Mapping[str, Planned]
) -> Planned:
    direct = match(event, pipeline.triggers)
    chains = [t for t in pipeline.triggers if isinstance(t, PipelinesTrigger | ImageTrigger)]
    if direct.runs or not chains:
        return Planned(name=pipeline.name, decision=direct)
    possible: list[ChainTrigger] = []
    waits: list[str] = []
    # a pipeline with only chain triggers needs no word on the event's kind
    reasons = list(direct.reasons) if len(chains) < len(pipeline.triggers) else []
    for trigger in chains:
        upstreams = _upstreams(trigger, everyone)
        running = [name for name in upstreams if decided[name].decision.runs]
        reason = _impossible(trigger, upstreams, running, decided)
        if reason:
            reasons.append(reason)
        else:
            possible.append(trigger)
            waits += [name for name in running if name not in waits]
    if not possible:
        return Planned(name=pipeline.name, decision=Decision(runs=False, reasons=tuple(reasons)))
    return Planned(
        name=pipeline.name,
        decision=Decision(runs=True, trigger=possible[0]),
        waits_for=tuple(waits),
        chain=tuple(possible),
    )


def _upstreams(trigger: ChainTrigger, everyone: Sequence[Pipeline]) -> tuple[str, ...]:
    if isinstance(trigger, PipelinesTrigger):
        return trigger.names
    return producers(trigger.repository, everyone)


def _impossible(
    trigger: ChainTrigger,
    upstreams: Sequence[str],
    running: Sequence[str],
    decided: Mapping[str, Planned],
) -> str | None:
    """Why the trigger cannot fire for this event, or None."""
    if isinstance(trigger, ImageTrigger):
        if running:
            return None
        return f"no pipeline pushing to {trigger.repository} runs ({_why(upstreams, decided)})"
    if not running:
        return f"none of the upstream pipelines runs ({_why(upstreams, decided)})"
    if trigger.status is UpstreamStatus.PASSED_OR_SKIPPED:
        return None
    idle = [name for name in upstreams if name not in running]
    if not idle:
        return None
    return f"status: passed needs every upstream to pass, and {_why(idle, decided)}"


def _why(names: Sequence[str], decided: Mapping[str, Planned]) -> str:
    return "; ".join(f"{name!r} does not run: {decided[name].decision}" for name in names)


# ---------------------------------------------------------------- once the upstreams finished


def release(planned: Planned, event: Event, finished: Sequence[Upstream]) -> Release:
    """Whether a waiting pipeline runs, now that the pipelines it waits for finished."""
    outcomes = {upstream.pipeline: upstream for upstream in finished}
    reasons: list[str] = []
    for trigger in planned.chain:
        image, reason = _fired(trigger, planned.waits_for, outcomes)
        if reason is None:
            chained = dataclasses.replace(
                event,
                kind=EventKind.PIPELINE,
                source=EventSource.PIPELINE,
                upstream=tuple(finished),
                image=image,
            )
            return Release(runs=True, event=chained)
        reasons.append(reason)
    return Release(runs=False, reasons=tuple(reasons) or ("no chain trigger left",))


def _fired(
    trigger: ChainTrigger, waits_for: Sequence[str], outcomes: Mapping[str, Upstream]
) -> tuple[str, str | None]:
    """The image that fired it ("" for on.pipelines) and why it did not fire (None: it did)."""
    if isinstance(trigger, ImageTrigger):
        for name in waits_for:
            for image in outcomes[name].images if name in outcomes else ():
                if image.startswith(f"{trigger.repository}@"):
                    return image, None
        return "", f"no upstream pipeline pushed to {trigger.repository}"
    allowed = {PipelineStatus.PASSED}
    if trigger.status is UpstreamStatus.PASSED_OR_SKIPPED:
        allowed.add(PipelineStatus.SKIPPED)
    for name in trigger.names:
        status = outcomes[name].status if name in outcomes else PipelineStatus.SKIPPED
        if status not in allowed:
            return "", f"upstream {name!r} {status.value} (status: {trigger.status.value})"
    return "", None


def upstream(name: str, results: Sequence[JobResult], *, skipped: bool = False) -> Upstream:
    """How a finished pipeline looks to its downstreams, from its job results."""
    images = tuple(
        image.reference for result in results if result.packaged for image in result.packaged.pushed
    )
    if skipped:
        status = PipelineStatus.SKIPPED
    elif any(result.status is Status.CANCELLED for result in results):
        status = PipelineStatus.CANCELLED
    else:
        status = PipelineStatus.PASSED if pipeline_passed(tuple(results)) else PipelineStatus.FAILED
    return Upstream(pipeline=name, status=status, images=images)


def upstream_variables(event: Event) -> dict[str, str]:
    """The DOCKSTEP_UPSTREAM_* variables a chained run sees (none for other events)."""
    if event.kind is not EventKind.PIPELINE:
        return {}
    found = {
        UPSTREAM_PIPELINES: " ".join(up.pipeline for up in event.upstream),
        UPSTREAM_STATUS: " ".join(f"{up.pipeline}={up.status.value}" for up in event.upstream),
        UPSTREAM_IMAGES: " ".join(image for up in event.upstream for image in up.images),
    }
    # one variable per upstream that pushed, so an integration pipeline can pin each image
    for up in event.upstream:
        if up.images:
            found[upstream_image_variable(up.pipeline)] = up.images[0]
    return {**found, UPSTREAM_IMAGE: event.image} if event.image else found


def upstream_image_variable(pipeline: str) -> str:
    """DOCKSTEP_UPSTREAM_<NAME>_IMAGE: the first image `pipeline` pushed (`api-v2`: API_V2)."""
    name = "".join(c if c.isascii() and c.isalnum() else "_" for c in pipeline.upper())
    return f"DOCKSTEP_UPSTREAM_{name}_IMAGE"
