"""`dockstep run`: the session on the local engine (and, for a swarm run, its swarm), with
the terminal as its console; `dockstep run --all`: the orchestration of every pipeline the
event triggers.

A single-pipeline run is recorded in the local run history (the service's, in the state
folder) so that `dockstep runs`, `logs` and `rerun --failed` see it; the session itself
records nothing.

What only some runs need is imported where it is needed (issue 14): the orchestration of
`--all`, the swarm client of a swarm run; the run history is opened on a thread
(`commands/history.py`). `tests/integration/test_import_budget.py` holds it.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from contextlib import ExitStack, closing
from pathlib import Path
from typing import TYPE_CHECKING

from runner import session
from runner.cancel import CancelToken
from runner.commands.history import CliHistory
from runner.engine.docker.engine import DockerEngine
from runner.output import default_console, live
from runner.progress import ProgressMode

if TYPE_CHECKING:
    from runner import git
    from runner.engine.swarm.client import SwarmClient


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
    history = CliHistory(environ, prepared, f"cli {_user()}")
    result = None
    try:
        with ExitStack() as stack:
            engine = stack.enter_context(closing(DockerEngine()))
            swarm = stack.enter_context(closing(_swarm_client())) if on_swarm else None
            console = stack.enter_context(live(default_console(environ, progress=progress)))
            result = session.run(prepared, engine=engine, console=console, token=token, swarm=swarm)
    finally:
        history.finish(result)
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
    from runner import orchestrate, pipelines  # noqa: PLC0415 (only --all composes pipelines)

    request = pipelines.request_for_all(options, spec, cwd)
    composed = pipelines.compose_request(request, cwd)  # every file checked before Docker
    on_swarm = any(p.needs_swarm for p in composed.pipelines)
    with ExitStack() as stack:
        engine = stack.enter_context(closing(DockerEngine()))  # connects at its first call
        swarm = stack.enter_context(closing(_swarm_client())) if on_swarm else None
        console = stack.enter_context(live(default_console(environ, progress=progress)))
        result = orchestrate.run(
            request,
            environ=environ,
            cwd=cwd,
            engine=engine,
            console=console,
            token=token,
            swarm=swarm,
        )
    return result.exit_code


def _swarm_client() -> SwarmClient:
    from runner.engine.swarm.client import SwarmClient  # noqa: PLC0415 (swarm runs only)

    return SwarmClient()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
