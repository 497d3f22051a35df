"""The Docker SDK's Swarm calls, translated into dockstep's types and errors.

The traps absorbed here: a service's tasks cannot be listed by service once it is removed
(404), so removal polls every task of the swarm for the service id; logs need a stream
chosen and the json-file or local driver; a removed service's secrets and configs stay "in
use" until its tasks are gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any

import docker
import docker.errors
from docker.types import (
    ConfigReference,
    ContainerSpec,
    DriverConfig,
    EndpointSpec,
    Healthcheck,
    Mount,
    NetworkAttachmentConfig,
    Resources,
    RestartPolicy,
    SecretReference,
    ServiceMode,
    TaskTemplate,
)
from docker.utils import kwargs_from_env

from runner.engine.api import Resource
from runner.engine.swarm.api import (
    HealthCheck,
    LogLine,
    ServiceSpec,
    SwarmUnavailable,
    Task,
)
from runner.engine.swarm.calls import call, gone
from runner.engine.swarm.deployments import DeployCalls
from runner.errors import EngineError
from runner.model.pipeline import Pairs

API_VERSION = "1.41"
LOG_DRIVER = "json-file"  # service logs need json-file (or local)
STOP_GRACE = 2_000_000_000  # ns between SIGTERM and SIGKILL when a task is stopped
GONE_POLL = 0.1
GONE_WAIT = 60.0
PROBE_TIMEOUT = 30_000_000_000  # ns one readiness check may take
PROBE_RETRIES = 1_000_000  # never "unhealthy": the job's readiness timeout decides
MIN_INTERVAL = 0.001  # seconds: the engine refuses a shorter health-check interval


def nanoseconds(stamp: str) -> int:
    """An RFC 3339 time with up to nine fractional digits, as ns since the epoch."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(whole + "+00:00").timestamp()
    return int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9])


def _line(chunk: bytes) -> LogLine:
    stamp, _, text = chunk.partition(b" ")
    return LogLine(at=nanoseconds(stamp.decode()), text=text)


def _spec(spec: ServiceSpec) -> TaskTemplate:
    container = ContainerSpec(
        spec.image,
        command=list(spec.command) or None,
        args=list(spec.args) or None,
        env=[f"{name}={value}" for name, value in spec.env],
        workdir=spec.workdir,
        user=spec.user,
        labels=dict(spec.labels),
        init=True,
        stop_grace_period=STOP_GRACE,
        secrets=[
            SecretReference(s.id, s.name, filename=s.target, mode=s.mode) for s in spec.secrets
        ],
        configs=[
            ConfigReference(c.id, c.name, filename=c.target, mode=c.mode) for c in spec.configs
        ],
        mounts=[
            *(Mount(target, None, type="tmpfs") for target in spec.tmpfs),
            *(Mount(v.target, v.name, type="volume", labels=dict(v.labels)) for v in spec.volumes),
        ],
        healthcheck=None if spec.health is None else _health(spec.health),
    )
    resources = Resources(
        mem_limit=spec.memory, cpu_limit=int(spec.cpus * 1e9) if spec.cpus else None
    )
    if spec.pids is not None:  # the SDK's Resources has no argument for it; API 1.41 has
        resources.setdefault("Limits", {})["Pids"] = spec.pids
    return TaskTemplate(
        container,
        resources=resources,
        restart_policy=RestartPolicy("none"),
        log_driver=DriverConfig(LOG_DRIVER),
        networks=[
            NetworkAttachmentConfig(a.network, aliases=list(a.aliases)) for a in spec.networks
        ]
        or None,
    )


def _health(check: HealthCheck) -> Healthcheck:
    if not check.command:
        return Healthcheck(test=["NONE"])
    return Healthcheck(
        test=["CMD", *check.command],
        interval=int(max(check.interval, MIN_INTERVAL) * 1e9),
        timeout=PROBE_TIMEOUT,
        retries=PROBE_RETRIES,
    )


