"""The engine side of one run: which runner runs each kind of job (the registry the
session injects), the run's own network and swarm, the scheduler, and the sweep on the way
out. `session.run` calls these; nothing here decides what a run means."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from runner.cache.layers import LayerCache
from runner.cancel import CancelToken
from runner.delivery.approvals import Gate, ManualJobs, record_gated
from runner.engine import cleanup
from runner.engine.api import ContainerEngine
from runner.engine.netpool import Lease, NetworkPool
from runner.errors import EngineLost, EngineUnavailable, UsageError
from runner.execute import environment
from runner.execute.budget import Budget
from runner.execute.images import ImageResolver
from runner.execute.install import Installer
from runner.execute.job import JobRunner
from runner.execute.kinds import KindRunner, Kinds
from runner.execute.scheduler import JobExecutor, Scheduler
from runner.execute.steps_job import StepsJob
from runner.model.pipeline import (
    Deploy,
    Job,
    Package,
    Pipeline,
    Steps,
    Verify,
)
from runner.model.results import JobResult
from runner.output import Console

if TYPE_CHECKING:
    from runner.delivery.swarm_deploy import SwarmDeployer
    from runner.engine.swarm.api import Swarm
    from runner.execute.swarm_job import SwarmStepsJob
    from runner.session import Prepared


def check_image_envs(engine: ContainerEngine, prepared: Prepared) -> None:
    """Names a job's env leaves to its image, checked against the image before any
    container starts, when the image is already on the engine (a build or a pull happens
    in the job: its image's env is checked there, before its install and first step)."""
    environments = {e.name: e for e in prepared.resolved.pipeline.environments}
    for planned in prepared.resolved.plan.runnable():
        action = planned.job.action
        if not isinstance(action, Steps) or action.image.build or not action.image.reference:
            continue
        if not environment.from_image(prepared.settings, planned.job, environments):
            continue
        image = engine.image_id(action.image.reference)
        if image is not None:
            settings = replace(prepared.settings, image_env=engine.image_env(image))
            environment.check_image(settings, planned.job, action.image.reference)


def _steps_runner(
    engine: ContainerEngine, prepared: Prepared, layers: LayerCache, swarm: Swarm | None
) -> StepsJob | SwarmStepsJob:
    """The runner of steps jobs: this engine's containers, or a swarm's tasks."""
    settings = prepared.settings
    images = ImageResolver(engine, settings)
    installer = Installer(engine, settings, layers)
    if swarm is None:
        return StepsJob(
            engine, images=images, installer=installer, settings=settings, clock=time.time
        )
    # a local run never loads the swarm backend (issue 14)
    from runner.execute.swarm_files import RunFiles  # noqa: PLC0415
    from runner.execute.swarm_job import SwarmStepsJob  # noqa: PLC0415
    from runner.execute.swarm_sidecars import SwarmSidecars  # noqa: PLC0415
    from runner.execute.swarm_workspace import WorkspaceImages  # noqa: PLC0415

    registry = prepared.resolved.request.registry or ""
    return SwarmStepsJob(
        swarm,
        images=images,
        installer=installer,
        workspace=WorkspaceImages(engine, settings, registry),
        sidecars=SwarmSidecars(swarm, engine, settings=settings, images=images, registry=registry),
        files=RunFiles(swarm, settings),
        settings=settings,
        registry=registry,
        clock=time.time,
    )


def _package(
    engine: ContainerEngine, prepared: Prepared, _gate: Gate, _swarm: Swarm | None
) -> KindRunner[Any]:
    from runner.delivery.package import PackageJob  # noqa: PLC0415 (only runs that package)

    resolved = prepared.resolved
    return PackageJob(
        engine,
        settings=prepared.settings,
        revision=resolved.revision,
        source=resolved.source,
        auth=prepared.auth,
    )


def _deploy(
    engine: ContainerEngine, prepared: Prepared, gate: Gate, swarm: Swarm | None
) -> KindRunner[Any]:
    from runner.delivery.deploy import DeployJob  # noqa: PLC0415 (only runs that deploy)

    environments = prepared.resolved.pipeline.environments
    return DeployJob(
        engine,
        settings=prepared.settings,
        environments=environments,
        gate=gate,
        swarm=_swarm_deployer(prepared, swarm),
    )


def _verify(
    engine: ContainerEngine, prepared: Prepared, _gate: Gate, swarm: Swarm | None
) -> KindRunner[Any]:
    from runner.delivery.verify import VerifyJob  # noqa: PLC0415 (only runs that verify)

    run_id = prepared.settings.run_id
    return VerifyJob(engine, run_id=run_id, swarm=_swarm_deployer(prepared, swarm))


def _swarm_deployer(prepared: Prepared, swarm: Swarm | None) -> SwarmDeployer | None:
    if swarm is None:
        return None
    from runner.delivery.swarm_deploy import SwarmDeployer  # noqa: PLC0415 (swarm deploys)

    return SwarmDeployer(swarm, prepared.settings.run_id)


DELIVERY = {Package: _package, Deploy: _deploy, Verify: _verify}


def _kinds(engine: ContainerEngine, prepared: Prepared, swarm: Swarm | None) -> Kinds:
    """One runner per kind of job the plan holds: what each `Job.action` type is run by.

    Only the kinds of this plan are made, so a run of steps jobs never imports delivery's
    modules (and their tenacity, http.client).
    """
    resolved, settings = prepared.resolved, prepared.settings
    runnable = (p.name for p in resolved.plan.runnable())
    record_gated(prepared.approvals, gated_jobs(resolved.pipeline, runnable))
    part = resolved.request.part_of  # approved under the orchestrated run's id
    gate = Gate(
        prepared.approvals,
        part.run_id if part else settings.run_id,
        interactive=resolved.request.interactive,
        approved=resolved.request.approve,
        pipeline=part.pipeline if part else None,
    )
    wanted = {type(p.job.action) for p in resolved.plan.jobs}
    kinds: dict[type, KindRunner[Any]] = {}
    if Steps in wanted:
        layers = LayerCache(engine, prepared.state_dir, enabled=resolved.request.use_cache)
        kinds[Steps] = _steps_runner(engine, prepared, layers, swarm)
    for kind, make in DELIVERY.items():
        if kind in wanted:
            kinds[kind] = make(engine, prepared, gate, swarm)
    return {kind: ManualJobs(runner, gate) for kind, runner in kinds.items()}


def execute(
    engine: ContainerEngine,
    prepared: Prepared,
    console: Console,
    token: CancelToken,
    *,
    lost: list[EngineLost],
    swarm: Swarm | None,
    budget: Budget | None = None,
) -> tuple[list[JobResult], bool]:
    """Schedule the plan; `budget`: the slots shared with the other pipelines of an
    orchestrated run (None: `--jobs` for this run alone)."""
    resolved = prepared.resolved
    runner = JobRunner(
        engine,
        kinds=_kinds(engine, prepared, swarm),
        console=console,
        workspace=prepared.settings.workspace,
        log_dir=prepared.run_dir,
        keep=prepared.keep,
    )
    console.prefix_width([p.name for p in resolved.plan.jobs])
    request = resolved.request
    executor = _Reusing(runner, {r.name: r for r in request.reuse}) if request.reuse else runner
    scheduler = Scheduler(
        executor,
        workers=request.workers,
        keep_going=request.keep_going,
        clock=time.time,
        budget=budget,
    )
    results = scheduler.run(resolved.plan, token)
    console.done()  # a job thread still stuck on the engine is no longer running
    if runner.engine_lost:
        lost.append(runner.engine_lost)
    return results, scheduler.interrupted


class _Reusing:
    """Hands back an earlier run's result for the jobs it holds and runs the others:
    `rerun --failed` keeps what passed (and its outputs, which downstream jobs read from
    the result) and runs only the failed jobs and what depends on them."""

    def __init__(self, runner: JobExecutor, reused: Mapping[str, JobResult]) -> None:
        self._runner = runner
        self._reused = reused

    def run(self, job: Job, inputs: Mapping[str, JobResult]) -> JobResult:
        found = self._reused.get(job.name)
        return found if found is not None else self._runner.run(job, inputs)

    def cancel(self, job: str) -> None:
        self._runner.cancel(job)

    def cancel_all(self) -> None:
        self._runner.cancel_all()


@contextmanager
def run_network(
    engine: ContainerEngine,
    prepared: Prepared,
    console: Console,
    *,
    create: bool,
    lost: list[EngineLost],
) -> Iterator[str]:
    """The run's network, leased from the pool; on the way out, everything labelled with
    the run id goes, and then the lease (the network stays for the next run).

    A run of package, deploy and verify jobs only starts no job container: no network.
    With DOCKSTEP_KEEP the run gets a network of its own, kept with its containers.
    An engine gone by then leaves the sweep to `dockstep clean` (or the next run's owner
    check): the run still ends, and reports the loss.
    """
    settings = prepared.settings
    pool = NetworkPool(engine, prepared.state_dir, socket.gethostname())
    lease = Lease(network=settings.network)
    try:
        if create and prepared.keep:
            engine.create_network(settings.network, settings.labels)
        elif create:
            lease = pool.lease(settings.network, settings.labels)
        yield lease.network
    finally:
        if not prepared.keep:
            _sweep(engine, settings.run_id, console, lost)
        pool.release(lease)


def _sweep(engine: ContainerEngine, run_id: str, console: Console, lost: list[EngineLost]) -> None:
    try:
        problems = cleanup.remove_run(engine, run_id)
    except EngineUnavailable as error:
        lost.append(error if isinstance(error, EngineLost) else EngineLost(str(error)))
        console.note(
            "warning: no engine to remove this run's containers and network from; "
            "`dockstep clean` removes them once it is back"
        )
        return
    for problem in problems:
        console.note(f"warning: {problem}; `dockstep clean` retries once this run ends")


@contextmanager
def swarm_door(prepared: Prepared, console: Console, swarm: Swarm | None) -> Iterator[Swarm | None]:
    """The swarm of a run whose steps jobs or deploys go to one (None for a local run); on
    the way out, every service, secret, config and overlay network labelled with the run id
    goes (deployed services carry no run id: they stay)."""
    if not prepared.resolved.pipeline.needs_swarm:
        yield None
        return
    if swarm is None:
        raise UsageError("this run needs a swarm, but no swarm was given to it")
    swarm.ping()
    try:
        yield swarm
    finally:
        if not prepared.keep:
            for problem in cleanup.sweep_run(swarm, prepared.settings.run_id):
                console.note(f"warning: {problem}; `dockstep clean` retries once this run ends")


def gated_jobs(pipeline: Pipeline, names: Iterable[str]) -> list[str]:
    """Which of these jobs wait for `dockstep approve`: manual ones, and deploys to
    environments with `approval: required`."""
    environments = {e.name: e for e in pipeline.environments}
    found = []
    for name in names:
        job = pipeline.job(name)
        deploy = job.action if isinstance(job.action, Deploy) else None
        if job.manual or (deploy is not None and environments[deploy.environment].approval):
            found.append(name)
    return found
