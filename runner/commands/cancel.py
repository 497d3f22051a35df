"""`dockstep cancel RUN`: stop a run of the service (queued: it never starts)."""

from __future__ import annotations

from collections.abc import Mapping

import click

from runner import paths
from runner.errors import UsageError
from runner.service import client
from runner.service.access import service_dir


def cancel(environ: Mapping[str, str], run_id: int) -> int:
    home = service_dir(paths.state_dir(environ))
    status, body = client.post(home, environ, f"/api/runs/{run_id}/cancel")
    if status >= 400:
        raise UsageError(str(body.get("error", f"the service answered {status}")))
    click.echo(f"run {run_id}: cancel {body.get('cancel', 'asked')}")
    return 0
