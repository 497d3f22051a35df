"""`dockstep run`: load, plan, run every job in its container, report."""

from __future__ import annotations

import os
import secrets as random
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from runner import git, paths, report
from runner.cache.layers import LayerCache
from runner.delivery import registry
from runner.delivery.approvals import Gate, record_gated
from runner.delivery.delivery import Delivery
from runner.engine import cleanup
from runner.engine.api import ContainerEngine
from runner.engine.docker.engine import DockerEngine
from runner.errors import UsageError
from runner.execute.containers import RunSettings, host_user, run_variables, step_env
from runner.execute.images import ImageResolver
from runner.execute.job import JobRunner
from runner.execute.scheduler import Scheduler
from runner.expr.interpolate import UndefinedVariable, expand, expand_layers
from runner.format.load import load_pipeline
from runner.model.pipeline import Job, Pairs, Pipeline, pairs
from runner.model.results import JobResult
from runner.output import Console, default_console
from runner.plan.plan import Plan, Selection, plan
from runner.secrets import Masker, read_secrets

CA_CANDIDATES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, BSD
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    pipeline: Path
    jobs: tuple[str, ...] = ()
    workers: int = 4
    keep_going: bool = False
    report_file: Path | None = None
    allow_unpinned: bool = False
    variables: Pairs = ()
    event: str = "push"
    ca_bundle: str | None = None  # None: the host's own, "" : none
    use_cache: bool = True  # False: --no-cache, every install runs cold
    approve: tuple[str, ...] = ()  # deploy jobs approved up front (--approve)


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


def builtins(pipeline: Pipeline, run_id: str, event: str, revision: git.Revision) -> dict[str, str]:
    return {
        "CI": "true",
        "DOCKSTEP": "true",
        "DOCKSTEP_RUN_ID": run_id,
        "DOCKSTEP_PIPELINE": pipeline.name,
        "DOCKSTEP_EVENT": event,
        "DOCKSTEP_COMMIT_SHA": revision.commit,
        "DOCKSTEP_BRANCH": revision.branch,
        "DOCKSTEP_TAG": revision.tag,
    }


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """A run after every check that needs no engine: what runs, how, and where it logs."""

    options: RunOptions
    pipeline: Pipeline
    plan: Plan
    settings: RunSettings
    console: Console
    run_dir: Path
    cache_dir: Path
    approvals: Path  # outside the workspace, which every job can write
    keep: bool
    revision: git.Revision
    auth: tuple[str, str] | None  # registry credentials from the environment
    interactive: bool  # someone can answer an approval while the run waits


def run(options: RunOptions, environ: Mapping[str, str], cwd: Path) -> int:
    prepared = prepare(options, environ, cwd)
    with closing(DockerEngine()) as engine:
        engine.ping()
        return _run(engine, prepared)


def _run(engine: ContainerEngine, prepared: Prepared) -> int:
    console, settings = prepared.console, prepared.settings
    for warning in prepared.pipeline.warnings:
        console.note(f"warning: {warning}")
    jobs = len(prepared.plan.runnable())
    console.note(f"dockstep run {settings.run_id}: {prepared.pipeline.name} ({jobs} jobs)")
    containers = any(_in_container(p.job) for p in prepared.plan.runnable())
    with run_network(engine, settings, keep=prepared.keep, create=containers, warn=console.note):
        results, interrupted = _execute(engine, prepared)
    return _finish(prepared, results, interrupted=interrupted)


def prepare(
    options: RunOptions, environ: Mapping[str, str], cwd: Path, *, secrets: bool = True
) -> Prepared:
    """Load, plan and read secrets: a bad pipeline fails here, before any Docker call."""
    workspace = workspace_of(options.pipeline, cwd)
    pipeline = load_pipeline(
        options.pipeline, workspace=workspace, allow_unpinned=options.allow_unpinned
    )
    run_id = new_run_id(time.time())
    revision = git.revision(workspace)
    values = builtins(pipeline, run_id, options.event, revision)
    context = condition_context(values, pipeline_variables(pipeline, options.variables, values))
    chosen = plan(pipeline, Selection(jobs=options.jobs, context=context))
    # a cache key never includes secrets: `cache key` must work without them
    secret_values = read_secrets(pipeline.secrets, environ, workspace) if secrets else {}
    auth = registry.credentials(environ)
    settings = RunSettings(
        run_id=run_id,
        workspace=workspace,
        network=f"dockstep-{run_id}",
        labels=cleanup.Owner.current().labels(run_id),
        builtins=pairs(values),
        variables=options.variables,
        secrets=pairs(secret_values),
        pipeline_env=pipeline.env,
        user=host_user(os.getuid(), os.getgid()),
        ca_bundle=ca_bundle(options.ca_bundle, environ),
    )
    _check_before_docker(settings, chosen, options.report_file)
    deploys = {job.name for job in pipeline.jobs if job.deploy}
    for name in options.approve:
        if name not in deploys:
            raise UsageError(
                f"--approve {name}: not a deploy job of {pipeline.path} "
                f"(deploy jobs: {', '.join(sorted(deploys)) or 'none'})"
            )
    return Prepared(
        options=options,
        pipeline=pipeline,
        plan=chosen,
        settings=settings,
        console=default_console(
            environ, Masker.of([*secret_values.values(), *(auth[1:] if auth else ())])
        ),
        run_dir=paths.run_dir(workspace, run_id),
        cache_dir=paths.state_dir(environ),
        approvals=paths.approvals_dir(paths.state_dir(environ), run_id),
        keep=environ.get(cleanup.KEEP_ENV, "").lower() in ("1", "true", "yes"),
        revision=revision,
        auth=auth,
        interactive=sys.stdin.isatty() and environ.get("CI") != "true",
    )


