"""`dockstep run`: load, plan, run every job in its container, report."""

from __future__ import annotations

import os
import secrets as random
import signal
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runner import cleanup, gitinfo, report
from runner.containers import RunSettings, host_user
from runner.docker_engine import DockerEngine
from runner.engine import ContainerEngine
from runner.errors import EXIT_INTERRUPTED
from runner.images import ImageResolver
from runner.job import JobRunner
from runner.loader import load_pipeline
from runner.model import Pairs, Pipeline, pairs
from runner.output import Console, default_console
from runner.plan import Plan, Selection, plan
from runner.results import JobResult
from runner.scheduler import Scheduler
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


def workspace_of(pipeline: Path, cwd: Path) -> Path:
    """The repository the pipeline belongs to: its git top level, else the working directory."""
    return gitinfo.toplevel(pipeline.resolve().parent) or cwd


def new_run_id(now: float) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}-{random.token_hex(3)}"


def ca_bundle(choice: str | None, environ: Mapping[str, str]) -> Path | None:
    chosen = environ.get("DOCKSTEP_CA_BUNDLE") if choice is None else choice
    if chosen is not None:
        return Path(chosen).resolve() if chosen else None
    return next((Path(p) for p in CA_CANDIDATES if Path(p).is_file()), None)


def builtins(pipeline: Pipeline, run_id: str, event: str, workspace: Path) -> dict[str, str]:
    revision = gitinfo.revision(workspace)
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


def run(options: RunOptions, environ: Mapping[str, str], cwd: Path) -> int:
    workspace = workspace_of(options.pipeline, cwd)
    pipeline = load_pipeline(
        options.pipeline, workspace=workspace, allow_unpinned=options.allow_unpinned
    )
    started = time.time()
    run_id = new_run_id(started)
    values = builtins(pipeline, run_id, options.event, workspace)
    variables = {**dict(pipeline.env), **dict(options.variables)}
    chosen = plan(pipeline, Selection(jobs=options.jobs,
                                      context=condition_context(values, variables)))
    secret_values = read_secrets(pipeline.secrets, environ, workspace)
    mask = Masker.of(secret_values.values())
    console = default_console(environ, mask)
    for warning in pipeline.warnings:
        console.note(f"warning: {warning}")
    engine = DockerEngine()
    engine.ping()
    owner = cleanup.Owner.current()
    settings = RunSettings(
        run_id=run_id,
        workspace=workspace,
        network=f"dockstep-{run_id}",
        labels=owner.labels(run_id),
        builtins=pairs(values),
        variables=options.variables,
        secrets=pairs(secret_values),
        pipeline_env=pipeline.env,
        user=host_user(os.getuid(), os.getgid()),
        ca_bundle=ca_bundle(options.ca_bundle, environ),
    )
    run_dir = workspace / ".dockstep" / "runs" / run_id
    keep = environ.get(cleanup.KEEP_ENV) == "1"
    console.note(f"dockstep run {run_id}: {pipeline.name} ({len(chosen.runnable())} jobs)")
    with run_network(engine, settings, keep=keep):
        results, interrupted = _execute(engine, chosen, settings, console, run_dir, options, keep)
    return _finish(results, options, run_id, pipeline, console, interrupted)


def _execute(
    engine: ContainerEngine,
    chosen: Plan,
    settings: RunSettings,
    console: Console,
    run_dir: Path,
    options: RunOptions,
    keep: bool,
) -> tuple[list[JobResult], bool]:
    images = ImageResolver(engine, settings.workspace, dict(settings.builtins) | dict(
        settings.pipeline_env) | dict(settings.variables))
    runner = JobRunner(engine, images, settings, console, run_dir, keep=keep)
    console.prefix_width([p.name for p in chosen.jobs])
    scheduler = Scheduler(runner, workers=options.workers, keep_going=options.keep_going,
                          clock=time.time)
    results = scheduler.run(chosen)
    return results, scheduler.interrupted


@contextmanager
def run_network(engine: ContainerEngine, settings: RunSettings, *, keep: bool) -> Iterator[None]:
    """The run's own network; on the way out, everything labelled with the run id goes."""
    engine.create_network(settings.network, settings.labels)
    try:
        yield
    finally:
        if not keep:
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the sweep finish
            try:
                cleanup.remove_run(engine, settings.run_id)
            finally:
                signal.signal(signal.SIGINT, previous)


def _finish(
    results: list[JobResult],
    options: RunOptions,
    run_id: str,
    pipeline: Pipeline,
    console: Console,
    interrupted: bool,
) -> int:
    console.note("")
    console.note(report.table(results))
    if options.report_file:
        document = report.to_json(results, run_id=run_id, pipeline=pipeline.path,
                                  mask=console.mask)
        options.report_file.write_text(document + "\n")
    code = EXIT_INTERRUPTED if interrupted else report.exit_code(results)
    verdict = "interrupted" if interrupted else ("passed" if code == 0 else "failed")
    console.note(f"pipeline {verdict} (run {run_id})")
    return code
