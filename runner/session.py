"""One run end to end, as a library call: `RunRequest` in, `RunResult` out.

The engine, the console and the cancel token come from the caller, so a run can go on a
worker thread of a service and be cancelled from an HTTP call; nothing here touches
signals, stdin, stdout or the process's exit. `plan`, `graph` and `cache key` use
`resolve`, the same request and the same `if:` context as `run`, so they never disagree
about what a run would do.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runner import context, finish, git, paths, report, running
from runner.cache.keys import CacheKey
from runner.cache.layers import LayerCache
from runner.cancel import CancelToken
from runner.delivery import approvals, registry
from runner.engine import cleanup
from runner.engine.api import ContainerEngine
from runner.errors import EngineLost, UsageError
from runner.execute import environment
from runner.execute.budget import Budget
from runner.execute.builds import proxy_variables
from runner.execute.containers import host_user
from runner.execute.images import ImageResolver, ResolvedImage
from runner.execute.install import Installer
from runner.execute.settings import RunSettings
from runner.format.load import load_pipeline
from runner.model.events import Event
from runner.model.pipeline import (
    Backend,
    Pairs,
    Pipeline,
    Steps,
    pairs,
)
from runner.model.results import JobResult, UpstreamArtifacts
from runner.output import Console
from runner.plan.plan import Plan, Selection, plan
from runner.plan.triggers import Decision, match
from runner.secrets import Masker, read_secrets, unmasked_warnings

if TYPE_CHECKING:
    from runner.engine.swarm.api import Swarm


@dataclass(frozen=True, slots=True, kw_only=True)
class PartOf:
    """A session that runs one pipeline of an orchestrated run."""

    run_id: str  # the orchestrated run's id: what `dockstep approve RUN pipeline/job` takes
    pipeline: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRequest:
    pipeline: Path
    jobs: tuple[str, ...] = ()
    workers: int = 4
    keep_going: bool = False
    report_file: Path | None = None
    junit_file: Path | None = None  # --junit: the results as JUnit XML too
    allow_unpinned: bool = False
    variables: Pairs = ()
    # what started the run; None: nothing said (`if:` sees push, and `on:` is not consulted)
    event: Event | None = None
    force: bool = False  # run even when the event does not match the pipeline's `on:`
    ca_bundle: str | None = None  # None: the host's own, "": none
    use_cache: bool = True  # False: --no-cache, every install runs cold
    approve: tuple[str, ...] = ()  # deploy jobs approved up front (--approve)
    interactive: bool = False  # someone can answer an approval while the run waits
    summary: bool = True  # print the table and verdict (an orchestrated run prints its own)
    backend: Backend | None = None  # --backend; None: the pipeline's defaults.backend
    registry: str | None = None  # --registry HOST:PORT/PATH: workspace and cache layers (swarm)
    # For callers that keep their own records (the service, `rerun --failed`):
    run_id: str | None = None  # None: made from the time
    log_dir: Path | None = None  # None: the workspace's .dockstep/runs/<run id>
    reuse: tuple[JobResult, ...] = ()  # an earlier run's results: those jobs do not run again
    # an orchestrated run's downstream pipeline: what its upstream pipelines' jobs archived
    upstream_artifacts: tuple[UpstreamArtifacts, ...] = ()
    part_of: PartOf | None = None  # None: a run of its own


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    run_id: str
    pipeline: str
    jobs: tuple[JobResult, ...]
    interrupted: bool
    run_dir: Path
    not_triggered: tuple[str, ...] = ()  # why `on:` did not match the event: nothing ran
    engine_lost: str | None = None  # why the run lost its engine mid-way (exit 3)

    @property
    def exit_code(self) -> int:
        lost = self.engine_lost is not None
        return report.exit_code(self.jobs, interrupted=self.interrupted, engine_lost=lost)


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """What a request means here, before any secret or engine: the pipeline and its plan."""

    request: RunRequest
    run_id: str
    workspace: Path
    pipeline: Pipeline
    revision: git.Revision
    source: str  # where the code comes from (the origin remote), for OCI labels
    builtins: Pairs
    plan: Plan
    decision: Decision | None = None  # the event against `on:`; None: not asked (no event, --force)

    @property
    def triggered(self) -> bool:
        return self.decision is None or self.decision.runs


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """A run after every check that needs no engine: what runs, how, and where it logs."""

    resolved: Resolved
    settings: RunSettings
    mask: Masker
    run_dir: Path
    state_dir: Path
    approvals: Path  # outside the workspace, which every job can write
    keep: bool
    auth: tuple[str, str] | None  # registry credentials from the environment


def resolve(request: RunRequest, cwd: Path, *, run_id: str | None = None) -> Resolved:
    """Load and plan: a bad pipeline or `--job` fails here, before any Docker call."""
    workspace = context.workspace_of(request.pipeline, cwd)
    pipeline = load_pipeline(
        request.pipeline,
        workspace=workspace,
        allow_unpinned=request.allow_unpinned,
        backend=request.backend,
    )
    run_id = run_id or context.new_run_id(time.time())
    revision = context.of_event(git.revision(workspace), request.event)
    values = context.builtins(pipeline, run_id, request.event, revision)
    decision = None
    if request.event is not None and not request.force:
        decision = match(request.event, pipeline.triggers)
    variables = context.pipeline_variables(pipeline, request.variables, values)
    seen = context.condition_context(values, variables)
    return Resolved(
        request=request,
        run_id=run_id,
        workspace=workspace,
        pipeline=pipeline,
        revision=revision,
        source=git.source(workspace),
        builtins=pairs(values),
        plan=plan(
            pipeline,
            Selection(
                jobs=request.jobs,
                context=seen,
                unattended=not request.interactive,
                approved=request.approve,
            ),
        ),
        decision=decision,
    )


def with_event(request: RunRequest, spec: git.EventRequest | None, cwd: Path) -> RunRequest:
    """The request with the event `spec` asks for, read from the pipeline's repository."""
    if spec is None:
        return request
    workspace = context.workspace_of(request.pipeline, cwd)
    return dataclasses.replace(request, event=git.event(workspace, spec))


