"""Deploys to a Swarm service (`deploy: {target: swarm}`, or any deploy of a swarm run).

The service is created, or updated to the new image by digest (what every node pulls is
exactly what was pushed); the swarm keeps the spec it replaced and rolls back to it by
itself when the new task fails soon after starting, and on `rollback` when verification
fails (`docker service rollback`). Like a local deploy the service outlives the run: it
carries the deployed-service labels, not the run's, so neither the run's sweep nor
`dockstep clean` removes it.

A swarm deploy publishes no ports (Swarm would publish them on every address of every
node): with `network: host` the service listens where its command says, e.g.
127.0.0.1:8000 on the node running it, which is where a one-node swarm's checks reach it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from runner.delivery.deploy import DeployFailed
from runner.engine.labels import DEPLOYED_BY, ENVIRONMENT, SERVICE
from runner.engine.swarm.api import Deployments, DeploySpec, Rollout
from runner.engine.swarm.registry import digest_of
from runner.model.pipeline import Deploy, Environment, Pairs, pairs
from runner.model.results import Deployment

WAIT = 120.0  # seconds for a task of the new spec to run, unless the job's timeout is shorter
POLL = 0.25
DIGEST = "@sha256:"


def pinned(image: str) -> str:
    """REPO@sha256:…, asking the registry for a tag's digest when the image has none."""
    if DIGEST in image:
        return image
    digest = digest_of(image)
    if digest is None:
        raise DeployFailed(
            f"a swarm deploy runs an image by digest, and no registry on this machine gave "
            f"one for {image!r}; deploy a package job's push, or an image as REPO@sha256:…"
        )
    return f"{image.rpartition(':')[0] if _tagged(image) else image}@{digest}"


def _tagged(image: str) -> bool:
    return ":" in image.rpartition("/")[2]


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiting:
    """How long a deploy or a rollback waits for its task, and what stops the wait."""

    stopped: threading.Event
    timeout: float = WAIT


class SwarmDeployer:
    def __init__(self, swarm: Deployments, run_id: str) -> None:
        self._swarm = swarm
        self._run_id = run_id

    def deploy(
        self,
        spec: Deploy,
        environment: Environment,
        image: str,
        say: Callable[[str], None],
        *,
        env: Pairs,
        waiting: tuple[threading.Event, float | None],
    ) -> Deployment:
        """`waiting`: what stops the wait for the new task, and the job's timeout."""
        stopped, timeout = waiting
        image = pinned(image)
        before = self._swarm.rollout(spec.service)
        self._swarm.deploy_service(self._spec(spec, environment, image, env))
        verb = "updated" if before else "created"
        say(f"{verb} swarm service {spec.service} to {image}; waiting for its task to run")
        now = self._wait_for(spec.service, image, Waiting(stopped=stopped, timeout=timeout or WAIT))
        say(f"deployed {image} as swarm service {spec.service} to {environment.name}")
        return Deployment(
            service=spec.service,
            environment=environment.name,
            image=image,
            container=now.container,
            previous=spec.service if before else None,
            previous_image=before.image if before else None,
            on_swarm=True,
        )

    def _spec(self, spec: Deploy, environment: Environment, image: str, env: Pairs) -> DeploySpec:
        labels = {SERVICE: spec.service, ENVIRONMENT: environment.name, DEPLOYED_BY: self._run_id}
        return DeploySpec(
            name=spec.service,
            image=image,
            command=("sh", "-c", spec.command) if spec.command else (),
            env=env,
            labels=pairs(labels),
            host_network=spec.host_network,
        )

    def rollback(self, deployment: Deployment, say: Callable[[str], None]) -> None:
        """The swarm's own rollback to the spec before this deploy; with none, removal."""
        if deployment.previous is None or deployment.previous_image is None:
            self._swarm.remove_service(deployment.service)
            say(f"rolled back: removed {deployment.service} (there was no previous version)")
            return
        self._swarm.rollback_service(deployment.service)
        self._wait_for(deployment.service, deployment.previous_image, Waiting(stopped=_NEVER))
        say(
            f"rolled back {deployment.service} to the previous version "
            f"({deployment.previous_image}) with the swarm's rollback"
        )

    def _wait_for(self, service: str, image: str, waiting: Waiting) -> Rollout:
        """Until a task of `image` runs (and is meant to); a swarm that rolled the update
        back by itself, or a task that never runs, fails the deploy."""
        deadline = time.monotonic() + waiting.timeout
        while True:
            now = self._swarm.rollout(service)
            if now is None:
                raise DeployFailed(f"swarm service {service} is gone")
            if now.update.startswith("rollback") and now.image != image:
                raise DeployFailed(f"the swarm rolled {service} back: {now.message}")
            if now.running == image:
                return now
            if time.monotonic() > deadline:
                raise DeployFailed(f"no task of {service} ran {image} within {waiting.timeout:g}s")
            if waiting.stopped.wait(POLL):
                raise DeployFailed(f"stopped while waiting for {service} to run {image}")


_NEVER = threading.Event()  # a rollback is not interrupted: it is what leaves things sound
