"""A session run into the run history, for the service and for `dockstep run` alike.

Before the jobs start their rows go in as pending with their log paths, and the plan (the
stages and what each job waits for) is written beside the logs as `plan.json`: the
dashboard and `dockstep logs -f` follow a run from these while it goes. At the end the
results replace the pending rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

from runner import paths, session
from runner.errors import DockstepError
from runner.git import Revision
from runner.model.events import Event, EventKind, EventSource
from runner.model.results import JobResult, Packaged, PushedImage, Status
from runner.service.history import History, history_path
from runner.service.records import JobRecord, RunDetail, RunStatus

PLAN_FILE = "plan.json"
REUSABLE = (Status.PASSED.value, Status.ALLOWED_FAILURE.value)


def log_path(prepared: session.Prepared, job: str) -> Path:
    return prepared.run_dir / f"{job}.log"


def begin(history: History, run_id: int, pipeline: str, prepared: session.Prepared) -> None:
    """Record the planned jobs as pending and write the plan beside their logs."""
    chosen = prepared.resolved.plan
    prepared.run_dir.mkdir(parents=True, exist_ok=True)
    plan = {
        "pipeline": prepared.resolved.pipeline.name,
        "stages": list(chosen.pipeline.stages),
        "jobs": [
            {"name": p.name, "stage": p.job.stage, "needs": list(p.waits_for)} for p in chosen.jobs
        ],
    }
    (prepared.run_dir / PLAN_FILE).write_text(json.dumps(plan, indent=1) + "\n")
    rows = [(p.name, p.job.stage, str(log_path(prepared, p.name))) for p in chosen.jobs]
    history.plan_jobs(run_id, pipeline, rows)


def open_history(environ: Mapping[str, str]) -> History | None:
    """The local history for `dockstep run`; None (with the run going on) if it cannot open."""
    try:
        return History(history_path(paths.state_dir(environ)))
    except (DockstepError, sqlite3.Error, OSError):
        return None


def start_cli_run(history: History, prepared: session.Prepared, requested_by: str) -> int:
    """Record a `dockstep run` as running, its pipeline by absolute path (for re-runs)."""
    resolved = prepared.resolved
    pipeline = str(resolved.request.pipeline.resolve())
    record = history.create_run(
        pipelines=(pipeline,),
        event=cli_event(resolved.request.event, resolved.revision),
        requested_by=requested_by,
        report_dir=str(prepared.run_dir),
        session_runs={pipeline: resolved.run_id},
    )
    history.mark_started(record.id)
    begin(history, record.id, pipeline, prepared)
    return record.id


def finish_cli_run(history: History, run_id: int, result: session.RunResult) -> None:
    pipeline = history.get_run(run_id)
    assert pipeline is not None
    history.record_jobs(run_id, result.jobs, pipeline=pipeline.run.pipelines[0])
    history.finish_run(run_id, status_of(result.jobs, cancelled=result.interrupted))


def abandon_cli_run(history: History, run_id: int) -> None:
    """A `dockstep run` that ended with an error before its result (the engine refused,
    a bad option): recorded as failed, never left `running`."""
    history.finish_run(run_id, RunStatus.FAILED)


def plan_of(jobs: Sequence[JobRecord]) -> dict[str, object]:
    """The plan written beside a pipeline's logs, or one guessed from its rows."""
    for job in jobs:
        if job.log_path and (path := Path(job.log_path).parent / PLAN_FILE).is_file():
            try:
                found: dict[str, object] = json.loads(path.read_text())
            except (OSError, ValueError):
                break
            return found
    stages = list(dict.fromkeys(job.stage for job in jobs))
    return {
        "stages": stages,
        "jobs": [{"name": j.name, "stage": j.stage, "needs": []} for j in jobs],
    }


def status_of(results: Sequence[JobResult], *, cancelled: bool) -> RunStatus:
    return RunStatus.CANCELLED if cancelled else RunStatus.of(results)


def cli_event(event: Event | None, revision: Revision) -> Event:
    """The event a `dockstep run` ran for: the one given with --event, else a push of what
    git has checked out."""
    if event is not None:
        return event
    return Event(
        kind=EventKind.PUSH,
        source=EventSource.CLI,
        commit=revision.commit,
        branch=revision.branch,
        tag=revision.tag,
        ref=f"refs/heads/{revision.branch}" if revision.branch else "",
    )


def event_of(detail: RunDetail) -> Event:
    """The event a recorded run ran for, to run it again."""
    run = detail.run
    return Event(
        kind=run.event,
        source=run.source,
        commit=run.commit,
        ref=run.ref,
        branch=run.branch,
        tag=run.tag,
        base=run.base,
    )


def reusable(detail: RunDetail, pipeline: str) -> tuple[JobResult, ...]:
    """The results of a pipeline's jobs that passed, to keep in a `rerun --failed`: their
    status, times, log and pushed images (what downstream jobs read)."""
    return tuple(
        JobResult(
            name=job.name,
            stage=job.stage,
            status=Status(job.status),
            started_at=job.started_at,
            finished_at=job.finished_at,
            exit_code=job.exit_code,
            reason=f"reused from run {detail.run.id}",
            log_file=job.log_path,
            packaged=_packaged(job.pushed),
        )
        for job in detail.jobs
        if job.pipeline == pipeline and job.status in REUSABLE
    )


def _packaged(pushed: Sequence[str]) -> Packaged | None:
    if not pushed:
        return None
    images = tuple(
        PushedImage(repository=ref.partition("@")[0], digest=ref.partition("@")[2])
        for ref in pushed
    )
    return Packaged(image=images[0].reference, tags=(), pushed=images)


def failed_jobs(detail: RunDetail) -> list[str]:
    return [job.name for job in detail.jobs if job.status not in REUSABLE]
