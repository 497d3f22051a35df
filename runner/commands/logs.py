"""`dockstep logs RUN [JOB] [-f]`: a recorded run's job logs, followed while they grow."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import click

from runner.commands.runs import history
from runner.errors import UsageError
from runner.service import views
from runner.service.history import History
from runner.service.logs import follow
from runner.service.records import JobRecord, RunDetail


def logs(
    environ: Mapping[str, str],
    run_id: int,
    job: str | None,
    *,
    pipeline: str = "",
    follow_: bool = False,
    poll: float = 0.5,
) -> int:
    with history(environ) as found:
        detail = _detail(found, run_id)
        jobs = [_job(detail, job, pipeline)] if job else list(detail.jobs)
        for record in jobs:
            if job is None:
                click.echo(f"==> {record.pipeline}: {record.name} <==")
            _show(found, run_id, record, follow_=follow_, poll=poll)
    return 0


def _detail(found: History, run_id: int) -> RunDetail:
    detail = found.get_run(run_id)
    if detail is None:
        raise UsageError(f"no run {run_id} in the history (see `dockstep runs`)")
    return detail


def _job(detail: RunDetail, job: str, pipeline: str) -> JobRecord:
    record = views.find_job(detail, job, pipeline)
    if record is None:
        names = ", ".join(dict.fromkeys(j.name for j in detail.jobs)) or "none yet"
        raise UsageError(f"run {detail.run.id} has no job {job!r} (its jobs: {names})")
    return record


def _show(found: History, run_id: int, record: JobRecord, *, follow_: bool, poll: float) -> None:
    path = Path(record.log_path or "")
    if not follow_:
        click.echo(path.read_text(errors="replace") if path.is_file() else "", nl=False)
        return

    def finished() -> bool:
        return views.job_done(found.get_run(run_id), record.name, record.pipeline)

    for line in follow(path, finished, poll=poll, sleep=time.sleep):
        click.echo(line)
