"""Between the history's rows and its records: the only place that knows column order."""

from __future__ import annotations

import json
from typing import Any

from runner.model.events import EventKind, EventSource
from runner.model.results import JobResult
from runner.service.records import ApprovalRecord, JobRecord, RunRecord, RunStatus

RUN_COLUMNS = (
    "id, pipelines, event, source, ref, branch, tag, base, commit_sha, delivery, status,"
    " created_at, started_at, finished_at, report_dir, requested_by, session_runs"
)
JOB_COLUMNS = (
    "run_id, pipeline, name, stage, status, started_at, finished_at, duration, exit_code,"
    " reason, log_path, pushed, cache"
)

Row = tuple[Any, ...]


def run(row: Row) -> RunRecord:
    return RunRecord(
        id=row[0],
        pipelines=tuple(json.loads(row[1])),
        event=EventKind(row[2]),
        source=EventSource(row[3]),
        ref=row[4],
        branch=row[5],
        tag=row[6],
        base=row[7],
        commit=row[8],
        delivery=row[9],
        status=RunStatus(row[10]),
        created_at=row[11],
        started_at=row[12],
        finished_at=row[13],
        report_dir=row[14],
        requested_by=row[15],
        session_runs=tuple(json.loads(row[16]).items()),
    )


def job(row: Row) -> JobRecord:
    return JobRecord(
        run_id=row[0],
        pipeline=row[1],
        name=row[2],
        stage=row[3],
        status=row[4],
        started_at=row[5],
        finished_at=row[6],
        duration=row[7],
        exit_code=row[8],
        reason=row[9],
        log_path=row[10],
        pushed=tuple(json.loads(row[11])),
        cache=row[12],
    )


def approval(row: Row) -> ApprovalRecord:
    return ApprovalRecord(run_id=row[0], job=row[1], who=row[2], at=row[3])


def job_values(run_id: int, pipeline: str, result: JobResult) -> Row:
    """A job's result as a row of JOB_COLUMNS."""
    return (
        run_id,
        pipeline,
        result.name,
        result.stage,
        result.status.value,
        result.started_at,
        result.finished_at,
        result.duration,
        result.exit_code,
        result.reason,
        result.log_file,
        json.dumps(pushed(result)),
        result.cache.status.value if result.cache else None,
    )


def pushed(result: JobResult) -> list[str]:
    """The repository@sha256 references a package job pushed."""
    return [image.reference for image in result.packaged.pushed] if result.packaged else []
