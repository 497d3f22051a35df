"""The `Verify` kind: health checks and a baseline against a deployment of this run; a
failure rolls the deployment back (once, however many verify jobs fail on it): a local
one to its kept container, a swarm one with the swarm's own rollback."""

from __future__ import annotations

import threading

from runner.delivery import probes
from runner.delivery.deploy import Deployer, DeployFailed
from runner.delivery.swarm_deploy import SwarmDeployer
from runner.engine.api import Containers
from runner.execute.kinds import JobContext, Outcome
from runner.model.pipeline import Baseline, Job, Verify
from runner.model.results import Deployment, Measurements, Status


class VerifyJob:
    def __init__(
        self, engine: Containers, *, run_id: str, swarm: SwarmDeployer | None = None
    ) -> None:
        self._engine = engine
        self._deployer = Deployer(engine, run_id)
        self._swarm = swarm
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._rolled_back: set[str] = set()

    def cancel(self) -> None:
        self._cancelled.set()

    def run(self, job: Job, action: Verify, context: JobContext) -> Outcome:
        upstream = context.inputs.get(action.deployment)
        deployment = upstream.deployment if upstream else None
        if deployment is None:
            raise DeployFailed(
                f"job {job.name!r}: {action.deployment!r} deployed nothing in this run"
            )
        baseline = None
        try:
            problem = self._checks(action, deployment, context)
            if problem is None and action.baseline is not None:
                baseline = probes.measure(action.baseline)
                _report(baseline, action.baseline, context)
                problem = probes.over_budget(baseline, action.baseline)
        except ValueError as error:  # e.g. a URL the standard library refuses
            problem = f"{error.__class__.__name__}: {error}"
        if problem is None:
            return Outcome(status=Status.PASSED, baseline=baseline)
        if self._cancelled.is_set() or context.slot.stopped_because is Status.CANCELLED:
            # interrupted, not found unhealthy: leave the deployment as it is
            return Outcome(status=Status.CANCELLED, reason="cancelled during verification")
        context.log.line(f"verification failed: {problem}")
        with self._lock:  # two verify jobs failing on one deployment roll it back once
            first = action.deployment not in self._rolled_back
            self._rolled_back.add(action.deployment)
        if first:
            self._rollback(deployment, context)
        return Outcome(
            status=Status.FAILED,
            reason=f"{problem}; rolled back",
            baseline=baseline,
            rolled_back=True,
        )

    def _rollback(self, deployment: Deployment, context: JobContext) -> None:
        if not deployment.on_swarm:
            self._deployer.rollback(deployment, context.log.line)
        elif self._swarm is None:
            raise DeployFailed(f"{deployment.service} is a swarm service, and this run has none")
        else:
            self._swarm.rollback(deployment, context.log.line)

    def _checks(self, action: Verify, deployment: Deployment, context: JobContext) -> str | None:
        for check in action.checks:
            probe = probes.probe_for(check, self._engine, deployment.container)
            problem = probes.until_healthy(probe, check, sleep=context.slot.stopped.wait)
            if problem:
                return problem
            context.log.line(f"healthy: {check.kind.value} {check.target}")
        return None


def _report(measured: Measurements, budget: Baseline, context: JobContext) -> None:
    context.log.line(
        f"baseline {budget.url}: {measured.requests} requests, "
        f"p50 {measured.p50 * 1000:.1f} ms, p95 {measured.p95 * 1000:.1f} ms, "
        f"errors {measured.error_rate:.1%}"
    )
