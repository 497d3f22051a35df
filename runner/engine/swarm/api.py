"""A Docker Swarm as dockstep needs it, in dockstep's own value types.

`client.py` implements it with the Docker SDK; nothing above it imports `docker`. A job
becomes one service of one replica that is never restarted (on engine 20.10
`replicated-job` services leak their tasks on removal, moby#42789), its secrets and files
become Swarm secrets and configs, and everything carries the run's labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from runner.engine.api import Resource
from runner.errors import EngineUnavailable
from runner.model.pipeline import Pairs

TERMINAL = frozenset({"complete", "failed", "shutdown", "rejected", "orphaned", "remove"})


class SwarmUnavailable(EngineUnavailable):
    hint = (
        "The swarm backend needs this engine to be a Swarm manager: `docker swarm init "
        "--advertise-addr 127.0.0.1` makes a one-node swarm (scripts/setup.sh does it), or "
        "point DOCKER_HOST at a manager of your swarm."
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FileMount:
    """A Swarm secret or config, shown to the task as a file."""

    id: str
    name: str
    target: str  # a secret's is a name under /run/secrets; a config's an absolute path
    mode: int = 0o444


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A task on a network of the swarm (an attachable overlay), known there by `aliases`."""

    network: str  # the network's id
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthCheck:
    """The check the node runs in a task's container; the manager keeps the task `starting`
    until it passes. An empty `command` turns the image's own HEALTHCHECK off."""

    command: tuple[str, ...]
    interval: float  # seconds between checks


@dataclass(frozen=True, slots=True, kw_only=True)
class VolumeMount:
    """A named volume on the node that runs the task, created there (with these labels)
    the first time a task of that node mounts it; an empty one takes the content and owner
    of the image's directory at `target` (Docker's copy-up)."""

    name: str
    target: str
    labels: Pairs


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSpec:
    name: str
    image: str  # always REGISTRY/REPO@sha256:…: a task on another node pulls exactly that
    labels: Pairs
    command: tuple[str, ...] = ()  # replaces the image's entrypoint and command
    args: tuple[str, ...] = ()  # replaces only the image's command (kept: its entrypoint)
    workdir: str = ""
    env: Pairs = ()  # never a secret: the spec is readable by anyone who may inspect it
    user: str | None = None
    memory: int | None = None
    cpus: float | None = None
    pids: int | None = None
    secrets: tuple[FileMount, ...] = ()
    configs: tuple[FileMount, ...] = ()
    tmpfs: tuple[str, ...] = ()
    networks: tuple[Attachment, ...] = ()
    health: HealthCheck | None = None  # None: the image's own HEALTHCHECK, if it has one
    volumes: tuple[VolumeMount, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    state: str  # new, pending, …, running, complete, failed, rejected, shutdown, …
    exit_code: int | None
    error: str  # the manager's reason for a failed or rejected task ("" when none)

    @property
    def ended(self) -> bool:
        return self.state in TERMINAL


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLine:
    at: int  # nanoseconds since the epoch, as the node's log driver stamped it
    text: bytes  # one line, newline included


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploySpec:
    """A long-running service a deploy job creates or updates: it outlives the run, so it
    carries the deployed-service labels, never the run's."""

    name: str
    image: str  # REPO@sha256:…
    command: tuple[str, ...]  # the image's CMD (its ENTRYPOINT stays); () keeps it
    env: Pairs
    labels: Pairs
    host_network: bool  # on the node's network (and its 127.0.0.1), else on no network


@dataclass(frozen=True, slots=True, kw_only=True)
class Rollout:
    """A deployed service as the manager sees it now."""

    image: str  # what its spec asks for
    previous_image: str | None  # its previous spec's: what a rollback returns to
    running: str | None  # the image of the task running now (and meant to), if one is
    container: str  # that task's container ("" when none runs)
    update: str  # the update's state: updating, completed, rollback_started, … ("" none)
    message: str  # the manager's word on it


class Deployments(Protocol):
    def rollout(self, name: str) -> Rollout | None:
        """The service of this name, or None when there is none."""

    def deploy_service(self, spec: DeploySpec) -> None:
        """Create the service, or update it to this spec (its old spec kept for rollback);
        a new task that fails soon after starting makes the swarm roll back by itself."""

    def rollback_service(self, name: str) -> None:
        """`docker service rollback`: back to the spec before the last update."""

    def remove_service(self, service: str) -> None:
        """Remove a service and wait until the manager has no task of it left."""


class Swarm(Deployments, Protocol):
    def ping(self) -> None:
        """Raise SwarmUnavailable unless the engine is a Swarm manager."""

    def create_secret(self, name: str, data: bytes, labels: Pairs) -> str: ...

    def create_config(self, name: str, data: bytes, labels: Pairs) -> str: ...

    def create_network(self, name: str, labels: Pairs) -> str:
        """An attachable overlay network: tasks on any node, and services by alias; its id."""

    def remove_network(self, network: str) -> None:
        """Remove a network once no task holds it (the manager lets go a moment after the
        tasks are gone, so this waits for that)."""

    def create_service(self, spec: ServiceSpec) -> str:
        """Start a one-replica, never-restarted service; its id."""

    def remove_services(self, services: Sequence[str]) -> None:
        """Remove services together, then wait until no task of any is left: a task on an
        overlay network takes its node 2 s more to let go, paid once so. A refusal does not
        keep the others from going; the first is raised at the end."""

    def task(self, service: str) -> Task | None:
        """The service's task as the manager sees it now; None before it is scheduled."""

    def logs(self, service: str, since: int) -> list[LogLine]:
        """The lines logged at or after `since` (ns), stdout and stderr, oldest first."""

    def tail(self, service: str, lines: int) -> list[str]:
        """The last lines the service's task printed. The manager hands out the output of
        running tasks only, so a task that never passed its health check is read from its
        container when that is on this node; else one line says where it is."""

    def labelled(self, label: str) -> list[Resource]:
        """Every service, secret, config and overlay network carrying `label`."""

    def remove_resource(self, resource: Resource) -> None: ...
