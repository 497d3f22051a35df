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
import secrets as random
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from runner import git, junit, paths, report
from runner.cache.keys import CacheKey
from runner.cache.layers import LayerCache
from runner.cancel import CancelToken
from runner.delivery import approvals, registry
from runner.delivery.approvals import Gate, ManualJobs, record_gated
from runner.delivery.deploy import DeployJob
from runner.delivery.package import PackageJob
from runner.delivery.verify import VerifyJob
from runner.engine import cleanup
from runner.engine.api import ContainerEngine
from runner.engine.swarm.api import Swarm
from runner.errors import EngineLost, EngineUnavailable, UsageError
from runner.execute import environment
from runner.execute.builds import proxy_variables
from runner.execute.containers import host_user
from runner.execute.images import ImageResolver, ResolvedImage
from runner.execute.install import Installer
from runner.execute.job import JobRunner
from runner.execute.kinds import Kinds
from runner.execute.scheduler import JobExecutor, Scheduler
from runner.execute.settings import RunSettings
from runner.execute.steps_job import StepsJob
from runner.execute.swarm_files import RunFiles
from runner.execute.swarm_job import SwarmStepsJob
from runner.execute.swarm_workspace import WorkspaceImages
from runner.expr.interpolate import UndefinedVariable
from runner.format.load import load_pipeline
from runner.model.events import Event, EventKind
from runner.model.pipeline import (
    Backend,
    Deploy,
    Job,
    Package,
    Pairs,
    Pipeline,
    Steps,
    Verify,
    pairs,
)
from runner.model.results import JobResult, Status
from runner.output import Console
from runner.plan.compose import upstream_variables
from runner.plan.plan import Plan, Selection, plan
from runner.plan.triggers import Decision, match
from runner.secrets import Masker, read_secrets, unmasked_warnings

CA_CANDIDATES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, BSD
)


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
    workspace = workspace_of(request.pipeline, cwd)
    pipeline = load_pipeline(
        request.pipeline,
        workspace=workspace,
        allow_unpinned=request.allow_unpinned,
        backend=request.backend,
    )
    run_id = run_id or new_run_id(time.time())
    revision = of_event(git.revision(workspace), request.event)
    values = builtins(pipeline, run_id, request.event, revision)
    decision = None
    if request.event is not None and not request.force:
        decision = match(request.event, pipeline.triggers)
    variables = pipeline_variables(pipeline, request.variables, values)
    context = condition_context(values, variables)
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
                context=context,
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
    workspace = workspace_of(request.pipeline, cwd)
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
        ca_bundle=ca_bundle(request.ca_bundle, environ),
        proxy=proxy_variables(environ),
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
) -> RunResult:
    """Run the prepared pipeline; everything it created is gone when this returns.

    `swarm`: the manager that runs the steps jobs of a swarm run (`defaults.backend` or
    `--backend swarm`); a local run needs none.
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
        return _finish(prepared, console, _all_cancelled(resolved.plan), interrupted=True)
    engine.ping()
    _check_image_envs(engine, prepared)
    containers = any(isinstance(p.job.action, Steps) for p in runnable)
    lost: list[EngineLost] = []
    with (
        _swarm_door(prepared, console, swarm) as door,
        _run_network(engine, prepared, console, create=containers, lost=lost),
    ):
        results, interrupted = _execute(engine, prepared, console, token, lost=lost, swarm=door)
    return _finish(prepared, console, results, interrupted=interrupted, lost=next(iter(lost), None))


def _check_image_envs(engine: ContainerEngine, prepared: Prepared) -> None:
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


def workspace_of(pipeline: Path, cwd: Path) -> Path:
    """The repository the pipeline belongs to: its git top level, else the working directory."""
    return git.toplevel(pipeline.resolve().parent) or cwd


def new_run_id(now: float) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}-{random.token_hex(3)}"


def ca_bundle(choice: str | None, environ: Mapping[str, str]) -> Path | None:
    chosen = environ.get("DOCKSTEP_CA_BUNDLE") if choice is None else choice
    if chosen:
        path = Path(chosen).resolve()
        if not path.is_file():  # Docker would create a directory there, as root
            raise UsageError(f"CA bundle {chosen}: no such file (--ca-bundle, DOCKSTEP_CA_BUNDLE)")
        return path
    if chosen is not None:
        return None
    return next((Path(p) for p in CA_CANDIDATES if Path(p).is_file()), None)


def of_event(revision: git.Revision, event: Event | None) -> git.Revision:
    """What the run builds: the event's commit, branch and tag where it names them."""
    if event is None:
        return revision
    return git.Revision(
        commit=event.commit or revision.commit,
        branch=event.branch or revision.branch,
        tag=event.tag or revision.tag,
        time=revision.time,
    )