def prepare(
    request: RunRequest,
    environ: Mapping[str, str],
    cwd: Path,
    *,
    secrets: bool = True,
    run_id: str | None = None,
) -> Prepared:
    """Resolve, read secrets and check everything a run would otherwise find out mid-way."""
    resolved = resolve(request, cwd, run_id=run_id or request.run_id)
    # a cache key never includes secrets: `cache key` must work without them, and a
    # pipeline the event does not trigger runs nothing that needs them
    wanted = secrets and resolved.triggered
    values = read_secrets(resolved.pipeline.secrets, environ, resolved.workspace) if wanted else {}
    auth = registry.credentials(environ)
    settings = RunSettings(
        run_id=resolved.run_id,
        workspace=resolved.workspace,
        network=f"dockstep-{resolved.run_id}",
        labels=cleanup.Owner.current().labels(resolved.run_id),
        builtins=resolved.builtins,
        variables=request.variables,
        secrets=pairs(values),
        pipeline_env=resolved.pipeline.env,
        user=host_user(os.getuid(), os.getgid()),
        ca_bundle=context.ca_bundle(request.ca_bundle, environ),
        proxy=proxy_variables(environ),
        upstream_artifacts=request.upstream_artifacts,
    )
    _check_before_docker(resolved, settings)
    state = paths.state_dir(environ)
    return Prepared(
        resolved=resolved,
        settings=settings,
        mask=Masker.of([*values.values(), *(auth[1:] if auth else ())]),
        run_dir=request.log_dir or paths.run_dir(resolved.workspace, resolved.run_id),
        state_dir=state,
        approvals=paths.approvals_dir(state, resolved.run_id),
        keep=environ.get(cleanup.KEEP_ENV, "").lower() in ("1", "true", "yes"),
        auth=auth,
    )


def run(
    prepared: Prepared,
    *,
    engine: ContainerEngine,
    console: Console,
    token: CancelToken,
    swarm: Swarm | None = None,
    budget: Budget | None = None,
) -> RunResult:
    """Run the prepared pipeline; everything it created is gone when this returns.

    `swarm`: the manager that runs the steps jobs of a swarm run (`defaults.backend` or
    `--backend swarm`); a local run needs none. `budget`: the job slots an orchestrated
    run shares between its pipelines (None: `workers` for this run alone).
    """
    resolved, settings = prepared.resolved, prepared.settings
    console = console.masked(prepared.mask)
    if not resolved.triggered:
        return _not_triggered(prepared, console)
    for warning in (*resolved.pipeline.warnings, *unmasked_warnings(dict(settings.secrets))):
        console.note(f"warning: {warning}")
    runnable = resolved.plan.runnable()
    console.note(f"dockstep run {settings.run_id}: {resolved.pipeline.name} ({len(runnable)} jobs)")
    if token.cancelled:  # stopped before the first Docker call: nothing to clean up
        return _finish(prepared, console, finish.all_cancelled(resolved.plan), interrupted=True)
    engine.ping()
    running.check_image_envs(engine, prepared)
    containers = any(isinstance(p.job.action, Steps) for p in runnable)
    lost: list[EngineLost] = []
    with (  # the swarm's sweep (services, then their overlay networks) before the engine's
        running.run_network(engine, prepared, console, create=containers, lost=lost) as network,
        running.swarm_door(prepared, console, swarm) as door,
    ):
        prepared = _on_network(prepared, network)
        results, interrupted = running.execute(
            engine, prepared, console, token, lost=lost, swarm=door, budget=budget
        )
    return _finish(prepared, console, results, interrupted=interrupted, lost=next(iter(lost), None))