def pipeline_variables(
    pipeline: Pipeline, variables: Pairs, values: Mapping[str, str]
) -> dict[str, str]:
    """The pipeline's env, expanded as steps see it, then --var: what `if:` compares."""
    base = {**values, **dict(variables)}
    try:
        return expand_layers([pipeline.env, variables], base)
    except UndefinedVariable as error:
        error.args = (f"pipeline env: {error}",)
        raise


def _check_before_docker(settings: RunSettings, chosen: Plan, report_file: Path | None) -> None:
    """Mistakes that would otherwise surface only mid-run: undefined `${NAME}`s in every
    runnable job's env and build args, and a report that could not be written."""
    if report_file is not None and not report_file.resolve().parent.is_dir():
        raise UsageError(f"--report {report_file}: its directory does not exist")
    try:
        variables = run_variables(settings)
    except UndefinedVariable as error:
        error.args = (f"pipeline env: {error}",)
        raise
    for planned in chosen.runnable():
        job = planned.job
        try:
            for step in (*job.steps, None):  # None: the job's own env
                step_env(settings, job, step)
            for value in dict(job.image.build.args if job.image.build else ()).values():
                expand(value, variables)
        except UndefinedVariable as error:
            error.args = (f"job {job.name!r}: {error}",)
            raise


def _execute(engine: ContainerEngine, prepared: Prepared) -> tuple[list[JobResult], bool]:
    settings, options = prepared.settings, prepared.options
    variables = run_variables(settings)
    images = ImageResolver(engine, settings.workspace, variables)
    layers = LayerCache(engine, prepared.cache_dir, enabled=options.use_cache)
    runner = JobRunner(
        engine,
        images=images,
        layers=layers,
        settings=settings,
        console=prepared.console,
        log_dir=prepared.run_dir,
        delivery=_delivery(engine, prepared, variables),
        upstream={p.name: p.waits_for for p in prepared.plan.jobs},
        keep=prepared.keep,
    )
    prepared.console.prefix_width([p.name for p in prepared.plan.jobs])
    scheduler = Scheduler(
        runner, workers=options.workers, keep_going=options.keep_going, clock=time.time
    )
    results = scheduler.run(prepared.plan)
    return results, scheduler.interrupted


def _delivery(
    engine: ContainerEngine, prepared: Prepared, variables: Mapping[str, str]
) -> Delivery:
    settings = prepared.settings
    gated = [
        p.name
        for p in prepared.plan.runnable()
        if p.job.deploy and p.job.deploy.environment in _needs_approval(prepared.pipeline)
    ]
    record_gated(prepared.approvals, gated)
    gate = Gate(
        prepared.approvals,
        settings.run_id,
        interactive=prepared.interactive,
        approved=prepared.options.approve,
    )
    return Delivery(
        engine,
        workspace=settings.workspace,
        run_id=settings.run_id,
        environments=prepared.pipeline.environments,
        variables=variables,
        revision=prepared.revision,
        source=git.source(settings.workspace),
        gate=gate,
        auth=prepared.auth,
    )


def _needs_approval(pipeline: Pipeline) -> set[str]:
    return {e.name for e in pipeline.environments if e.approval}


def _in_container(job: Job) -> bool:
    return not (job.package or job.deploy or job.verify)


@contextmanager
def run_network(
    engine: ContainerEngine,
    settings: RunSettings,
    *,
    keep: bool,
    create: bool = True,
    warn: Callable[[str], None] = print,
) -> Iterator[None]:
    """The run's own network; on the way out, everything labelled with the run id goes.

    A run of package, deploy and verify jobs only starts no job container: no network.
    """
    try:
        if create:
            engine.create_network(settings.network, settings.labels)
        yield
    finally:
        if not keep:
            with _uninterruptible():
                for problem in cleanup.remove_run(engine, settings.run_id):
                    warn(f"warning: {problem}; `dockstep clean` retries once this run ends")


@contextmanager
def _uninterruptible() -> Iterator[None]:
    """Let the final sweep finish: Ctrl-C and SIGTERM wait until it is done."""
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _finish(prepared: Prepared, results: list[JobResult], *, interrupted: bool) -> int:
    console, run_id = prepared.console, prepared.settings.run_id
    console.note("")
    console.note(report.table(results, mask=console.mask))
    document = report.to_json(
        results,
        run_id=run_id,
        pipeline=prepared.pipeline.path,
        mask=console.mask,
        interrupted=interrupted,
    )
    # every run keeps its report beside its logs; --report puts a copy where asked
    prepared.run_dir.mkdir(parents=True, exist_ok=True)
    for path in (prepared.run_dir / "report.json", prepared.options.report_file):
        if path is not None:
            path.write_text(document + "\n")
    shutil.rmtree(prepared.approvals, ignore_errors=True)  # nothing waits any more
    console.note(f"pipeline {report.verdict(results, interrupted=interrupted)} (run {run_id})")
    if prepared.keep:
        console.note(
            f"{cleanup.KEEP_ENV} is set: the run's containers and network were kept; "
            "remove them with `dockstep clean` once this process has ended"
        )
    return report.exit_code(results, interrupted=interrupted)
