"""`dockstep approve RUN JOB`: let a waiting deploy go ahead.

RUN is a session run id (what `dockstep run` prints) or a run number of the history
(`dockstep runs`: the service's runs and recorded `dockstep run` runs).
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping

import click

from runner import session
from runner.commands.runs import history
from runner.service import approving


def approve(run_id: str, job: str, environ: Mapping[str, str]) -> int:
    # Approvals live in the user's dockstep directory, not the workspace: a job could
    # write the workspace and approve its own deploy.
    if run_id.isdigit():
        with history(environ) as found:
            approving.approve(found, environ, int(run_id), job, f"cli {getpass.getuser()}")
        click.echo(f"approved {job} in run {run_id}")
        return 0
    path = session.approve(environ, run_id, job)
    click.echo(f"approved {job} in run {run_id} ({path})")
    return 0
