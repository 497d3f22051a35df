"""The commands of the runner service and its history: `serve`, `runs`, `logs`, `rerun`,
`cancel` and `approve`. `cli.py` adds them to the `dockstep` group."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import FrameType

import click

from runner import stopsignals
from runner.cli_common import exit_with, registry_option


@click.command()
@click.argument("run_id")
@click.argument("job")
def approve(run_id: str, job: str) -> None:
    """Approve a job of a run that waits for it: a `when: manual` job, or a deploy to an
    environment with `approval: required`."""
    from runner.commands.approve import approve as command

    exit_with(lambda: command(run_id, job, dict(os.environ)))


def _stop_on_sigterm() -> None:
    """SIGTERM (systemd's stop) ends `serve` as Ctrl-C does: its runs are cancelled and
    recorded, and the state folder is let go."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@click.command()
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
        registry=registry_option(registry),
    )
    exit_with(lambda: command(options, dict(os.environ), Path.cwd()))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
def runs(as_json: bool, limit: int) -> None:
    """List recorded runs, newest first: the service's and `dockstep run`'s."""
    from runner.commands.runs import runs as command

    exit_with(lambda: command(dict(os.environ), as_json=as_json, limit=limit))


@click.command()
@click.argument("run_id", type=int, metavar="RUN")
@click.argument("job", required=False)
@click.option("--pipeline", default="", help="The job's pipeline, when two have that job.")
@click.option("-f", "--follow", "follow_", is_flag=True, help="Keep printing while it runs.")
def logs(run_id: int, job: str | None, pipeline: str, follow_: bool) -> None:
    """Print a recorded run's job log (every job's without JOB)."""
    from runner.commands.logs import logs as command

    exit_with(lambda: command(dict(os.environ), run_id, job, pipeline=pipeline, follow_=follow_))


@click.command()
@click.argument("run_id", type=int, metavar="RUN")
@click.option("--failed", is_flag=True, help="Only the failed jobs and what depends on them.")
def rerun(run_id: int, failed: bool) -> None:
    """Run a recorded run again (the service's runs by the service)."""
    token = stopsignals.TOKEN  # as for `run`: the first signal cancels, a second forces
    from runner.commands.rerun import rerun as command

    environ = dict(os.environ)
    exit_with(lambda: command(environ, run_id, failed=failed, cwd=Path.cwd(), token=token))


@click.command()
@click.argument("run_id", type=int, metavar="RUN")
def cancel(run_id: int) -> None:
    """Cancel a queued or running run of the service."""
    from runner.commands.cancel import cancel as command

    exit_with(lambda: command(dict(os.environ), run_id))


COMMANDS = (approve, serve, runs, logs, rerun, cancel)
