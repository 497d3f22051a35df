"""`dockstep run`: the session on the local engine, with the terminal as its console;
`dockstep run --all`: the orchestration of every pipeline the event triggers."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from pathlib import Path

from runner import git, orchestrate, pipelines, session
from runner.cancel import CancelToken
from runner.engine.docker.engine import DockerEngine
from runner.output import default_console


def run(
    request: session.RunRequest, environ: Mapping[str, str], cwd: Path, token: CancelToken
) -> int:
    prepared = session.prepare(request, environ, cwd)
    with closing(DockerEngine()) as engine:
        result = session.run(prepared, engine=engine, console=default_console(environ), token=token)
    return result.exit_code


def run_all(
    options: session.RunRequest,
    spec: git.EventRequest | None,
    environ: Mapping[str, str],
    cwd: Path,
    token: CancelToken,
) -> int:
    """Without --event, the pipelines run for a push of what git has checked out."""
    request = pipelines.request_for_all(options, spec, cwd)
    with closing(DockerEngine()) as engine:  # connects at its first call, after the checks
        result = orchestrate.run(
            request,
            environ=environ,
            cwd=cwd,
            engine=engine,
            console=default_console(environ),
            token=token,
        )
    return result.exit_code