def _on_network(prepared: Prepared, network: str) -> Prepared:
    settings = dataclasses.replace(prepared.settings, network=network)
    return dataclasses.replace(prepared, settings=settings)


def _not_triggered(prepared: Prepared, console: Console) -> RunResult:
    """The event does not start this pipeline: say why, touch nothing, and pass."""
    return RunResult(
        run_id=prepared.settings.run_id,
        pipeline=prepared.resolved.pipeline.path,
        jobs=(),
        interrupted=False,
        run_dir=prepared.run_dir,
        not_triggered=finish.not_triggered(prepared, console),
    )


def _finish(
    prepared: Prepared,
    console: Console,
    results: list[JobResult],
    *,
    interrupted: bool,
    lost: EngineLost | None = None,
) -> RunResult:
    finish.write(prepared, console, results, interrupted=interrupted, lost=lost)
    return RunResult(
        run_id=prepared.settings.run_id,
        pipeline=prepared.resolved.pipeline.path,
        jobs=tuple(results),
        interrupted=interrupted,
        run_dir=prepared.run_dir,
        engine_lost=None if lost is None else str(lost),
    )


def execute(
    request: RunRequest,
    *,
    environ: Mapping[str, str],
    cwd: Path,
    engine: ContainerEngine,
    console: Console,
    token: CancelToken,
) -> RunResult:
    """`prepare`, then `run`: the whole of `dockstep run` but the process around it."""
    return run(prepare(request, environ, cwd), engine=engine, console=console, token=token)


def cache_key(prepared: Prepared, job_name: str, engine: ContainerEngine) -> tuple[CacheKey, bool]:
    """The key a job's install has in this run, and whether the engine holds its layer."""
    pipeline = prepared.resolved.pipeline
    cells = [j.name for j in pipeline.jobs if j.cell and j.family == job_name]
    if cells:
        raise UsageError(f"{job_name!r} is a matrix job; name one of its cells: {', '.join(cells)}")
    job = pipeline.job(job_name)
    action = job.action
    if not isinstance(action, Steps) or action.install is None:
        raise UsageError(f"job {job_name!r} has no install: nothing is cached for it")
    settings = prepared.settings
    pinned = ImageResolver(engine, settings).pinned(action.image, job)
    present = engine.image_id(pinned)  # its env is a layer of the install's variables
    image = ResolvedImage(
        id=present or "", pinned=pinned, env=engine.image_env(present) if present else ()
    )
    installer = Installer(engine, settings, LayerCache(engine, prepared.state_dir))
    key = installer.key(job, action, action.install, image)
    return key, engine.image_id(key.layer_tag) is not None


def approve(environ: Mapping[str, str], run_id: str, job: str) -> Path:
    """Approve a deploy of a run on this machine that waits for it (or will)."""
    return approvals.approve(paths.approvals_root(paths.state_dir(environ)), run_id, job)


def awaiting_approval(environ: Mapping[str, str], run_id: str) -> tuple[str, ...]:
    """The deploy jobs of a run still going that wait for an approval nobody gave yet."""
    folder = paths.approvals_dir(paths.state_dir(environ), run_id)
    try:
        gated = json.loads((folder / approvals.GATED).read_text())
    except (OSError, ValueError):
        return ()  # the run has ended (its folder is gone) or has no gated job
    return tuple(job for job in gated if not approvals.approval_file(folder, job).exists())


# ---------------------------------------------------------------- the context of a run


def _check_before_docker(resolved: Resolved, settings: RunSettings) -> None:
    """Mistakes that would otherwise surface only mid-run."""
    request, pipeline = resolved.request, resolved.pipeline
    for option, path in (("--report", request.report_file), ("--junit", request.junit_file)):
        if path is not None and not path.resolve().parent.is_dir():
            raise UsageError(f"{option} {path}: its directory does not exist")
    if pipeline.backend is Backend.SWARM and not request.registry:
        raise UsageError(
            "the swarm backend needs a registry its nodes pull from: "
            "--registry HOST:PORT/PATH (e.g. 127.0.0.1:5000/dockstep)"
        )
    environments = {e.name: e for e in pipeline.environments}
    environment.check(settings, (p.job for p in resolved.plan.runnable()), environments)
    gated = set(running.gated_jobs(pipeline, (job.name for job in pipeline.jobs)))
    for name in request.approve:
        if name not in gated:
            raise UsageError(
                f"--approve {name}: not a job of {pipeline.path} that waits for approval "
                f"(jobs that do: {', '.join(sorted(gated)) or 'none'})"
            )


# ---------------------------------------------------------------- running
