"""Deploys on the local engine: replace a named service container, and roll it back.

The container being replaced is stopped and kept as `<service>-previous` (with its image)
until the next deploy, so a failed start or a failed verification can bring it back.
Service containers outlive the run on purpose: they carry service labels, not run labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from runner.delivery.approvals import Gate
from runner.engine.api import Containers, ContainerSpec
from runner.engine.labels import DEPLOYED_BY, ENVIRONMENT, SERVICE
from runner.errors import DockstepError, EngineError
from runner.execute import environment as variables
from runner.execute.kinds import JobContext, Outcome
from runner.execute.settings import RunSettings
from runner.expr.interpolate import expand
from runner.model.pipeline import Backend, Deploy, Environment, Job, Pairs, pairs
from runner.model.results import Deployment, Status
from runner.progress import Phase, Stage

if TYPE_CHECKING:
    from runner.delivery.swarm_deploy import SwarmDeployer


class DeployFailed(DockstepError):
    pass


def previous_name(service: str) -> str:
    return f"{service}-previous"


class Deployer:
    def __init__(self, engine: Containers, run_id: str) -> None:
        self._engine = engine
        self._run_id = run_id

    def deploy(
        self,
        spec: Deploy,
        environment: Environment,
        image: str,
        say: Callable[[str], None],
        env: Pairs,
    ) -> Deployment:
        """`env`: the service's variables, expanded."""
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
        self, spec: Deploy, environment: Environment, image: str, env: Pairs
    ) -> ContainerSpec:
        labels: Pairs = pairs(
            {SERVICE: spec.service, ENVIRONMENT: environment.name, DEPLOYED_BY: self._run_id}
        )
        return ContainerSpec(
            image=image,
            name=spec.service,
            command=("sh", "-c", spec.command) if spec.command else (),
            labels=labels,
            network="host" if spec.host_network else "bridge",
            workdir="",
            env=env,
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


class DeployJob:
    """The `Deploy` kind: the image its package job made replaces the service container,
    or (`target: swarm`) becomes the swarm service's."""

    def __init__(
        self,
        engine: Containers,
        *,
        settings: RunSettings,
        environments: tuple[Environment, ...],
        gate: Gate,
        swarm: SwarmDeployer | None = None,
    ) -> None:
        self._settings = settings
        self._environments = {e.name: e for e in environments}
        self._gate = gate
        self._deployer = Deployer(engine, settings.run_id)
        self._swarm = swarm

    def cancel(self) -> None:
        self._gate.cancel()

    def run(self, job: Job, action: Deploy, context: JobContext) -> Outcome:
        image = self._image(job, action, context)
        environment = self._environments[action.environment]
        if environment.approval:
            context.log.phase(Phase(stage=Stage.APPROVAL))
            self._gate.wait(
                job.name,
                environment.name,
                context.log.line,
                timeout=job.timeout,
                stopped=context.slot.stopped,
            )
        env = variables.deploy_env(self._settings, job, environment, action)
        context.log.phase(Phase(stage=Stage.DEPLOY, detail=environment.name))
        if action.target is Backend.SWARM:
            deployment = self._to_swarm(job, action, environment, image, env=env, context=context)
        else:
            say = context.log.line
            deployment = self._deployer.deploy(action, environment, image, say, env=env)
        return Outcome(status=Status.PASSED, deployment=deployment)

    def _to_swarm(
        self,
        job: Job,
        action: Deploy,
        environment: Environment,
        image: str,
        *,
        env: Pairs,
        context: JobContext,
    ) -> Deployment:
        if self._swarm is None:
            raise DeployFailed(f"job {job.name!r} deploys to a swarm, but this run has none")
        return self._swarm.deploy(
            action,
            environment,
            image,
            context.log.line,
            env=env,
            waiting=(context.slot.stopped, job.timeout),
        )

    def _image(self, job: Job, action: Deploy, context: JobContext) -> str:
        """The package job's pushed digest, or the `image:` reference with its variables."""
        if action.image is not None:
            image = expand(action.image, variables.run_variables(self._settings))
            if not image:
                raise DeployFailed(f"job {job.name!r}: image {action.image!r} is empty here")
            return image
        upstream = context.inputs.get(action.package)
        packaged = upstream.packaged if upstream else None
        if packaged is None:
            raise DeployFailed(
                f"job {job.name!r}: package job {action.package!r} produced no image in this run"
            )
        return packaged.deployable
