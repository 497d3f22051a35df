"""A real image registry on 127.0.0.1 for the cache tests: the CNCF distribution registry.

The session fixture `registry` starts `docker-registry serve CONFIG` on a free loopback port
with its storage in a temporary directory, waits until `/v2/` answers, and stops it at the
end of the session, so nothing is left running. Every request goes to 127.0.0.1 only, and
never through a proxy.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HOST = "127.0.0.1"
BINARY = "/usr/bin/docker-registry"
START_WAIT = 20.0  # seconds for the registry to answer before the session gives up
STOP_WAIT = 10.0
ATTEMPTS = 3  # a port picked free can be taken before the registry binds it

# Only ever 127.0.0.1, and never through a proxy (an empty ProxyHandler ignores *_proxy).
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Registry:
    """A running registry: where it listens and how to read what it holds."""

    port: int
    root: Path
    log: Path

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.address}{path}"

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, Any]:
        """GET a registry API path: the status and the decoded JSON body (None if not JSON)."""
        try:
            with _LOCAL.open(self.url(path), timeout=timeout) as response:
                status, body = int(response.status), response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        try:
            return status, json.loads(body or b"null")
        except ValueError:
            return status, None

    def tags(self, repository: str) -> list[str]:
        """The tags of a repository; [] when the registry does not know it."""
        status, body = self.get(f"/v2/{repository}/tags/list")
        if status != 200 or not isinstance(body, dict):
            return []
        return list(body.get("tags") or [])


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def closed_port() -> int:
    """A loopback port where nothing answers: connections are refused at once."""
    return free_port()


def _config(root: Path, port: int) -> str:
    return "\n".join(
        [
            "version: 0.1",
            "log:",
            "  level: warn",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {root}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {HOST}:{port}",
            "",
        ]
    )


def _answers(registry: Registry) -> bool:
    try:
        status, _ = registry.get("/v2/", timeout=1.0)
    except OSError:
        return False
    return status == 200


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_WAIT)


def _start(directory: Path) -> tuple[Registry, subprocess.Popen[bytes]] | None:
    """Start one registry; None when it exited (its port was taken) before answering."""
    port = free_port()
    root = directory / f"storage-{port}"
    root.mkdir(parents=True)
    config = directory / f"config-{port}.yml"
    config.write_text(_config(root, port))
    log = directory / f"registry-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [BINARY, "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C meant for pytest does not reach it first
        )
    registry = Registry(port=port, root=root, log=log)
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        if _answers(registry):
            return registry, process
        time.sleep(0.05)
    _stop(process)
    pytest.fail(
        f"docker-registry did not answer on {registry.address} within {START_WAIT}s:\n"
        + log.read_text(errors="replace")
    )


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry serving on a free 127.0.0.1 port for the whole session, then stopped."""
    if shutil.which(BINARY) is None:
        pytest.fail(
            f"{BINARY} is missing: the cache registry tests need the distribution registry "
            "(apt-get install docker-registry; scripts/setup.sh installs it)",
            pytrace=False,
        )
    directory = tmp_path_factory.mktemp("registry")
    for _ in range(ATTEMPTS):
        started = _start(directory)
        if started is not None:
            break
    else:
        logs = "\n".join(p.read_text(errors="replace") for p in directory.glob("*.log"))
        pytest.fail(f"docker-registry exited before it answered, {ATTEMPTS} times:\n{logs}")
    running, process = started
    try:
        yield running
    finally:
        _stop(process)
        assert process.returncode is not None, "the registry is still running"
