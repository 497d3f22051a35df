"""`dockstep run`: the session on the local engine (and, for a swarm run, its swarm), with
the terminal as its console."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack, closing
from pathlib import Path

from runner import session
from runner.cancel import CancelToken
from runner.engine.docker.engine import DockerEngine
from runner.engine.swarm.client import SwarmClient
from runner.model.pipeline import Backend
from runner.output import default_console


def run(
    request: session.RunRequest, environ: Mapping[str, str], cwd: Path, token: CancelToken
) -> int:
    prepared = session.prepare(request, environ, cwd)
    on_swarm = prepared.resolved.pipeline.backend is Backend.SWARM
    with ExitStack() as stack:
        engine = stack.enter_context(closing(DockerEngine()))
        swarm = stack.enter_context(closing(SwarmClient())) if on_swarm else None
        result = session.run(
            prepared,
            engine=engine,
            console=default_console(environ),
            token=token,
            swarm=swarm,
        )
    return result.exit_code
