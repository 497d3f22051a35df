"""The command line: parses arguments, calls one function per command, and exits.

Commands import their modules lazily so `validate` never pays for the Docker SDK.

The only place that prints errors and chooses the process's exit code.
"""

from __future__ import annotations

# First of all: a Ctrl-C or SIGTERM while the rest is imported must count (issue 9, point 3).
from runner import stopsignals  # isort: split

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from runner.errors import EXIT_INTERRUPTED, DockstepError
from runner.model.pipeline import pairs
from runner.names import VARIABLE_NAME

if TYPE_CHECKING:
    from runner.git import EventRequest
    from runner.session import RunRequest

DEFAULT_PIPELINE = Path("pipelines/ci.yml")
PIPELINE = click.argument(
    "pipeline", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_PIPELINE
)
ALLOW_UNPINNED = click.option(
    "--allow-unpinned", is_flag=True, help="Run floating image tags anyway (with a warning)."
)


def _exit_with(action: Callable[[], int]) -> None:
    try:
        code = action()
    except DockstepError as error:
        click.echo(error.render(), err=True)
        code = error.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        # Cleanup is done; a job thread still blocked on the engine must not hold the exit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _variables(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    parsed = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not VARIABLE_NAME.fullmatch(name):
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--var")
        parsed[name] = value
    return pairs(parsed)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dockstep")
@click.pass_context
def main(context: click.Context) -> None:
    """dockstep: run a pipeline's jobs in pinned containers, locally exactly as in CI."""
    if context.invoked_subcommand not in ("run", "rerun"):
        # Only a run turns Ctrl-C into a cancel; elsewhere it interrupts as usual.
        stopsignals.release()


@main.command()
@PIPELINE
@ALLOW_UNPINNED
def validate(pipeline: Path, allow_unpinned: bool) -> None:
    """Check a pipeline file; every problem is reported with file:line:column."""
    from runner.commands.inspect import validate as command

    _exit_with(lambda: command(pipeline, Path.cwd(), allow_unpinned=allow_unpinned))


VARIABLES = click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a variable; overrides the pipeline's env.",
)
EVENTS = ["push", "pull_request", "tag", "schedule", "manual", "webhook"]
EVENT_OPTIONS = (
    click.option(
        "--event",
        default=None,
        type=click.Choice(EVENTS),
        help="The event: matched against on: and seen by if: [default: none; if: sees push].",
    ),
    click.option("--base", metavar="BRANCH", help="pull_request: the branch it targets."),
    click.option("--tag", metavar="TAG", help="tag: the tag [default: the tag at HEAD]."),
    click.option("--branch", metavar="BRANCH", help="The branch [default: git's]."),
    click.option("--commit", metavar="COMMIT", help="The commit [default: HEAD]."),
    click.option(
        "--before", metavar="COMMIT", help="push: where the branch was before (changed paths)."
    ),
)
OVERRIDES = ("base", "tag", "branch", "commit", "before")
PIPELINE_OR_ALL = click.argument(
    "pipeline", type=click.Path(dir_okay=False, path_type=Path), required=False
)
ALL = click.option(
    "--all", "everything", is_flag=True, help="Every pipelines/*.yml the event triggers."
)


