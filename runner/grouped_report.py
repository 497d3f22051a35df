"""An orchestrated run's results, grouped by pipeline: the summary, the JSON report and the
exit code. Pure.

Jobs are named `pipeline/job`, so the report's `jobs` list reads as a single run's does
(every field of report version 1 is there); `pipelines` adds how each pipeline ended and,
for one that did not run, why.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tabulate import tabulate

from runner.errors import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK
from runner.model.events import Event, PipelineStatus
from runner.model.results import JobResult
from runner.report import REPORT_VERSION, event_json, job_json, masked, table

FAILING = (PipelineStatus.FAILED, PipelineStatus.CANCELLED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """One pipeline of the run and its jobs' results (none when it did not run)."""

    pipeline: str
    path: str
    status: PipelineStatus
    reasons: tuple[str, ...] = ()
    run_id: str | None = None  # its own run: logs, approvals (`dockstep approve RUN JOB`)
    jobs: tuple[JobResult, ...] = ()

    def qualified(self) -> list[JobResult]:
        return [_qualified(self.pipeline, result) for result in self.jobs]


def exit_code(groups: Sequence[Group], *, interrupted: bool = False) -> int:
    """1 when any pipeline failed or was cancelled by a failure; skips are not failures."""
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_JOB_FAILED if any(g.status in FAILING for g in groups) else EXIT_OK


def verdict(groups: Sequence[Group], *, interrupted: bool = False) -> str:
    code = exit_code(groups, interrupted=interrupted)
    return {EXIT_OK: "passed", EXIT_JOB_FAILED: "failed"}.get(code, "interrupted")


def summary(groups: Sequence[Group], mask: Callable[[str], str] = str) -> str:
    """The jobs of every pipeline that ran, then one line per pipeline."""
    jobs = [result for group in groups for result in group.qualified()]
    rows = [
        [g.pipeline, g.status.value, g.run_id or "", _short(mask("; ".join(g.reasons)))]
        for g in groups
    ]
    pipelines = tabulate(rows, headers=["pipeline", "status", "run", "note"], tablefmt="simple")
    return f"{table(jobs, mask=mask)}\n\n{pipelines}" if jobs else pipelines


def to_json(
    groups: Sequence[Group],
    *,
    run_id: str,
    event: Event,
    mask: Callable[[str], str],
    interrupted: bool = False,
) -> str:
    document = {
        "version": REPORT_VERSION,
        "run_id": run_id,
        "pipeline": ", ".join(g.path for g in groups),
        "status": verdict(groups, interrupted=interrupted),
        "exit_code": exit_code(groups, interrupted=interrupted),
        "event": event_json(event),
        "jobs": [
            {**job_json(result), "pipeline": group.pipeline}
            for group in groups
            for result in group.qualified()
        ],
        "pipelines": [_pipeline(group) for group in groups],
    }
    return json.dumps(masked(document, mask), indent=2)


def _pipeline(group: Group) -> Mapping[str, Any]:
    return {
        "name": group.pipeline,
        "path": group.path,
        "status": group.status.value,
        "reasons": list(group.reasons),
        "run_id": group.run_id,
        "jobs": [f"{group.pipeline}/{result.name}" for result in group.jobs],
    }


def _qualified(pipeline: str, result: JobResult) -> JobResult:
    return replace(result, name=f"{pipeline}/{result.name}")


def _short(text: str, limit: int = 110) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
