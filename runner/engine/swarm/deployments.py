"""Deployed services on a swarm, through the Docker SDK: created or updated by digest,
rolled back by the swarm itself.

The traps absorbed here: the SDK has no `docker service rollback`, so the Engine API's
`POST /services/{id}/update?rollback=previous` is sent on the client's own session; a
task's PID 1 that ignores SIGTERM (busybox httpd) holds an update for the default 10 s
grace, so tasks run with an init and a short grace; an update without
`fetch_current_spec` would drop everything not restated.
"""

from __future__ import annotations

from typing import Any

import docker
from docker.types import (
    ContainerSpec,
    NetworkAttachmentConfig,
    RestartPolicy,
    RollbackConfig,
    ServiceMode,
    TaskTemplate,
    UpdateConfig,
)

from runner.engine.swarm.api import DeploySpec, Rollout
from runner.engine.swarm.calls import call, gone
from runner.errors import EngineError

STOP_GRACE = 2_000_000_000  # ns between SIGTERM and SIGKILL when a task is replaced
MONITOR = 5_000_000_000  # ns a new task must stay up before an update counts as done
HOST_NETWORK = "host"
API_VERSION = "1.41"


def _template(spec: DeploySpec) -> TaskTemplate:
    container = ContainerSpec(
        spec.image,
        args=list(spec.command) or None,  # the image's entrypoint stays, as locally
        env=[f"{name}={value}" for name, value in spec.env],
        labels=dict(spec.labels),
        init=True,
        stop_grace_period=STOP_GRACE,
    )
    networks = [NetworkAttachmentConfig(HOST_NETWORK)] if spec.host_network else None
    return TaskTemplate(container, restart_policy=RestartPolicy("any"), networks=networks)


def _update_config() -> UpdateConfig:
    # a new task failing within MONITOR makes the swarm roll the service back by itself
    return UpdateConfig(parallelism=1, failure_action="rollback", monitor=MONITOR)


def _image_of(spec: dict[str, Any] | None) -> str | None:
    if not spec:
        return None
    return str(spec["TaskTemplate"]["ContainerSpec"]["Image"])


def _running(tasks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The task that runs now and is meant to (not one being shut down)."""
    live = [
        t for t in tasks if t.get("DesiredState") == "running" and t["Status"]["State"] == "running"
    ]
    return max(live, key=lambda t: str(t.get("CreatedAt", "")), default=None)


class DeployCalls:
    """`runner.engine.swarm.api.Deployments`, mixed into `SwarmClient`."""

    @property
    def api(self) -> docker.APIClient:
        raise NotImplementedError

    def rollout(self, name: str) -> Rollout | None:
        service = self._inspect(name)
        if service is None:
            return None
        tasks = call(
            "listing tasks",
            lambda: self.api.tasks(filters={"service": service["ID"]}),  # type: ignore[no-untyped-call]
        )
        task = _running(tasks)
        status = service.get("UpdateStatus") or {}
        return Rollout(
            image=_image_of(service["Spec"]) or "",
            previous_image=_image_of(service.get("PreviousSpec")),
            running=None if task is None else str(task["Spec"]["ContainerSpec"]["Image"]),
            container=str(
                (task or {}).get("Status", {}).get("ContainerStatus", {}).get("ContainerID", "")
            ),
            update=str(status.get("State", "")),
            message=str(status.get("Message", "")),
        )

    def deploy_service(self, spec: DeploySpec) -> None:
        current = self._inspect(spec.name)
        if current is None:
            call(
                f"creating service {spec.name}",
                lambda: self.api.create_service(  # type: ignore[no-untyped-call]
                    _template(spec),
                    name=spec.name,
                    labels=dict(spec.labels),
                    mode=ServiceMode("replicated", replicas=1),
                    update_config=_update_config(),
                    rollback_config=RollbackConfig(parallelism=1, monitor=MONITOR),
                ),
            )
            return
        call(
            f"updating service {spec.name}",
            lambda: self.api.update_service(
                current["ID"],
                current["Version"]["Index"],
                task_template=_template(spec),
                labels=dict(spec.labels),
                update_config=_update_config(),
                fetch_current_spec=True,
            ),
        )

    def rollback_service(self, name: str) -> None:
        current = self._inspect(name)
        if current is None:
            raise EngineError(f"service {name}: not there to roll back")

        url = f"{self.api.base_url}/v{API_VERSION}/services/{current['ID']}/update"
        params = {"version": current["Version"]["Index"], "rollback": "previous"}
        answer = call(
            f"rolling back service {name}",
            lambda: self.api.post(url, json=current["Spec"], params=params),
        )
        if answer.status_code >= 400:
            raise EngineError(f"rolling back service {name}: {answer.text.strip()}")

    def _inspect(self, name: str) -> dict[str, Any] | None:
        try:
            found = call(
                f"inspecting service {name}",
                lambda: self.api.inspect_service(name),  # type: ignore[no-untyped-call]
            )
        except EngineError as error:
            if gone(error):
                return None
            raise
        return dict(found)