def event_options(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(EVENT_OPTIONS):
        command = option(command)
    return command


def _event_request(given: dict[str, Any]) -> EventRequest | None:
    """What --event and its overrides ask for; git fills in the rest once, later."""
    from runner.git import EventRequest
    from runner.model.events import EventKind

    kind = given.pop("event", None)
    overrides = {name: given.pop(name, None) or "" for name in OVERRIDES}
    if kind is None:
        named = [f"--{name}" for name, value in overrides.items() if value]
        if named:
            raise click.UsageError(f"{', '.join(named)} describe an event: add --event")
        return None
    return EventRequest(
        kind=EventKind(kind),
        base=overrides["base"],
        tag=overrides["tag"],
        branch=overrides["branch"],
        commit=overrides["commit"],
        before=overrides["before"],
    )


def _pipeline(pipeline: Path | None, everything: bool) -> Path:
    if everything and pipeline is not None:
        raise click.UsageError("--all runs every pipelines/*.yml: leave PIPELINE out")
    return pipeline or DEFAULT_PIPELINE


def _interactive() -> bool:
    """Someone can answer an approval: a terminal, and not CI."""
    return sys.stdin.isatty() and os.environ.get("CI") != "true"


def _evented(request: RunRequest, spec: EventRequest | None) -> RunRequest:
    """The request with its event read from git, once (raises inside `_exit_with`)."""
    from runner.session import with_event

    return with_event(request, spec, Path.cwd())


def _request(pipeline: Path, **options: Any) -> RunRequest:
    """The request `run` would make of these options, for `plan`, `graph` and `cache key`."""
    from runner.session import RunRequest

    variables = _variables(options.pop("variables", ()))
    return RunRequest(pipeline=pipeline, variables=variables, **options)


@main.command()
@PIPELINE_OR_ALL
@ALL
@click.option("--job", "jobs", multiple=True, help="Plan only this job and what it needs.")
@VARIABLES
@event_options
@click.option("--force", is_flag=True, help="Plan it even if the event does not trigger it.")
@ALLOW_UNPINNED
def plan(
    *,
    pipeline: Path | None,
    everything: bool,
    jobs: tuple[str, ...],
    variables: tuple[str, ...],
    force: bool,
    allow_unpinned: bool,
    **given: Any,
) -> None:
    """Show what runs, in which order, and what runs in parallel (as `run` would decide).

    With --all: every pipeline, whether the event starts it (and if not, which filter
    failed), and its jobs.
    """
    from runner.commands.inspect import show_plan, show_plans

    spec = _event_request(given)
    request = _request(
        _pipeline(pipeline, everything),
        jobs=jobs,
        variables=variables,
        force=force,
        allow_unpinned=allow_unpinned,
        interactive=_interactive(),
    )
    if everything:
        _exit_with(lambda: show_plans(request, spec, Path.cwd()))
    _exit_with(lambda: show_plan(_evented(request, spec), Path.cwd()))


@main.command()
@PIPELINE
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid")
@VARIABLES
@event_options
@ALLOW_UNPINNED
def graph(
    pipeline: Path, fmt: str, variables: tuple[str, ...], allow_unpinned: bool, **given: Any
) -> None:
    """Print the job graph as Mermaid (default) or Graphviz DOT."""
    from runner.commands.inspect import show_graph

    spec = _event_request(given)
    request = _request(pipeline, variables=variables, allow_unpinned=allow_unpinned)
    _exit_with(lambda: show_graph(_evented(request, spec), Path.cwd(), fmt=fmt))


@main.command()
@PIPELINE_OR_ALL
@ALL
@click.option(
    "--job",
    "jobs",
    multiple=True,
    help="Run only this job (pipeline/job with --all) and its needs.",
)
@click.option(
    "--jobs",
    "workers",
    type=click.IntRange(min=1),
    default=None,
    help="How many jobs may run at once [default: max(4, CPUs)].",
)
@click.option(
    "--keep-going", is_flag=True, help="After a failure, still run what does not depend on it."
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the results as JSON to this file.",
)
@click.option(
    "--junit",
    "junit_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the results as JUnit XML to this file (a test case per job and per step).",
)
@VARIABLES
@event_options
@click.option("--force", is_flag=True, help="Run it even if the event does not trigger it.")
@click.option(
    "--approve",
    "approve",
    multiple=True,
    metavar="JOB",
    help="Approve this deploy or manual job up front (pipeline/job with --all).",
)
@click.option("--no-cache", is_flag=True, help="Run every install cold and store its layer anew.")
@click.option(
    "--ca-bundle",
    default=None,
    metavar="PATH",
    help="CA bundle mounted into steps [default: the host's; '' for none].",
)
@click.option(
    "--backend",
    type=click.Choice(["local", "swarm"]),
    default=None,
    help="Where steps jobs run [default: the pipeline's defaults.backend, else local].",
)
@click.option(
    "--registry",
    default=None,
    metavar="HOST:PORT/PATH",
    help="Registry the swarm's nodes pull workspace and cache layers from (swarm backend).",
)
@click.option(
    "--progress",
    type=click.Choice(["auto", "tty", "plain"]),
    default="auto",
    show_default=True,
    help="tty: a status line of the running jobs below the log; plain: no escapes at all; "
    "auto: tty on a terminal.",
)
@ALLOW_UNPINNED
def run(
    *,
    pipeline: Path | None,
    everything: bool,
    jobs: tuple[str, ...],
    workers: int | None,
    keep_going: bool,
    report_file: Path | None,
    junit_file: Path | None,
    variables: tuple[str, ...],
    force: bool,
    ca_bundle: str | None,
    no_cache: bool,
    approve: tuple[str, ...],
    backend: str | None,
    registry: str | None,
    progress: str,
    allow_unpinned: bool,
    **given: Any,
) -> None:
    """Run a pipeline's jobs in containers (or as tasks on a Docker Swarm); with --all,
    every pipeline the event triggers."""
    # SIGINT, SIGTERM and SIGHUP cancel the run (since the process started): jobs stop,
    # everything is removed, exit 130. A second one stops waiting for the jobs to stop.
    token = stopsignals.TOKEN
    from runner.commands.run import run as command
    from runner.commands.run import run_all
    from runner.model.pipeline import Backend
    from runner.progress import ProgressMode
    from runner.session import RunRequest

    spec = _event_request(given)
    request = RunRequest(
        pipeline=_pipeline(pipeline, everything),
        jobs=jobs,
        workers=workers or max(4, os.cpu_count() or 1),
        keep_going=keep_going,
        report_file=report_file,
        junit_file=junit_file,
        allow_unpinned=allow_unpinned,
        variables=_variables(variables),
        force=force,
        ca_bundle=ca_bundle,
        use_cache=not no_cache,
        approve=approve,
        interactive=_interactive(),
        backend=Backend(backend) if backend else None,
        registry=_registry(registry),
    )
    mode, environ, cwd = ProgressMode(progress), dict(os.environ), Path.cwd()
    if everything:
        _exit_with(lambda: run_all(request, spec, environ, cwd, token, progress=mode))
    _exit_with(lambda: command(_evented(request, spec), environ, cwd, token, progress=mode))


def _registry(value: str | None) -> str | None:
    """HOST:PORT/PATH (or HOST/PATH with a dotted host): where tasks pull layers from."""
    if value is None:
        return None
    host, _, path = value.strip("/").partition("/")
    if not path or not (":" in host or "." in host or host == "localhost") or "@" in value:
        raise click.BadParameter(
            f"expected HOST:PORT/PATH like 127.0.0.1:5000/dockstep, got {value!r}",
            param_hint="--registry",
        )
    return value.strip("/")


def _age(value: str | None) -> float | None:
    """`7d`, `12h`, `30m` or a number of seconds."""
    if value is None:
        return None
    from runner.format.fields import parse_duration

    days = value[:-1] if value.endswith("d") else None
    seconds = float(days) * 86400 if days and days.replace(".", "", 1).isdigit() else None
    seconds = seconds if seconds is not None else parse_duration(value)
    if seconds is None:
        raise click.BadParameter(f"expected an age like 7d, 12h or 30m, got {value!r}")
    return seconds


@main.group()
def cache() -> None:
    """The dependency cache: install layers and download-cache volumes."""


@cache.command("ls")
def cache_ls() -> None:
    """List cache layers and volumes: key, job, size, age, last used."""
    from runner.commands.cache import list_cache

    _exit_with(lambda: list_cache(dict(os.environ)))


@cache.command("prune")
@click.option(
    "--older-than",
    default=None,
    metavar="AGE",
    help="Remove entries not used for this long, e.g. 7d [default: 7d].",
)
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    default=None,
    help="Keep the N most recently used entries of each job.",
)
@click.option("--all", "everything", is_flag=True, help="Remove every entry, used or not.")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def cache_prune(older_than: str | None, keep: int | None, everything: bool, dry_run: bool) -> None:
    """Remove cache entries not used for a while (all projects on this engine)."""
    from runner.commands.cache import prune

    age = None if everything else _age(older_than or "7d")
    if not everything and not age:
        raise click.BadParameter(
            "must be longer than 0; use --all to remove everything", param_hint="--older-than"
        )
    keep = None if everything else keep
    _exit_with(lambda: prune(dict(os.environ), older_than=age, keep=keep, dry_run=dry_run))


