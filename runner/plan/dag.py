"""The job graph: which jobs each job waits for, and cycle detection. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from runner.model.pipeline import Job


def dependencies(jobs: Sequence[Job], stages: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """What each job waits for.

    GitLab semantics: a job without `needs` waits for every job of the earlier stages;
    a job with `needs` (even an empty list) waits for exactly those.
    """
    order = {stage: index for index, stage in enumerate(stages)}
    graph: dict[str, tuple[str, ...]] = {}
    for job in jobs:
        if job.needs is not None:
            graph[job.name] = job.needs
        else:
            mine = order.get(job.stage, 0)
            graph[job.name] = tuple(j.name for j in jobs if order.get(j.stage, 0) < mine)
    return graph


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle as a path that returns to its start (`[a, b, a]`), or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done or node not in graph:
            return None
        visiting.append(node)
        for child in graph[node]:
            cycle = visit(child)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in graph:
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def transitive(graph: Mapping[str, Iterable[str]], roots: Iterable[str]) -> set[str]:
    """The roots and everything they reach."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(graph.get(node, ()))
    return seen
