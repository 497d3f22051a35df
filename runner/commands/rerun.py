"""`dockstep rerun RUN [--failed]`: run a recorded run again, or only what failed.

A service run is re-run by the service (a fresh checkout of the same commit); a
`dockstep run` run is re-run here, from its pipeline file as it is now. With `--failed`
the jobs that passed are not run again: their recorded results (and pushed images) are
handed to the session, and only the failed jobs and what depends on them run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from runner import paths, session
from runner.cancel import CancelToken
from runner.commands import run as run_command
from runner.commands.runs import history
from runner.errors import UsageError
from runner.model.events import EventSource
from runner.service import client, recording
from runner.service.access import service_dir
from runner.service.records import RunDetail


def rerun(
    environ: Mapping[str, str], run_id: int, *, failed: bool, cwd: Path, token: CancelToken
) -> int:
    with history(environ) as found:
        detail = found.get_run(run_id)
    if detail is None:
        raise UsageError(f"no run {run_id} in the history (see `dockstep runs`)")
    if failed and not recording.failed_jobs(detail):
        raise UsageError(f"run {run_id} has no failed job to run again")
    if detail.run.source is EventSource.CLI:
        return _here(detail, environ, cwd, token, failed=failed)
    home = service_dir(paths.state_dir(environ))
    status, body = client.post(home, environ, f"/api/runs/{run_id}/rerun?failed={int(failed)}")
    if status >= 400:
        raise UsageError(f"run {run_id}: {body.get('error', f'the service answered {status}')}")
    click.echo(f"run {run_id}: re-run queued as run {body.get('run')}")
    return 0


def _here(
    detail: RunDetail, environ: Mapping[str, str], cwd: Path, token: CancelToken, *, failed: bool
) -> int:
    pipeline = detail.run.pipelines[0]
    reuse = recording.reusable(detail, pipeline) if failed else ()
    if reuse:
        kept = ", ".join(r.name for r in reuse)
        click.echo(f"re-running the failed jobs of run {detail.run.id}; kept: {kept}")
    request = session.RunRequest(
        pipeline=Path(pipeline),
        event=recording.event_of(detail),
        force=True,  # a re-run runs what ran before, whatever `on:` says now
        reuse=reuse,
    )
    return run_command.run(request, environ, cwd, token)
