"""Runs as JSON documents: what `GET /api/runs`, the dashboard and `dockstep runs --json`
show. A planned job whose log exists while its run goes is shown running."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from runner.service import recording
from runner.service.records import PENDING, JobRecord, RunDetail, RunRecord, RunStatus

Document = dict[str, object]
Awaiting = Callable[[str], tuple[str, ...]]  # session run id -> jobs waiting for approval


def summary(run: RunRecord) -> Document:
    return {
        "id": run.id,
        "pipeline": ", ".join(run.pipelines),
        "pipelines": list(run.pipelines),
        "event": run.event.value,
        "source": run.source.value,
        "commit": run.commit,
        "branch": run.branch,
        "tag": run.tag,
        "status": run.status.value,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration": run.duration,
        "requested_by": run.requested_by,
    }


def job_status(job: JobRecord, run: RunRecord) -> str:
    if job.status != PENDING:
        return job.status
    if run.status is not RunStatus.RUNNING:
        return "cancelled" if run.status.final else PENDING
    return "running" if job.log_path and Path(job.log_path).exists() else PENDING


def detail(found: RunDetail, awaiting: Awaiting) -> Document:
    sessions = dict(found.run.session_runs)
    running = found.run.status is RunStatus.RUNNING
    return {
        **summary(found.run),
        "pipelines": [
            _pipeline(found, path, awaiting(sessions[path]) if running and path in sessions else ())
            for path in found.run.pipelines
        ],
        "approvals": [{"job": a.job, "who": a.who, "at": a.at} for a in found.approvals],
    }


def _pipeline(found: RunDetail, path: str, waiting: tuple[str, ...]) -> Document:
    jobs = [job for job in found.jobs if job.pipeline == path]
    plan = recording.plan_of(jobs)
    needs = {str(j["name"]): j.get("needs", []) for j in _list(plan.get("jobs"))}
    return {
        "path": path,
        "stages": plan.get("stages", []),
        "awaiting_approval": list(waiting),
        "jobs": [
            {
                "name": job.name,
                "stage": job.stage,
                "status": job_status(job, found.run),
                "needs": needs.get(job.name, []),
                "duration": job.duration,
                "exit_code": job.exit_code,
                "reason": job.reason,
                "pushed": list(job.pushed),
            }
            for job in jobs
        ],
    }


def _list(value: object) -> list[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def find_job(found: RunDetail, job: str, pipeline: str = "") -> JobRecord | None:
    """A job of the run by name (and pipeline, when two pipelines have that job)."""
    return next(
        (j for j in found.jobs if j.name == job and (not pipeline or j.pipeline == pipeline)),
        None,
    )


def job_done(found: RunDetail | None, job: str, pipeline: str = "") -> bool:
    if found is None or found.run.status.final:
        return True
    record = find_job(found, job, pipeline)
    return record is not None and record.status != PENDING