class SwarmClient(DeployCalls):
    """`runner.engine.swarm.api.Swarm` over the Docker SDK's low-level API."""

    def __init__(self, *, timeout: int = 120) -> None:
        self._timeout = timeout

    @cached_property
    def api(self) -> docker.APIClient:
        def connect() -> docker.APIClient:
            kwargs = kwargs_from_env()
            return docker.APIClient(version=API_VERSION, timeout=self._timeout, **kwargs)

        return call("connecting to Docker", connect)

    def close(self) -> None:
        if "api" in self.__dict__:
            self.api.close()

    def ping(self) -> None:
        info = call("asking the engine about its swarm", self.api.info)
        swarm = info.get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
            state = swarm.get("LocalNodeState") or "unknown"
            raise SwarmUnavailable(f"this Docker engine is not a Swarm manager (swarm: {state})")

    def create_secret(self, name: str, data: bytes, labels: Pairs) -> str:
        created = call(
            f"creating secret {name}",
            lambda: self.api.create_secret(name, data, labels=dict(labels)),
        )
        return str(created["ID"])

    def create_config(self, name: str, data: bytes, labels: Pairs) -> str:
        created = call(
            f"creating config {name}",
            lambda: self.api.create_config(name, data, labels=dict(labels)),
        )
        return str(created["ID"])

    def create_network(self, name: str, labels: Pairs) -> str:
        created = call(
            f"creating network {name}",
            lambda: self.api.create_network(
                name, driver="overlay", attachable=True, labels=dict(labels)
            ),
        )
        return str(created["Id"])

    def remove_network(self, network: str) -> None:
        deadline = time.monotonic() + GONE_WAIT
        while True:
            try:
                call(f"removing network {network}", lambda: self.api.remove_network(network))
                return
            except EngineError as error:  # "has active endpoints" until the manager lets go
                if gone(error):
                    return
                if time.monotonic() > deadline:
                    raise
            time.sleep(GONE_POLL)

    def create_service(self, spec: ServiceSpec) -> str:
        created = call(
            f"creating service {spec.name}",
            lambda: self.api.create_service(  # type: ignore[no-untyped-call]
                _spec(spec),
                name=spec.name,
                labels=dict(spec.labels),
                mode=ServiceMode("replicated", replicas=1),
                # a service's name resolves to its task's address: no virtual IP, which
                # needs IPVS on every node and adds nothing for one replica
                endpoint_spec=EndpointSpec(mode="dnsrr"),
            ),
        )
        return str(created["ID"])

    def task(self, service: str) -> Task | None:
        found = call(
            "listing tasks",
            lambda: self.api.tasks(filters={"service": service}),  # type: ignore[no-untyped-call]
        )
        if not found:
            return None
        status = max(found, key=lambda t: str(t.get("CreatedAt", "")))["Status"]
        code = (status.get("ContainerStatus") or {}).get("ExitCode")
        return Task(
            state=str(status.get("State", "")),
            exit_code=None if code is None else int(code),
            error=str(status.get("Err") or ""),
        )

    def logs(self, service: str, since: int) -> list[LogLine]:
        seconds, fraction = divmod(since, 1_000_000_000)
        chunks = call(
            "reading the service's logs",
            lambda: list(
                self.api.service_logs(
                    service,
                    stdout=True,
                    stderr=True,
                    timestamps=True,
                    since=f"{seconds}.{fraction:09d}",  # type: ignore[arg-type]
                    is_tty=False,
                )
            ),
        )
        return [_line(chunk) for chunk in chunks if chunk]

    def tail(self, service: str, lines: int) -> list[str]:
        chunks = call(
            "reading the service's logs",
            lambda: list(
                self.api.service_logs(
                    service, stdout=True, stderr=True, tail=str(lines), is_tty=False
                )
            ),
        )
        if chunks:
            return b"".join(chunks).decode(errors="replace").splitlines()[-lines:]
        return self._container_tail(service, lines)

    def _container_tail(self, service: str, lines: int) -> list[str]:
        found = call(
            "listing tasks",
            lambda: self.api.tasks(filters={"service": service}),  # type: ignore[no-untyped-call]
        )
        if not found:
            return []
        task = max(found, key=lambda t: str(t.get("CreatedAt", "")))
        container = ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID")
        if not container:
            return []
        here = call("asking the engine about its swarm", self.api.info)["Swarm"]["NodeID"]
        if task.get("NodeID") != here:
            where = f"node {task.get('NodeID', '?')}: docker logs {container[:12]}"
            return [f"(its output stays on {where}, until the service is removed)"]
        output = call(
            "reading the task's container output",
            lambda: self.api.logs(container, stdout=True, stderr=True, tail=lines),
        )
        return bytes(output).decode(errors="replace").splitlines()[-lines:]

    def remove_service(self, service: str) -> None:
        self.remove_services([service])

    def remove_services(self, services: Sequence[str]) -> None:
        problems: list[EngineError] = []  # one refusal does not keep the others
        for step in (self._remove, self._waitgone):
            for service in services:
                try:
                    step(service)
                except EngineError as error:
                    problems.append(error)
        if problems:
            raise problems[0]

    def _remove(self, service: str) -> None:
        try:
            call(
                f"removing service {service}",
                lambda: self.api.remove_service(service),  # type: ignore[no-untyped-call]
            )
        except EngineError as error:
            if not gone(error):
                raise

    def _waitgone(self, service: str) -> None:
        """Poll until no task of the service is left anywhere in the swarm, nor a container
        of it on this node (the manager forgets a task before its node removed the container)."""
        deadline = time.monotonic() + GONE_WAIT
        while self._containers_of(service) or any(
            t.get("ServiceID") == service for t in self._all_tasks()
        ):
            if time.monotonic() > deadline:
                raise EngineError(f"service {service}: its tasks were still there after removal")
            time.sleep(GONE_POLL)

    def _containers_of(self, service: str) -> list[dict[str, Any]]:
        filters = {"label": f"com.docker.swarm.service.id={service}"}
        return list(
            call("listing containers", lambda: self.api.containers(all=True, filters=filters))
        )

    def _all_tasks(self) -> list[dict[str, Any]]:
        return list(call("listing tasks", self.api.tasks))

    def labelled(self, label: str) -> list[Resource]:
        filters = {"label": label}
        listings: list[tuple[str, Callable[[], Any]]] = [
            ("service", lambda: self.api.services(filters=filters)),  # type: ignore[no-untyped-call]
            ("secret", lambda: self.api.secrets(filters=filters)),
            ("config", lambda: self.api.configs(filters=filters)),  # type: ignore[no-untyped-call]
        ]
        found = [
            Resource(
                kind=kind,
                id=str(item["ID"]),
                name=str(item["Spec"]["Name"]),
                labels=item["Spec"].get("Labels") or {},
            )
            for kind, listing in listings
            for item in call(f"listing {kind}s", listing)
        ]
        overlays = {**filters, "driver": "overlay"}  # a run's bridge is the local engine's
        networks = call("listing networks", lambda: self.api.networks(filters=overlays))
        return found + [
            Resource(kind="network", id=n["Id"], name=n["Name"], labels=n.get("Labels") or {})
            for n in networks
        ]

    def remove_resource(self, resource: Resource) -> None:
        if resource.kind == "service":
            self.remove_service(resource.id)
            return
        if resource.kind == "network":
            self.remove_network(resource.id)
            return
        remove = self.api.remove_secret if resource.kind == "secret" else self.api.remove_config
        try:
            call(f"removing {resource.kind} {resource.name}", lambda: remove(resource.id))
        except EngineError as error:
            if not gone(error):
                raise
