"""`dockstep serve`: the runner service on this machine, until SIGINT or SIGTERM.

Imported by the CLI only when `serve` runs: this module pulls in the HTTP app (Starlette,
uvicorn), which `dockstep run` must not pay for.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

import click

from runner import git, paths
from runner.engine.docker.engine import DockerEngine
from runner.engine.swarm.api import Swarm
from runner.engine.swarm.client import SwarmClient
from runner.errors import UsageError
from runner.model.pipeline import Backend
from runner.service import access
from runner.service.access import service_dir
from runner.service.app import serve as serve_http
from runner.service.launcher import Backends
from runner.service.service import Service, Settings

SECRET_ENV = "DOCKSTEP_WEBHOOK_SECRET"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    repo: str | None
    listen: str
    concurrency: int
    secret_file: Path | None
    backend: Backend | None = None  # --backend: every run's, else each pipeline's own
    registry: str | None = None  # --registry: what a swarm's nodes pull layers from


def listen_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise UsageError(f"--listen {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8470")
    return host, int(port)


def webhook_secret(secret_file: Path | None, environ: Mapping[str, str]) -> str:
    """From the file, else the environment: never from the command line, which every user
    of the machine can read in the process list."""
    if secret_file is not None:
        try:
            found = secret_file.read_text().strip()
        except OSError as error:
            raise UsageError(f"--webhook-secret-file {secret_file}: {error.strerror}") from None
    else:
        found = environ.get(SECRET_ENV, "")
    if not found:
        raise UsageError(
            "the service needs a webhook secret: --webhook-secret-file FILE, or "
            f"{SECRET_ENV}; every delivery is checked against it"
        )
    return found


def remote_of(repo: str | None, cwd: Path) -> str:
    """A path becomes absolute (the mirror fetches from elsewhere); a URL stays as it is."""
    if repo is None:
        return str(git.toplevel(cwd) or cwd)
    return str(Path(repo).resolve()) if Path(repo).exists() else repo


def backends(options: ServeOptions, swarm: Swarm) -> Backends:
    """Runs go to the swarm with --backend swarm, which needs --registry and a manager
    (checked now, not at the first webhook); a local service hands the swarm only to runs
    whose pipelines ask for it (`defaults.backend: swarm`, `deploy: {target: swarm}`)."""
    if options.backend is Backend.SWARM:
        if not options.registry:
            raise UsageError(
                "serve --backend swarm needs a registry its nodes pull from: "
                "--registry HOST:PORT/PATH (e.g. 127.0.0.1:5000/dockstep)"
            )
        swarm.ping()
    return Backends(backend=options.backend, registry=options.registry, swarm=swarm)


def serve(options: ServeOptions, environ: Mapping[str, str], cwd: Path) -> int:
    host, port = listen_address(options.listen)
    settings = Settings(
        remote=remote_of(options.repo, cwd),
        state_dir=paths.state_dir(environ),
        secret=webhook_secret(options.secret_file, environ),
        concurrency=options.concurrency,
    )
    home = service_dir(settings.state_dir)
    with closing(DockerEngine()) as engine, closing(SwarmClient()) as swarm:
        engine.ping()
        settings = replace(settings, backends=backends(options, swarm))
        service = Service(settings, engine=engine, environ=environ)
        service.open()
        try:
            token = access.token(home, environ)
            threading.Thread(target=service.run_schedules, name="schedules", daemon=True).start()

            def ready() -> None:
                url = f"http://{host}:{port}"
                access.write_address(home, url)
                click.echo(f"dockstep serve: {url} (dashboard), repository {settings.remote}")
                if options.backend is Backend.SWARM:
                    click.echo(f"dockstep serve: runs go to the swarm ({options.registry})")
                where = home / access.TOKEN_FILE
                click.echo(f"dockstep serve: the token for cancel/approve/re-run is in {where}")
                for run_id in service.interrupted:
                    click.echo(f"dockstep serve: run {run_id} was interrupted by the last stop")

            serve_http(service, token, host=host, port=port, ready=ready)
        except KeyboardInterrupt:
            pass
        finally:
            service.close()
    return 0
