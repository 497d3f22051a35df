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

from runner.errors import EXIT_INTERRUPTED, DockstepError
from runner.model.pipeline import pairs
from runner.names import VARIABLE_NAME

if TYPE_CHECKING:
    from runner.session import RunRequest

PIPELINE = click.argument(
    "pipeline", type=click.Path(dir_okay=False, path_type=Path), default="pipelines/ci.yml"
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
    if context.invoked_subcommand != "run":
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
EVENT = click.option(
    "--event",
    default="push",
    show_default=True,
    type=click.Choice(EVENTS),
    help="The event `if:` conditions see.",
)


def _request(pipeline: Path, **options: Any) -> RunRequest:
    """The request `run` would make of these options, for `plan`, `graph` and `cache key`."""
    from runner.session import RunRequest

    variables = _variables(options.pop("variables", ()))
    return RunRequest(pipeline=pipeline, variables=variables, **options)


@main.command()
@PIPELINE
@click.option("--job", "jobs", multiple=True, help="Plan only this job and what it needs.")
@VARIABLES
@EVENT
@ALLOW_UNPINNED
def plan(
    pipeline: Path,
    jobs: tuple[str, ...],
    variables: tuple[str, ...],
    event: str,
    allow_unpinned: bool,
) -> None:
    """Show what runs, in which order, and what runs in parallel (as `run` would decide)."""
    from runner.commands.inspect import show_plan

    request = _request(
        pipeline, jobs=jobs, variables=variables, event=event, allow_unpinned=allow_unpinned
    )
    _exit_with(lambda: show_plan(request, Path.cwd()))


@main.command()
@PIPELINE
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid")
@VARIABLES
@EVENT
@ALLOW_UNPINNED
def graph(
    pipeline: Path, fmt: str, variables: tuple[str, ...], event: str, allow_unpinned: bool
) -> None:
    """Print the job graph as Mermaid (default) or Graphviz DOT."""
    from runner.commands.inspect import show_graph

    request = _request(pipeline, variables=variables, event=event, allow_unpinned=allow_unpinned)
    _exit_with(lambda: show_graph(request, Path.cwd(), fmt=fmt))


@main.command()
@PIPELINE
@click.option("--job", "jobs", multiple=True, help="Run only this job and what it needs.")
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
@VARIABLES
@EVENT
@click.option(
    "--approve",
    "approve",
    multiple=True,
    metavar="JOB",
    help="Approve this deploy job up front (for runs nobody watches).",
)
@click.option("--no-cache", is_flag=True, help="Run every install cold and store its layer anew.")
@click.option(
    "--ca-bundle",
    default=None,
    metavar="PATH",
    help="CA bundle mounted into steps [default: the host's; '' for none].",
)
@ALLOW_UNPINNED
def run(
    *,
    pipeline: Path,
    jobs: tuple[str, ...],
    workers: int | None,
    keep_going: bool,
    report_file: Path | None,
    variables: tuple[str, ...],
    event: str,
    ca_bundle: str | None,
    no_cache: bool,
    approve: tuple[str, ...],
    allow_unpinned: bool,
) -> None:
    """Run a pipeline's jobs in containers."""
    # SIGINT, SIGTERM and SIGHUP cancel the run (since the process started): jobs stop,
    # everything is removed, exit 130. A second one stops waiting for the jobs to stop.
    token = stopsignals.TOKEN
    from runner.commands.run import run as command
    from runner.session import RunRequest

    request = RunRequest(
        pipeline=pipeline,
        jobs=jobs,
        workers=workers or max(4, os.cpu_count() or 1),
        keep_going=keep_going,
        report_file=report_file,
        allow_unpinned=allow_unpinned,
        variables=_variables(variables),
        event=event,
        ca_bundle=ca_bundle,
        use_cache=not no_cache,
        approve=approve,
        interactive=sys.stdin.isatty() and os.environ.get("CI") != "true",
    )
    _exit_with(lambda: command(request, dict(os.environ), Path.cwd(), token))


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
@EVENT
def cache_key(job: str, pipeline: Path, variables: tuple[str, ...], event: str) -> None:
    """Print a job's cache key and the inputs that made it (pass the run's --var too)."""
    from runner.commands.cache import show_key

    request = _request(pipeline, jobs=(job,), variables=variables, event=event)
    _exit_with(lambda: show_key(request, job, dict(os.environ), Path.cwd()))


@main.command()
@click.argument("run_id")
@click.argument("job")
def approve(run_id: str, job: str) -> None:
    """Approve a deploy job of a run that waits for it (environments with approval: required)."""
    from runner.commands.approve import approve as command

    _exit_with(lambda: command(run_id, job, dict(os.environ)))


@main.command()
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
def clean(dry_run: bool) -> None:
    """Remove containers, networks and volumes left by runs whose process is gone."""
    from runner.commands.clean import clean as command

    _exit_with(lambda: command(dry_run=dry_run))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
