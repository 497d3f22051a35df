"""`dockstep approve RUN JOB`: let a waiting deploy go ahead."""

from __future__ import annotations

from collections.abc import Mapping

import click

from runner import session


def approve(run_id: str, job: str, environ: Mapping[str, str]) -> int:
    # Approvals live in the user's dockstep directory, not the workspace: a job could
    # write the workspace and approve its own deploy.
    path = session.approve(environ, run_id, job)
    click.echo(f"approved {job} in run {run_id} ({path})")
    return 0
