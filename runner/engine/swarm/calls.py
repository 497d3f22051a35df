"""Every SDK call of the swarm door goes through `call`: a missing engine becomes
SwarmUnavailable (a 503 "not a swarm manager" too), any other failure an EngineError."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import docker.errors
import requests.exceptions

from runner.engine.swarm.api import SwarmUnavailable
from runner.errors import EngineError

T = TypeVar("T")


def call(what: str, action: Callable[[], T]) -> T:
    try:
        return action()
    except (requests.exceptions.ConnectionError, FileNotFoundError) as error:
        raise SwarmUnavailable(f"no Docker engine answers: {error}") from error
    except docker.errors.APIError as error:
        if error.status_code == 503:  # "This node is not a swarm manager"
            raise SwarmUnavailable(f"{what}: {error.explanation}") from error
        raise EngineError(f"{what}: {error.explanation or error}") from error
    except docker.errors.DockerException as error:
        raise EngineError(f"{what}: {error}") from error


def gone(error: EngineError) -> bool:
    cause = error.__cause__
    return isinstance(cause, docker.errors.APIError) and cause.status_code == 404
