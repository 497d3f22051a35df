"""Deploys to a Swarm service (`SwarmDeployer`) over a fake swarm that converges as told:
created or updated by digest, waited for, and rolled back by the swarm."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import pytest

from runner.delivery import swarm_deploy
from runner.delivery.deploy import DeployFailed
from runner.delivery.swarm_deploy import SwarmDeployer, pinned
from runner.engine.labels import DEPLOYED_BY, SERVICE
from runner.engine.swarm.api import DeploySpec, Rollout
from runner.model.pipeline import Backend, Deploy, Environment
from runner.model.results import Deployment

REPO = "127.0.0.1:5000/web"
ONE = f"{REPO}@sha256:" + "1" * 64
TWO = f"{REPO}@sha256:" + "2" * 64
DEPLOY = Deploy(
    environment="staging", package="", service="web", host_network=True, target=Backend.SWARM
)
STAGING = Environment(name="staging")


@dataclass
class FakeSwarm:
    """One service at most; `converges` False: a new spec's task never runs, and `rolls_back`
    True: the swarm rolls an update back by itself."""

    converges: bool = True
    rolls_back: bool = False
    now: Rollout | None = None
    calls: list[str] = field(default_factory=list)
    specs: list[DeploySpec] = field(default_factory=list)

    def rollout(self, name: str) -> Rollout | None:
        return self.now

    def deploy_service(self, spec: DeploySpec) -> None:
        self.calls.append(f"deploy {spec.image}")
        self.specs.append(spec)
        before = self.now.image if self.now else None
        running = spec.image if self.converges else (self.now.running if self.now else None)
        self.now = Rollout(
            image=spec.image,
            previous_image=before,
            running=running,
            container="c-" + spec.image[-4:],
            update="updating" if before else "",
            message="",
        )
        if self.rolls_back and before:
            self.now = replace(self.now, image=before, update="rollback_started", message="boom")

    def rollback_service(self, name: str) -> None:
        self.calls.append("rollback")
        assert self.now is not None and self.now.previous_image is not None
        back = self.now.previous_image
        self.now = replace(self.now, image=back, running=back, update="rollback_started")

    def remove_service(self, service: str) -> None:
        self.calls.append("remove")
        self.now = None


def deploy(swarm: FakeSwarm, image: str, lines: list[str] | None = None) -> Deployment:
    say = (lines if lines is not None else []).append
    return SwarmDeployer(swarm, "run-1").deploy(
        DEPLOY, STAGING, image, say, env=(("A", "b"),), waiting=(threading.Event(), 1.0)
    )


def test_a_first_deploy_creates_the_service_and_waits_for_its_task() -> None:
    swarm, lines = FakeSwarm(), list[str]()
    deployment = deploy(swarm, ONE, lines)
    assert (deployment.image, deployment.previous, deployment.on_swarm) == (ONE, None, True)
    assert deployment.container == "c-1111"
    spec = swarm.specs[0]
    assert (spec.name, spec.host_network, spec.env, spec.command) == (
        "web",
        True,
        (("A", "b"),),
        (),
    )
    assert dict(spec.labels)[SERVICE] == "web" and dict(spec.labels)[DEPLOYED_BY] == "run-1"
    assert lines[-1] == f"deployed {ONE} as swarm service web to staging"


def test_a_failed_verification_rolls_the_update_back_with_the_swarm() -> None:
    swarm = FakeSwarm()
    deploy(swarm, ONE)
    second = deploy(swarm, TWO)
    assert (second.previous, second.previous_image) == ("web", ONE)
    lines: list[str] = []
    SwarmDeployer(swarm, "run-2").rollback(second, lines.append)
    assert swarm.calls == [f"deploy {ONE}", f"deploy {TWO}", "rollback"]
    assert swarm.now is not None and swarm.now.running == ONE
    assert "with the swarm's rollback" in lines[-1]


def test_a_first_deploy_rolled_back_is_removed() -> None:
    swarm = FakeSwarm()
    first = deploy(swarm, ONE)
    SwarmDeployer(swarm, "run-1").rollback(first, list[str]().append)
    assert swarm.calls[-1] == "remove" and swarm.now is None


def test_an_update_the_swarm_rolled_back_by_itself_fails_the_deploy() -> None:
    swarm = FakeSwarm()
    deploy(swarm, ONE)
    swarm.rolls_back = True
    with pytest.raises(DeployFailed, match="the swarm rolled web back: boom"):
        deploy(swarm, TWO)


def test_a_task_that_never_runs_fails_the_deploy_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(swarm_deploy, "POLL", 0.01)
    swarm = FakeSwarm(converges=False)
    with pytest.raises(DeployFailed, match=r"no task of web ran .* within 1s"):
        deploy(swarm, ONE)


def test_images_are_pinned_by_digest_or_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pinned(ONE) == ONE
    monkeypatch.setattr(swarm_deploy, "digest_of", lambda image: "sha256:" + "3" * 64)
    assert pinned(f"{REPO}:v1") == f"{REPO}@sha256:" + "3" * 64
    assert pinned("127.0.0.1:5000/web") == f"{REPO}@sha256:" + "3" * 64
    monkeypatch.setattr(swarm_deploy, "digest_of", lambda image: None)
    with pytest.raises(DeployFailed, match="by digest"):
        pinned(f"{REPO}:v1")
