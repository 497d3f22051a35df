"""`dockstep clean`: remove what runs whose process is gone left behind."""

from __future__ import annotations

from contextlib import closing

import click

from runner.engine import cleanup, labels
from runner.engine.docker.engine import DockerEngine


def clean(*, dry_run: bool = False) -> int:
    with closing(DockerEngine()) as engine:
        engine.ping()
        found = cleanup.orphans(engine)
        problems = [] if dry_run else cleanup.remove(engine, found)
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    verb = "would remove" if dry_run else "removed"
    for resource in found:
        run = resource.labels.get(labels.RUN, "?")
        click.echo(f"{verb} {resource.kind} {resource.name} (run {run})")
    click.echo(f"{verb} {len(found)} resources of dead runs")
    return 0
