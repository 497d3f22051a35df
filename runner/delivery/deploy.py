"""Deploys on the local engine: replace a named service container, and roll it back.

The container being replaced is stopped and kept as `<service>-previous` (with its image)
until the next deploy, so a failed start or a failed verification can bring it back.
Service containers outlive the run on purpose: they carry service labels, not run labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runner.engine.api import ContainerEngine, ContainerSpec
from runner.engine.labels import DEPLOYED_BY, ENVIRONMENT, SERVICE
from runner.errors import DockstepError, EngineError
from runner.model.pipeline import DeploySpec, Environment, Pairs, pairs


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment:
    service: str
    environment: str
    image: str
    container: str
    previous: str | None  # the kept container to roll back to, if there was one
    previous_image: str | None


class DeployFailed(DockstepError):
    pass


def previous_name(service: str) -> str:
    return f"{service}-previous"


class Deployer:
    def __init__(self, engine: ContainerEngine, run_id: str) -> None:
        self._engine = engine
        self._run_id = run_id

    def deploy(
        self,
        spec: DeploySpec,
        environment: Environment,
        image: str,
        say: Callable[[str], None],
        env: Pairs | None = None,
    ) -> Deployment:
        """`env`: the service's variables, expanded (default: environment < deploy, as written)."""
        backup = previous_name(spec.service)
        current = self._engine.find(spec.service)
        stale = self._engine.find(backup)
        if stale:
            self._engine.remove(stale.id)
        if current:
            self._engine.stop(current.id)
            self._engine.rename(current.id, backup)
            say(f"stopped {spec.service} ({current.image}), kept as {backup}")
        deployment = Deployment(
            service=spec.service,
            environment=environment.name,
            image=image,
            container="",
            previous=backup if current else None,
            previous_image=current.image if current else None,
        )
        try:
            container = self._engine.create(self._spec(spec, environment, image, env))
            self._engine.start(container)
        except EngineError as error:
            self.rollback(deployment, say)
            raise DeployFailed(f"{spec.service} did not start: {error}; rolled back") from error
        ports = ", ".join(f"127.0.0.1:{host}->{inner}" for host, inner in spec.ports)
        say(
            f"deployed {image} as {spec.service} to {environment.name}"
            + (f" ({ports})" if ports else "")
        )
        return Deployment(
            service=deployment.service,
            environment=deployment.environment,
            image=image,
            container=container,
            previous=deployment.previous,
            previous_image=deployment.previous_image,
        )

    def _spec(
        self, spec: DeploySpec, environment: Environment, image: str, env: Pairs | None
    ) -> ContainerSpec:
        labels: Pairs = pairs(
            {SERVICE: spec.service, ENVIRONMENT: environment.name, DEPLOYED_BY: self._run_id}
        )
        return ContainerSpec(
            image=image,
            name=spec.service,
            command=("sh", "-c", spec.command) if spec.command else (),
            labels=labels,
            network="bridge",
            workdir="",
            env=env if env is not None else pairs({**dict(environment.env), **dict(spec.env)}),
            ports=spec.ports,
        )

    def rollback(self, deployment: Deployment, say: Callable[[str], None]) -> None:
        """Remove the new container and bring the previous one back, if there was one."""
        failed = self._engine.find(deployment.service)
        if failed and failed.name == deployment.service:
            self._engine.remove(failed.id)
        if deployment.previous is None:
            say(f"rolled back: removed {deployment.service} (there was no previous version)")
            return
        self._engine.rename(deployment.previous, deployment.service)
        self._engine.start(deployment.service)
        image = deployment.previous_image or "?"
        say(f"rolled back {deployment.service} to the previous version ({image})")