@cache.command("key")
@click.argument("job")
@PIPELINE
@VARIABLES
@event_options
def cache_key(job: str, pipeline: Path, variables: tuple[str, ...], **given: Any) -> None:
    """Print a job's cache key and the inputs that made it (pass the run's --var too)."""
    from runner.commands.cache import show_key

    spec = _event_request(given)
    request = _request(pipeline, jobs=(job,), variables=variables)
    _exit_with(lambda: show_key(_evented(request, spec), job, dict(os.environ), Path.cwd()))


@main.command()
@click.argument("run_id")
@click.argument("job")
def approve(run_id: str, job: str) -> None:
    """Approve a job of a run that waits for it: a `when: manual` job, or a deploy to an
    environment with `approval: required`."""
    from runner.commands.approve import approve as command

    _exit_with(lambda: command(run_id, job, dict(os.environ)))


def _stop_on_sigterm() -> None:
    """SIGTERM (systemd's stop) ends `serve` as Ctrl-C does: its runs are cancelled and
    recorded, and the state folder is let go."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@main.command()
@click.option(
    "--repo",
    default=None,
    metavar="URL-OR-PATH",
    help="The repository to fetch commits from [default: the one here].",
)
@click.option("--listen", default="127.0.0.1:8470", show_default=True, metavar="HOST:PORT")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="How many runs may go at once; the others wait in the queue.",
)
@click.option(
    "--webhook-secret-file",
    "secret_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The webhooks' secret [default: $DOCKSTEP_WEBHOOK_SECRET].",
)
@click.option(
    "--backend",
    type=click.Choice(["local", "swarm"]),
    default=None,
    help="Where every run's steps jobs go [default: each pipeline's defaults.backend].",
)
@click.option(
    "--registry",
    default=None,
    metavar="HOST:PORT/PATH",
    help="Registry the swarm's nodes pull workspace and cache layers from (swarm backend).",
)
def serve(
    *,
    repo: str | None,
    listen: str,
    concurrency: int,
    secret_file: Path | None,
    backend: str | None,
    registry: str | None,
) -> None:
    """Run the pipelines on webhooks and schedules: a queue, a history and a dashboard."""
    _stop_on_sigterm()
    from runner.commands.serve import ServeOptions
    from runner.commands.serve import serve as command
    from runner.model.pipeline import Backend

    options = ServeOptions(
        repo=repo,
        listen=listen,
        concurrency=concurrency,
        secret_file=secret_file,
        backend=Backend(backend) if backend else None,
        registry=_registry(registry),
    )
    _exit_with(lambda: command(options, dict(os.environ), Path.cwd()))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def runs(as_json: bool, limit: int) -> None:
    """List recorded runs, newest first: the service's and `dockstep run`'s."""
    from runner.commands.runs import runs as command

    _exit_with(lambda: command(dict(os.environ), as_json=as_json, limit=limit))


@main.command()
@click.argument("run_id", type=int, metavar="RUN")
@click.argument("job", required=False)
@click.option("--pipeline", default="", help="The job's pipeline, when two have that job.")
@click.option("-f", "--follow", "follow_", is_flag=True, help="Keep printing while it runs.")
def logs(run_id: int, job: str | None, pipeline: str, follow_: bool) -> None:
    """Print a recorded run's job log (every job's without JOB)."""
    from runner.commands.logs import logs as command

    _exit_with(lambda: command(dict(os.environ), run_id, job, pipeline=pipeline, follow_=follow_))


@main.command()
@click.argument("run_id", type=int, metavar="RUN")
@click.option("--failed", is_flag=True, help="Only the failed jobs and what depends on them.")
def rerun(run_id: int, failed: bool) -> None:
    """Run a recorded run again (the service's runs by the service)."""
    token = stopsignals.TOKEN  # as for `run`: the first signal cancels, a second forces
    from runner.commands.rerun import rerun as command

    environ = dict(os.environ)
    _exit_with(lambda: command(environ, run_id, failed=failed, cwd=Path.cwd(), token=token))


@main.command()
@click.argument("run_id", type=int, metavar="RUN")
def cancel(run_id: int) -> None:
    """Cancel a queued or running run of the service."""
    from runner.commands.cancel import cancel as command

    _exit_with(lambda: command(dict(os.environ), run_id))


@main.command()
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def clean(dry_run: bool) -> None:
    """Remove containers, networks, volumes (and swarm services, secrets, configs) left by
    runs whose process is gone."""
    from runner.commands.clean import clean as command

    _exit_with(lambda: command(dry_run=dry_run))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
