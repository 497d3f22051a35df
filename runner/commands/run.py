"""`dockstep run`: the session on the local engine (and, for a swarm run, its swarm), with
the terminal as its console; `dockstep run --all`: the orchestration of every pipeline the
event triggers.

A single-pipeline run is recorded in the local run history (the service's, in the state
folder) so that `dockstep runs`, `logs` and `rerun --failed` see it; the session itself
records nothing.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from contextlib import ExitStack, closing
from pathlib import Path

from runner import git, orchestrate, pipelines, session
from runner.cancel import CancelToken
from runner.engine.docker.engine import DockerEngine
from runner.engine.swarm.client import SwarmClient
from runner.output import default_console, live
from runner.progress import ProgressMode
from runner.service import recording


def run(
    request: session.RunRequest,
    environ: Mapping[str, str],
    cwd: Path,
    token: CancelToken,
    *,
    progress: ProgressMode = ProgressMode.AUTO,
) -> int:
    prepared = session.prepare(request, environ, cwd)
    on_swarm = prepared.resolved.pipeline.needs_swarm
    history = recording.open_history(environ)
    run_id = None
    try:
        if history is not None:
            run_id = recording.start_cli_run(history, prepared, f"cli {_user()}")
        with ExitStack() as stack:
            engine = stack.enter_context(closing(DockerEngine()))
            swarm = stack.enter_context(closing(SwarmClient())) if on_swarm else None
            console = stack.enter_context(live(default_console(environ, progress=progress)))
            result = session.run(prepared, engine=engine, console=console, token=token, swarm=swarm)
        if history is not None and run_id is not None:
            recording.finish_cli_run(history, run_id, result)
    except BaseException:
        if history is not None and run_id is not None:
            recording.abandon_cli_run(history, run_id)
        raise
    finally:
        if history is not None:
            history.close()
    return result.exit_code


def run_all(
    options: session.RunRequest,
    spec: git.EventRequest | None,
    environ: Mapping[str, str],
    cwd: Path,
    token: CancelToken,
    *,
    progress: ProgressMode = ProgressMode.AUTO,
) -> int:
    """Without --event, the pipelines run for a push of what git has checked out."""
    request = pipelines.request_for_all(options, spec, cwd)
    with (
        closing(DockerEngine()) as engine,  # connects at its first call, after the checks
        live(default_console(environ, progress=progress)) as console,
    ):
        result = orchestrate.run(
            request, environ=environ, cwd=cwd, engine=engine, console=console, token=token
        )
    return result.exit_code


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