def builtins(
    pipeline: Pipeline, run_id: str, event: Event | None, revision: git.Revision
) -> dict[str, str]:
    """The DOCKSTEP_* variables; without an event, `if:` and steps see a push."""
    found = event or Event(kind=EventKind.PUSH)
    values = {
        "CI": "true",
        "DOCKSTEP": "true",
        "DOCKSTEP_RUN_ID": run_id,
        "DOCKSTEP_PIPELINE": pipeline.name,
        "DOCKSTEP_EVENT": found.name,
        "DOCKSTEP_COMMIT_SHA": revision.commit,
        "DOCKSTEP_BRANCH": revision.branch,
        "DOCKSTEP_TAG": revision.tag,
    }
    if found.base:
        values["DOCKSTEP_BASE_BRANCH"] = found.base
    return values | upstream_variables(found)


def pipeline_variables(
    pipeline: Pipeline, variables: Pairs, values: Mapping[str, str]
) -> dict[str, str]:
    """The pipeline's env, expanded as steps see it, then --var: what `if:` compares."""
    settings = RunSettings(
        run_id="",
        workspace=Path(),
        network="",
        labels=(),
        builtins=pairs(values),
        variables=variables,
        pipeline_env=pipeline.env,
    )
    try:
        return environment.run_variables(settings)
    except UndefinedVariable as error:
        error.args = (f"pipeline env: {error}",)
        raise


def condition_context(values: Mapping[str, str], variables: Mapping[str, str]) -> Pairs:
    """What `if:` reads: branch, tag, event, commit, pipeline and every variable."""
    named = {
        "branch": values["DOCKSTEP_BRANCH"],
        "tag": values["DOCKSTEP_TAG"],
        "event": values["DOCKSTEP_EVENT"],
        "commit": values["DOCKSTEP_COMMIT_SHA"],
        "pipeline": values["DOCKSTEP_PIPELINE"],
    }
    return pairs({**values, **variables, **named})


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
    gated = set(gated_jobs(pipeline, (job.name for job in pipeline.jobs)))
    for name in request.approve:
        if name not in gated:
            raise UsageError(
                f"--approve {name}: not a job of {pipeline.path} that waits for approval "
                f"(jobs that do: {', '.join(sorted(gated)) or 'none'})"
            )


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


# ---------------------------------------------------------------- running


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
    registry = prepared.resolved.request.registry or ""
    return SwarmStepsJob(
        swarm,
        images=images,
        installer=installer,
        workspace=WorkspaceImages(engine, settings, registry),
        files=RunFiles(swarm, settings),
        settings=settings,
        registry=registry,
        clock=time.time,
    )


def _kinds(engine: ContainerEngine, prepared: Prepared, swarm: Swarm | None) -> Kinds:
    """One runner per kind of job: what each `Job.action` type is run by."""
    resolved, settings = prepared.resolved, prepared.settings
    layers = LayerCache(engine, prepared.state_dir, enabled=resolved.request.use_cache)
    runnable = (p.name for p in resolved.plan.runnable())
    record_gated(prepared.approvals, gated_jobs(resolved.pipeline, runnable))
    gate = Gate(
        prepared.approvals,
        settings.run_id,
        interactive=resolved.request.interactive,
        approved=resolved.request.approve,
    )
    kinds: Kinds = {
        Steps: _steps_runner(engine, prepared, layers, swarm),
        Package: PackageJob(
            engine,
            settings=settings,
            revision=resolved.revision,
            source=resolved.source,
            auth=prepared.auth,
        ),
        Deploy: DeployJob(
            engine, settings=settings, environments=resolved.pipeline.environments, gate=gate
        ),
        Verify: VerifyJob(engine, run_id=settings.run_id),
    }
    return {kind: ManualJobs(runner, gate) for kind, runner in kinds.items()}


