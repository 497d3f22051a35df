"""Package, deploy and verify jobs: they drive the engine from dockstep itself, no steps.

Results flow between them through this object: a package job records the digests it
pushed, a deploy job deploys its package's digest and records the deployment, and a
verify job checks that deployment and rolls it back when a check or the baseline fails.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.delivery import registry
from runner.delivery.approvals import Gate
from runner.delivery.deploy import Deployer, Deployment
from runner.delivery.verify import measure, probe_for, until_healthy
from runner.engine.api import BuildRequest, ContainerEngine
from runner.errors import DockstepError, EngineError
from runner.execute.slot import ContainerSlot
from runner.expr.interpolate import expand
from runner.git import Revision
from runner.model.pipeline import Environment, Job, Pairs, pairs
from runner.model.results import Status
from runner.output import JobLog

PACKAGE_REPOSITORY = "dockstep-package"


@dataclass(frozen=True, slots=True, kw_only=True)
class Packaged:
    image: str  # the local image id
    pushed: tuple[str, ...]  # REGISTRY/REPO@sha256:… for each repository pushed to


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivered:
    status: Status
    reason: str | None = None
    outputs: Pairs = ()


class DeliveryFailed(DockstepError):
    pass


class Delivery:
    def __init__(
        self,
        engine: ContainerEngine,
        *,
        workspace: Path,
        run_id: str,
        environments: tuple[Environment, ...],
        variables: Mapping[str, str],
        revision: Revision,
        source: str,
        gate: Gate,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self._engine = engine
        self._workspace = workspace
        self._run_id = run_id
        self._environments = {e.name: e for e in environments}
        self._variables = variables
        self._revision = revision
        self._source = source
        self._gate = gate
        self._auth = auth
        self._deployer = Deployer(engine, run_id)
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._packaged: dict[str, Packaged] = {}
        self._deployed: dict[str, Deployment] = {}
        self._rolled_back: set[str] = set()
        self._slots: dict[str, ContainerSlot] = {}

    def cancel(self) -> None:
        self._cancelled.set()
        self._gate.cancel()

    def run(self, job: Job, log: JobLog, slot: ContainerSlot | None = None) -> Delivered:
        """`slot` carries the job's own stop (its timeout, a fail-fast cancel): waits end
        when it is set. Delivery jobs have no container of their own."""
        with self._lock:
            self._slots[job.name] = slot or ContainerSlot(self._engine)
        try:
            if job.package:
                return self._package(job, log)
            if job.deploy:
                return self._deploy(job, log)
            return self._verify(job, log)
        except (DockstepError, EngineError) as error:
            log.line(f"error: {error}")
            return Delivered(status=Status.FAILED, reason=str(error))
        except (OSError, ValueError) as error:  # e.g. a URL the standard library refuses
            log.line(f"error: {error!r}")
            return Delivered(status=Status.FAILED, reason=f"{error.__class__.__name__}: {error}")

    def _package(self, job: Job, log: JobLog) -> Delivered:
        spec = job.package
        assert spec is not None
        tags = registry.image_tags(spec, self._revision) or [f"run-{self._run_id}"]
        labels = {**registry.oci_labels(self._revision, self._source), **dict(spec.labels)}
        request = BuildRequest(
            context=str((self._workspace / spec.context).resolve()),
            dockerfile=spec.dockerfile,
            tag=f"{PACKAGE_REPOSITORY}/{job.name}:{tags[0]}",
            args=pairs({k: expand(v, self._variables) for k, v in spec.args}),
            target=spec.target,
            labels=pairs(labels),
        )
        log.line(f"building {spec.context} as {request.tag}")
        image = self._engine.build(request, log.write)
        pushed = tuple(self._push(job, image, repository, tags, log) for repository in spec.push)
        with self._lock:
            self._packaged[job.name] = Packaged(image=image, pushed=pushed)
        outputs = {"image": image, "tags": " ".join(tags), "pushed": " ".join(pushed)}
        return Delivered(status=Status.PASSED, outputs=pairs(outputs))

    def _push(self, job: Job, image: str, repository: str, tags: list[str], log: JobLog) -> str:
        assert job.package is not None
        digest = ""
        for tag in tags:
            reference = f"{repository}:{tag}"
            self._engine.tag(image, reference)
            digest = registry.push(
                self._engine,
                reference,
                job.package.retry,
                sleep=lambda seconds: self._pause(job, seconds),
                log=log.line,
                auth=self._auth,
            )
            log.line(f"pushed {reference} ({digest})")
        return f"{repository}@{digest}"

    def _stopped(self, job: Job) -> threading.Event:
        with self._lock:
            return self._slots[job.name].stopped

    def _pause(self, job: Job, seconds: float) -> None:
        if self._stopped(job).wait(seconds) or self._cancelled.is_set():
            raise DeliveryFailed("stopped while waiting to retry")

    def _deploy(self, job: Job, log: JobLog) -> Delivered:
        spec = job.deploy
        assert spec is not None
        with self._lock:
            packaged = self._packaged.get(spec.package)
        if packaged is None:
            raise DeliveryFailed(
                f"job {job.name!r}: package job {spec.package!r} produced no image in this run"
            )
        environment = self._environments[spec.environment]
        if environment.approval:
            self._gate.wait(job.name, environment.name, log.line, timeout=job.timeout)
        image = packaged.pushed[0] if packaged.pushed else packaged.image
        env = {k: expand(v, self._variables) for k, v in (*environment.env, *spec.env)}
        deployment = self._deployer.deploy(spec, environment, image, log.line, env=pairs(env))
        with self._lock:
            self._deployed[job.name] = deployment
        outputs = {
            "service": deployment.service,
            "environment": environment.name,
            "image": image,
            "previous": deployment.previous_image or "",
        }
        return Delivered(status=Status.PASSED, outputs=pairs(outputs))

    def _verify(self, job: Job, log: JobLog) -> Delivered:
        spec = job.verify
        assert spec is not None
        with self._lock:
            deployment = self._deployed.get(spec.deployment)
        if deployment is None:
            raise DeliveryFailed(
                f"job {job.name!r}: {spec.deployment!r} deployed nothing in this run"
            )
        outputs: dict[str, str] = {}
        problem = self._checks(job, deployment, log) or self._baseline(job, outputs, log)
        if problem is None:
            return Delivered(status=Status.PASSED, outputs=pairs(outputs))
        with self._lock:
            why = self._slots[job.name].stopped_because
        if self._cancelled.is_set() or why is Status.CANCELLED:
            # interrupted, not found unhealthy: leave the deployment as it is
            return Delivered(status=Status.CANCELLED, reason="cancelled during verification")
        log.line(f"verification failed: {problem}")
        with self._lock:  # two verify jobs failing on one deployment roll it back once
            first = spec.deployment not in self._rolled_back
            self._rolled_back.add(spec.deployment)
        if first:
            self._deployer.rollback(deployment, log.line)
        outputs["rolled_back"] = "true"
        return Delivered(
            status=Status.FAILED, reason=f"{problem}; rolled back", outputs=pairs(outputs)
        )

    def _checks(self, job: Job, deployment: Deployment, log: JobLog) -> str | None:
        assert job.verify is not None
        for check in job.verify.checks:
            probe = probe_for(check, self._engine, deployment.container)
            problem = until_healthy(probe, check, sleep=self._stopped(job).wait)
            if problem:
                return problem
            log.line(f"healthy: {check.kind.value} {check.target}")
        return None

    def _baseline(self, job: Job, outputs: dict[str, str], log: JobLog) -> str | None:
        assert job.verify is not None
        budget = job.verify.baseline
        if budget is None:
            return None
        measured = measure(budget)
        outputs.update(
            {
                "requests": str(measured.requests),
                "p50_ms": f"{measured.p50 * 1000:.2f}",
                "p95_ms": f"{measured.p95 * 1000:.2f}",
                "error_rate": f"{measured.error_rate:.4f}",
            }
        )
        log.line(
            f"baseline {budget.url}: {measured.requests} requests, "
            f"p50 {measured.p50 * 1000:.1f} ms, p95 {measured.p95 * 1000:.1f} ms, "
            f"errors {measured.error_rate:.1%}"
        )
        return measured.over_budget(budget)
