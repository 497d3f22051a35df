"""Who owns what dockstep created, and the sweep of what dead runs left.

The sweep works on any door that can list and remove what carries a label: the local
engine (containers, networks, volumes) and a Swarm manager (services, secrets, configs,
overlay networks). A resource belongs to a live run when its owner process still exists on
this host with the same start time (so a recycled pid is not mistaken for the owner).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from runner.engine.api import Resource, Resources
from runner.engine.labels import JOB, OWNER_HOST, OWNER_PID, OWNER_STARTED, RUN
from runner.errors import EngineError
from runner.model.pipeline import Pairs

KEEP_ENV = "DOCKSTEP_KEEP"  # set to 1 to keep containers and networks for debugging
# Services before the containers, networks and volumes they use; secrets and configs stay
# "in use" until the tasks of the services holding them are gone.
REMOVAL_ORDER = ("service", "container", "network", "volume", "secret", "config")


class Labelled(Protocol):
    def labelled(self, label: str) -> list[Resource]: ...

    def remove_resource(self, resource: Resource) -> None: ...


def _process_start(pid: int) -> str:
    """The kernel's start time of a process (clock ticks since boot), "" when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True, slots=True, kw_only=True)
class Owner:
    host: str
    pid: int
    started: str

    @classmethod
    def current(cls) -> Owner:
        pid = os.getpid()
        return cls(host=socket.gethostname(), pid=pid, started=_process_start(pid))

    def labels(self, run_id: str, job: str | None = None) -> Pairs:
        labels = {
            RUN: run_id,
            OWNER_HOST: self.host,
            OWNER_PID: str(self.pid),
            OWNER_STARTED: self.started,
        }
        if job:
            labels[JOB] = job
        return tuple(sorted(labels.items()))


def owner_alive(labels: dict[str, str] | object, host: str) -> bool:
    """Whether the run that made a resource may still be using it."""
    if not isinstance(labels, dict):
        return False
    if labels.get(OWNER_HOST) != host:
        return True  # another machine's run: not ours to judge
    pid = labels.get(OWNER_PID, "")
    if not pid.isdigit():
        return False
    started = _process_start(int(pid))
    return bool(started) and started == labels.get(OWNER_STARTED)


def _removal_order(resources: list[Resource]) -> list[Resource]:
    return sorted(resources, key=lambda r: REMOVAL_ORDER.index(r.kind))


def orphans(engine: Labelled, host: str | None = None) -> list[Resource]:
    """Resources of runs whose owner process is gone."""
    here = host or socket.gethostname()
    found = [r for r in engine.labelled(RUN) if not owner_alive(dict(r.labels), here)]
    return _removal_order(found)


def remove(engine: Labelled, resources: list[Resource]) -> list[str]:
    """Remove what can be removed; one refusal does not stop the rest. The refusals."""
    problems = []
    for resource in _removal_order(resources):
        try:
            engine.remove_resource(resource)
        except EngineError as error:
            problems.append(f"{resource.kind} {resource.name} was left behind: {error}")
    return problems


CREATES_WAIT = 30.0  # seconds a sweep waits for the run's creates still in flight


def remove_run(engine: Resources, run_id: str) -> list[str]:
    """Remove everything one run created, whatever state it is in; what could not go.

    Creates of the run still in flight are waited for first (and later ones refused), so
    a container or network on its way when the run was cancelled is removed too.
    """
    settled = engine.close_run(run_id, CREATES_WAIT)
    problems = sweep_run(engine, run_id)
    if not settled:
        problems.append(f"a create of run {run_id} was still in flight after {CREATES_WAIT:.0f}s")
    return problems


def sweep_run(engine: Labelled, run_id: str) -> list[str]:
    """Remove what carries the run's label (on the swarm: services, secrets, configs and
    overlay networks)."""
    return remove(engine, engine.labelled(f"{RUN}={run_id}"))