def _execute(
    engine: ContainerEngine,
    prepared: Prepared,
    console: Console,
    token: CancelToken,
    *,
    lost: list[EngineLost],
    swarm: Swarm | None,
) -> tuple[list[JobResult], bool]:
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
        executor, workers=request.workers, keep_going=request.keep_going, clock=time.time
    )
    results = scheduler.run(resolved.plan, token)
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
def _run_network(
    engine: ContainerEngine,
    prepared: Prepared,
    console: Console,
    *,
    create: bool,
    lost: list[EngineLost],
) -> Iterator[None]:
    """The run's own network; on the way out, everything labelled with the run id goes.

    A run of package, deploy and verify jobs only starts no job container: no network.
    An engine gone by then leaves the sweep to `dockstep clean` (or the next run's owner
    check): the run still ends, and reports the loss.
    """
    settings = prepared.settings
    try:
        if create:
            engine.create_network(settings.network, settings.labels)
        yield
    finally:
        if not prepared.keep:
            _sweep(engine, settings.run_id, console, lost)


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


def junit_tail(result: JobResult) -> str:
    """What a JUnit failure shows: the end of the job's log (saved masked)."""
    return junit.log_tail(result.log_file) if result.status.blocks else ""


@contextmanager
def _swarm_door(
    prepared: Prepared, console: Console, swarm: Swarm | None
) -> Iterator[Swarm | None]:
    """The swarm of a swarm run (None for a local one); on the way out, every service,
    secret and config labelled with the run id goes."""
    if prepared.resolved.pipeline.backend is not Backend.SWARM:
        yield None
        return
    if swarm is None:
        raise UsageError("this run is for the swarm backend, but no swarm was given to it")
    swarm.ping()
    try:
        yield swarm
    finally:
        if not prepared.keep:
            for problem in cleanup.sweep_run(swarm, prepared.settings.run_id):
                console.note(f"warning: {problem}; `dockstep clean` retries once this run ends")


def _all_cancelled(chosen: Plan) -> list[JobResult]:
    return [
        JobResult(
            name=p.name,
            stage=p.job.stage,
            status=Status.SKIPPED if p.skip_reason else Status.CANCELLED,
            reason=p.skip_reason or "interrupted",
        )
        for p in chosen.jobs
    ]


def _not_triggered(prepared: Prepared, console: Console) -> RunResult:
    """The event does not start this pipeline: say why, touch nothing, and pass."""
    resolved = prepared.resolved
    reasons = resolved.decision.reasons if resolved.decision else ()
    event = resolved.request.event
    console.note(
        f"{resolved.pipeline.name}: not run for this {event.name if event else 'push'} event: "
        f"{'; '.join(reasons)} (--force runs it anyway)"
    )
    return RunResult(
        run_id=prepared.settings.run_id,
        pipeline=resolved.pipeline.path,
        jobs=(),
        interrupted=False,
        run_dir=prepared.run_dir,
        not_triggered=reasons,
    )


def _finish(
    prepared: Prepared,
    console: Console,
    results: list[JobResult],
    *,
    interrupted: bool,
    lost: EngineLost | None = None,
) -> RunResult:
    resolved, run_id = prepared.resolved, prepared.settings.run_id
    summary = resolved.request.summary
    if summary:
        console.note("")
        console.note(report.table(results, mask=console.mask))
    document = report.to_json(
        results,
        run_id=run_id,
        pipeline=resolved.pipeline.path,
        mask=console.mask,
        interrupted=interrupted,
        event=resolved.request.event,
        engine_lost=lost is not None,
    )
    # every run keeps its report beside its logs; --report puts a copy where asked
    prepared.run_dir.mkdir(parents=True, exist_ok=True)
    for path in (prepared.run_dir / "report.json", resolved.request.report_file):
        if path is not None:
            path.write_text(document + "\n")
    if resolved.request.junit_file is not None:
        xml = junit.to_xml(
            results, pipeline=resolved.pipeline.name, tail=junit_tail, mask=console.mask
        )
        resolved.request.junit_file.write_text(xml, encoding="utf-8")
    shutil.rmtree(prepared.approvals, ignore_errors=True)  # nothing waits any more
    if lost is not None:
        console.note(lost.render())
    verdict = report.verdict(results, interrupted=interrupted, engine_lost=lost is not None)
    console.note(f"pipeline {verdict} (run {run_id})" if summary else f"{verdict} (run {run_id})")
    if prepared.keep:
        console.note(
            f"{cleanup.KEEP_ENV} is set: the run's containers and network were kept; "
            "remove them with `dockstep clean` once this process has ended"
        )
    return RunResult(
        run_id=run_id,
        pipeline=resolved.pipeline.path,
        jobs=tuple(results),
        interrupted=interrupted,
        run_dir=prepared.run_dir,
        engine_lost=None if lost is None else str(lost),
    )
