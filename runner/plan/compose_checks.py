"""The checks that need every pipeline at once: chain triggers name real upstreams, and
pipelines do not wait for each other in a cycle. Pure; problems point at the trigger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from runner.errors import PipelineInvalid, Problem
from runner.model.pipeline import Package, Pipeline
from runner.model.triggers import ImageTrigger, PipelinesTrigger
from runner.names import suggest
from runner.plan.dag import find_cycle


def producers(repository: str, pipelines: Sequence[Pipeline]) -> tuple[str, ...]:
    """The pipelines with a package job pushing to `repository`."""
    return tuple(
        pipeline.name
        for pipeline in pipelines
        if any(
            isinstance(job.action, Package) and repository in job.action.push
            for job in pipeline.jobs
        )
    )


def upstream_graph(pipelines: Sequence[Pipeline]) -> dict[str, tuple[str, ...]]:
    """What each pipeline may wait for, through its chain triggers."""
    graph: dict[str, tuple[str, ...]] = {}
    for pipeline in pipelines:
        found: list[str] = []
        for trigger in pipeline.triggers:
            if isinstance(trigger, PipelinesTrigger):
                found += trigger.names
            elif isinstance(trigger, ImageTrigger):
                found += producers(trigger.repository, pipelines)
        graph[pipeline.name] = tuple(dict.fromkeys(found))
    return graph


def check_chains(pipelines: Sequence[Pipeline]) -> tuple[str, ...]:
    """The pipelines' names, every upstream before its downstreams; PipelineInvalid if not."""
    problems = _duplicates(pipelines) + _unknown_upstreams(pipelines)
    if problems:
        raise PipelineInvalid(problems)
    graph = upstream_graph(pipelines)
    cycle = find_cycle(graph)
    if cycle:
        first = next(p for p in pipelines if p.name == cycle[0])
        message = f"pipelines wait for each other in a cycle: {' -> '.join(cycle)}"
        raise PipelineInvalid([_problem(first, _chain_of(first), "on", message)])
    return _order(graph)


def _duplicates(pipelines: Sequence[Pipeline]) -> list[Problem]:
    seen: dict[str, Pipeline] = {}
    problems: list[Problem] = []
    for pipeline in pipelines:
        if pipeline.name in seen:
            message = f"pipeline name {pipeline.name!r} is also {seen[pipeline.name].path}'s"
            problems.append(_problem(pipeline, None, "name", message))
        seen.setdefault(pipeline.name, pipeline)
    return problems


def _unknown_upstreams(pipelines: Sequence[Pipeline]) -> list[Problem]:
    names = [pipeline.name for pipeline in pipelines]
    pushed = {
        repo
        for p in pipelines
        for job in p.jobs
        if isinstance(job.action, Package)
        for repo in job.action.push
    }
    problems: list[Problem] = []
    for pipeline in pipelines:
        for trigger in pipeline.triggers:
            if isinstance(trigger, PipelinesTrigger):
                for name in (name for name in trigger.names if name not in names):
                    message = f"no pipeline is named {name!r}{suggest(name, names)}"
                    problems.append(_problem(pipeline, trigger, "on.pipelines.names", message))
            elif isinstance(trigger, ImageTrigger) and trigger.repository not in pushed:
                message = (
                    f"no package job of these pipelines pushes to {trigger.repository!r}"
                    f"{suggest(trigger.repository, pushed)}"
                )
                problems.append(_problem(pipeline, trigger, "on.image.repository", message))
    return problems


def _order(graph: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Upstreams first; otherwise the order the pipelines were given in (no cycle here)."""
    done: dict[str, None] = {}

    def visit(name: str) -> None:
        if name not in done:
            for upstream in graph[name]:
                visit(upstream)
            done[name] = None

    for name in graph:
        visit(name)
    return tuple(done)


def _chain_of(pipeline: Pipeline) -> PipelinesTrigger | ImageTrigger | None:
    chains = (t for t in pipeline.triggers if isinstance(t, PipelinesTrigger | ImageTrigger))
    return next(chains, None)


def _problem(
    pipeline: Pipeline, trigger: PipelinesTrigger | ImageTrigger | None, path: str, message: str
) -> Problem:
    at = trigger.position if trigger is not None else None
    line, column = (at.line, at.column) if at is not None else (1, 1)
    return Problem(file=pipeline.path, line=line, column=column, path=path, message=message)
