"""`dockstep clean`: remove what runs whose process is gone left behind.

On a Swarm manager that includes the services, secrets, configs and overlay networks of
swarm runs (first: their services hold those networks); on the local engine, the run
networks of the pool that no run holds (the next run makes one again).
"""

from __future__ import annotations

import socket
from contextlib import closing

import click

from runner.engine import cleanup, labels, netpool
from runner.engine.api import Resource
from runner.engine.docker.engine import DockerEngine
from runner.engine.swarm.api import SwarmUnavailable
from runner.engine.swarm.client import SwarmClient


def clean(*, dry_run: bool = False) -> int:
    with closing(DockerEngine()) as engine:
        engine.ping()
        # the swarm first: its services hold the overlay networks the engine also lists
        swarm_found, swarm_problems = _clean_swarm(dry_run=dry_run)
        found = [r for r in cleanup.orphans(engine) if r.id not in {s.id for s in swarm_found}]
        problems = [] if dry_run else cleanup.remove(engine, found)
        pool, pool_problems = netpool.sweep_idle(engine, socket.gethostname(), dry_run=dry_run)
    for problem in (*problems, *pool_problems, *swarm_problems):
        click.echo(f"warning: {problem}", err=True)
    verb = "would remove" if dry_run else "removed"
    for resource in (*swarm_found, *found):
        run = resource.labels.get(labels.RUN, "?")
        click.echo(f"{verb} {resource.kind} {resource.name} (run {run})")
    for network in pool:
        click.echo(f"{verb} network {network.name} (idle in the pool)")
    click.echo(f"{verb} {len(found) + len(swarm_found)} resources of dead runs")
    return 0


def _clean_swarm(*, dry_run: bool) -> tuple[list[Resource], list[str]]:
    """The swarm's leftovers of dead runs; nothing when the engine is no Swarm manager."""
    with closing(SwarmClient()) as swarm:
        try:
            swarm.ping()
        except SwarmUnavailable:
            return [], []
        found = cleanup.orphans(swarm)
        return found, [] if dry_run else cleanup.remove(swarm, found)
