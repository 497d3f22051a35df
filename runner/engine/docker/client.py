"""The connection to the Docker engine, and the translation of its failures.

Every role module (`containers`, `images`, `resources`) calls the SDK through `call` or
`ignore_gone`, so SDK exceptions become dockstep's errors here and nowhere else.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

import docker
import docker.errors
import requests.exceptions
from docker.utils import kwargs_from_env
from docker.utils.socket import frames_iter

from runner.engine.api import OutputSink
from runner.engine.inflight import InFlight
from runner.errors import EngineError, EngineUnavailable

T = TypeVar("T")
API_VERSION = "1.41"  # Docker 20.10; pinning it saves a version round trip per client


def call(what: str, action: Callable[[], T]) -> T:
    """Run an SDK call, translating its failures."""
    try:
        return action()
    except (requests.exceptions.ConnectionError, FileNotFoundError) as error:
        raise EngineUnavailable(f"no Docker engine answers at {where()}: {error}") from error
    except docker.errors.DockerException as error:
        raise EngineError(f"{what}: {explain(error)}") from error


def ignore_gone(what: str, action: Callable[[], object], *statuses: int) -> None:
    """Run a removal, treating the given HTTP statuses as "already done".

    404 is "already gone"; 409 is "already being removed" or "not running" (for kill).
    """
    try:
        call(what, action)
    except EngineError as error:
        cause = error.__cause__
        if isinstance(cause, docker.errors.APIError) and cause.status_code in statuses:
            return
        raise


def where() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def is_local() -> bool:
    """Whether the engine runs on this host (its cgroup files are ours to read)."""
    return where().startswith("unix://")


def explain(error: docker.errors.DockerException) -> str:
    if isinstance(error, docker.errors.APIError) and error.explanation:
        return str(error.explanation)
    return str(error)


def timestamp(text: str | None) -> float:
    """An RFC 3339 time from the engine (e.g. a volume's CreatedAt) as epoch seconds."""
    if not text:
        return 0.0
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return 0.0


def in_band(stream: Iterator[dict[str, Any]], log: OutputSink | None) -> None:
    """Consume a build/pull progress stream, raising on its in-band error lines."""
    for chunk in stream:
        if "error" in chunk:
            raise EngineError(str(chunk.get("error")).strip())
        text = chunk.get("stream")
        if text and log is not None:
            log(str(text).encode())


def frames(sock: Any) -> Iterator[bytes]:
    """The output frames of a hijacked attach/exec connection, then the connection closed.

    The SDK's `stream=True` forms leave closing to a caller that cannot reach the
    response, so every step would leak a socket.
    """
    try:
        for _stream, data in frames_iter(sock, tty=False):  # type: ignore[no-untyped-call]
            yield data
    finally:
        # the SDK parks the HTTP response on the socket; closing it closes the connection
        response = getattr(sock, "_response", None)
        (response or sock).close()


class Client:
    """The shared connection every role part of `DockerEngine` talks through."""

    def __init__(self, *, timeout: int = 120) -> None:
        self._timeout = timeout  # per API request; output streams have none

    @cached_property
    def in_flight(self) -> InFlight:
        return InFlight()

    def close_run(self, run_id: str, timeout: float) -> bool:
        return self.in_flight.close(run_id, timeout)

    @cached_property
    def api(self) -> docker.APIClient:
        def connect() -> docker.APIClient:
            kwargs = kwargs_from_env()
            return docker.APIClient(version=API_VERSION, timeout=self._timeout, **kwargs)

        return call("connecting to Docker", connect)

    def ping(self) -> None:
        call("ping", self.api.ping)

    def close(self) -> None:
        """Close the client's pooled connections."""
        if "api" in self.__dict__:
            self.api.close()
