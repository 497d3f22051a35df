"""`dockstep run`: the session on the local engine, with the terminal as its console."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from pathlib import Path

from runner import session
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
