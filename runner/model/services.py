"""Service containers: what a job's steps talk to (a database, a cache), ready before them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from runner.model.pipeline import ImageRef, Pairs, Position

DEFAULT_READY_TIMEOUT = 60.0


class ReadyKind(StrEnum):
    RUNNING = "running"  # no check: the container has started
    TCP = "tcp"  # a port accepts connections, checked inside the service container
    HTTP = "http"  # a URL answers 2xx/3xx, fetched inside the service container
    COMMAND = "command"  # a shell command exits 0 in the service container
    HEALTHCHECK = "healthcheck"  # the image's own HEALTHCHECK reports healthy


@dataclass(frozen=True, slots=True, kw_only=True)
class Readiness:
    """When a service counts as ready; retried every `interval` until `timeout`."""

    kind: ReadyKind = ReadyKind.RUNNING
    target: str = ""  # the port (tcp), URL (http) or shell command (command)
    timeout: float = DEFAULT_READY_TIMEOUT
    interval: float = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """A container beside the job's own, reachable from the steps by `alias`."""

    alias: str  # the host name on the job's network (the key under `services:`)
    image: ImageRef
    env: Pairs = ()
    command: str | None = None  # run with sh -c; None keeps the image's command
    ready: Readiness = Readiness()
    position: Position | None = None
