"""From a pipeline and a selection to the plan of what runs, after what. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.errors import UsageError
from runner.expr import conditions
from runner.model.pipeline import Job, Pairs, Pipeline
from runner.names import suggest
from runner.plan import dag


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """What the user asked for: some jobs (empty: all) and the facts `if:` reads."""

    jobs: tuple[str, ...] = ()
    context: Pairs = ()  # branch, tag, event, commit, pipeline and variables
    unattended: bool = False  # nobody can approve a `when: manual` job while the run waits
    approved: tuple[str, ...] = ()  # jobs approved up front (--approve)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedJob:
    job: Job
    waits_for: tuple[str, ...]
    skip_reason: str | None = None

    @property
    def name(self) -> str:
        return self.job.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    pipeline: Pipeline
    jobs: tuple[PlannedJob, ...]  # in an order where every job follows what it waits for

    def runnable(self) -> tuple[PlannedJob, ...]:
        return tuple(p for p in self.jobs if p.skip_reason is None)

    def waves(self) -> tuple[tuple[str, ...], ...]:
        """Runnable jobs grouped by depth: each wave can start once the earlier ones are done."""
        depth: dict[str, int] = {}
        for planned in self.runnable():
            depth[planned.name] = 1 + max((depth[w] for w in planned.waits_for), default=-1)
        count = max(depth.values(), default=-1) + 1
        return tuple(tuple(n for n, d in depth.items() if d == level) for level in range(count))


def plan(pipeline: Pipeline, selection: Selection) -> Plan:
    graph = dag.dependencies(pipeline.jobs, pipeline.stages)
    chosen = _chosen(pipeline, graph, selection.jobs)
    context = dict(selection.context)
    skipped: dict[str, str] = {}
    planned: list[PlannedJob] = []
    for name in _topological(graph, chosen):
        job = pipeline.job(name)
        waits = tuple(w for w in graph[name] if w in chosen)
        reason = _skip_reason(job, context, skipped) or _unapproved(job, selection)
        if reason:
            skipped[name] = reason
        planned.append(
            PlannedJob(
                job=job, waits_for=tuple(w for w in waits if w not in skipped), skip_reason=reason
            )
        )
    return Plan(pipeline=pipeline, jobs=tuple(planned))


def _chosen(
    pipeline: Pipeline, graph: Mapping[str, tuple[str, ...]], wanted: tuple[str, ...]
) -> set[str]:
    """The selected jobs and, transitively, the jobs they explicitly `need`."""
    names = [job.name for job in pipeline.jobs]
    if not wanted:
        return set(names)
    families = {
        job.family: [j.name for j in pipeline.jobs if j.family == job.family]
        for job in pipeline.jobs
    }
    roots: list[str] = []
    for name in wanted:
        if name not in graph and name not in families:
            choices = {*names, *families}
            raise UsageError(f"no job named {name!r} in {pipeline.path}{suggest(name, choices)}")
        roots += [name] if name in graph else families[name]  # a matrix job: all its cells
    needs = {job.name: job.needs or () for job in pipeline.jobs}
    return dag.transitive(needs, roots)


def _skip_reason(job: Job, context: Mapping[str, str], skipped: Mapping[str, str]) -> str | None:
    for need in job.needs or ():
        if need in skipped:
            return f"needs {need}, which is skipped"
    if job.condition and not conditions.parse(job.condition).evaluate(context):
        return f"if: {job.condition} is false"
    return None


def _unapproved(job: Job, selection: Selection) -> str | None:
    """A manual job nobody can approve is skipped up front, not failed mid-run."""
    if not job.manual or not selection.unattended or job.name in selection.approved:
        return None
    return (
        "when: manual, and nobody can approve it in this run (no terminal, or CI); "
        f"--approve {job.name} runs it"
    )


def _topological(graph: Mapping[str, tuple[str, ...]], chosen: set[str]) -> list[str]:
    """Kahn's algorithm, keeping the file's order among jobs that are ready together."""
    order: list[str] = []
    placed: set[str] = set()
    pending = [name for name in graph if name in chosen]
    while pending:
        ready = [n for n in pending if all(w in placed or w not in chosen for w in graph[n])]
        if not ready:  # the loader rejects cycles; this guards direct callers
            raise UsageError(f"cycle among jobs: {' -> '.join(dag.find_cycle(graph) or pending)}")
        order += ready
        placed.update(ready)
        pending = [n for n in pending if n not in placed]
    return order
