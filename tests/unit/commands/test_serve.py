"""`dockstep serve`'s options: where it listens, its secret (never from the command line)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from runner.commands.serve import (
    SECRET_ENV,
    ServeOptions,
    backends,
    listen_address,
    remote_of,
    webhook_secret,
)
from runner.engine.swarm.api import Swarm
from runner.errors import UsageError
from runner.model.pipeline import Backend


@pytest.mark.parametrize(
    ("value", "expected"),
    [("127.0.0.1:8470", ("127.0.0.1", 8470)), ("[::1]:80", ("[::1]", 80))],
)
def test_listen_addresses(value: str, expected: tuple[str, int]) -> None:
    assert listen_address(value) == expected


@pytest.mark.parametrize("value", ["8470", "127.0.0.1", ":8470", "host:port"])
def test_bad_listen_addresses_are_refused(value: str) -> None:
    with pytest.raises(UsageError, match="HOST:PORT"):
        listen_address(value)


def test_the_secret_comes_from_its_file_first_then_the_environment(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    assert webhook_secret(secret_file, {SECRET_ENV: "from-env"}) == "from-file"
    assert webhook_secret(None, {SECRET_ENV: "from-env"}) == "from-env"
    with pytest.raises(UsageError, match="needs a webhook secret"):
        webhook_secret(None, {})
    with pytest.raises(UsageError, match="--webhook-secret-file"):
        webhook_secret(tmp_path / "missing", {})


def test_a_repository_path_becomes_absolute_and_a_url_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path)
    assert remote_of("repo", tmp_path) == str(tmp_path / "repo")
    assert remote_of("https://git.example/x.git", tmp_path) == "https://git.example/x.git"


class PingCounter:
    """Only `ping` is called when the service starts; the rest of the swarm is not."""

    def __init__(self) -> None:
        self.pings = 0

    def ping(self) -> None:
        self.pings += 1


def _options(backend: Backend | None, registry: str | None) -> ServeOptions:
    return ServeOptions(
        repo=None,
        listen="127.0.0.1:8470",
        concurrency=1,
        secret_file=None,
        backend=backend,
        registry=registry,
    )


def test_a_swarm_service_needs_a_registry_and_a_manager_at_start() -> None:
    counter = PingCounter()
    swarm = cast(Swarm, counter)
    with pytest.raises(UsageError, match="--registry HOST:PORT/PATH"):
        backends(_options(Backend.SWARM, None), swarm)
    assert counter.pings == 0
    found = backends(_options(Backend.SWARM, "127.0.0.1:5000/ds"), swarm)
    assert (found.backend, found.registry, found.swarm) == (
        Backend.SWARM,
        "127.0.0.1:5000/ds",
        swarm,
    )
    assert counter.pings == 1


def test_a_local_service_keeps_the_swarm_for_pipelines_that_ask_for_it() -> None:
    counter = PingCounter()
    swarm = cast(Swarm, counter)
    found = backends(_options(None, None), swarm)
    assert (found.backend, found.registry, found.swarm, counter.pings) == (None, None, swarm, 0)
