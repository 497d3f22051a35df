"""`dockstep approve RUN JOB`: let a waiting deploy go ahead."""

from __future__ import annotations

from pathlib import Path

import click

from runner import approvals, gitinfo


def approve(run_id: str, job: str, cwd: Path) -> int:
    workspace = gitinfo.toplevel(cwd) or cwd
    path = approvals.approve(workspace / ".dockstep" / "runs", run_id, job)
    click.echo(f"approved {job} in run {run_id} ({path})")
    return 0
