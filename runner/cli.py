"""The command line: parses arguments, calls one function per command, and exits.

Commands import their modules lazily so `validate` never pays for the Docker SDK.

The only place that prints errors and chooses the process's exit code.
"""

from __future__ import annotations

# First of all: a Ctrl-C or SIGTERM while the rest is imported must count (issue 9, point 3).
from runner import stopsignals  # isort: split

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner import cli_cache, cli_service
from runner.cli_common import exit_with, registry_option
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

    exit_with(lambda: command(pipeline, Path.cwd(), allow_unpinned=allow_unpinned))


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
        exit_with(lambda: show_plans(request, spec, Path.cwd()))
    exit_with(lambda: show_plan(_evented(request, spec), Path.cwd()))


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
    exit_with(lambda: show_graph(_evented(request, spec), Path.cwd(), fmt=fmt))


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
        registry=registry_option(registry),
    )
    mode, environ, cwd = ProgressMode(progress), dict(os.environ), Path.cwd()
    if everything:
        exit_with(lambda: run_all(request, spec, environ, cwd, token, progress=mode))
    exit_with(lambda: command(_evented(request, spec), environ, cwd, token, progress=mode))


@cli_cache.cache.command("key")
@click.argument("job")
@PIPELINE
@VARIABLES
@event_options
def cache_key(job: str, pipeline: Path, variables: tuple[str, ...], **given: Any) -> None:
    """Print a job's cache key and the inputs that made it (pass the run's --var too)."""
    from runner.commands.cache import show_key

    spec = _event_request(given)
    request = _request(pipeline, jobs=(job,), variables=variables)
    exit_with(lambda: show_key(_evented(request, spec), job, dict(os.environ), Path.cwd()))


@main.command()
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def clean(dry_run: bool) -> None:
    """Remove containers, networks, volumes (and swarm services, secrets, configs, overlay
    networks) left by runs whose process is gone."""
    from runner.commands.clean import clean as command

    exit_with(lambda: command(dry_run=dry_run))


main.add_command(cli_cache.cache)
for service_command in cli_service.COMMANDS:
    main.add_command(service_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
