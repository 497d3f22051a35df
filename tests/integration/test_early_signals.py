"""A Ctrl-C or SIGTERM right after `dockstep run` starts is honoured: 130, nothing left.

The signal lands while the CLI is still importing (click, the Docker SDK, the session),
before or around the first Docker call. The runs start as a shell starts a background
command (SIGINT ignored, see `_as_background`) or with SIGINT at its default.

"Starts" is once the Python interpreter itself is up: a signal before that reaches no
program code at all (inherited as ignored it is dropped by the kernel, at its default it
kills the process), so the delays count from the time a bare `python -c pass` takes here,
measured by the test itself (the machine may be loaded).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import docker
import pytest

from tests.integration.fixtures.engine import OWNER_PID, labelled
from tests.integration.fixtures.workspace import Workspace

DELAYS_MS = (0, 50, 100, 200, 300)
PIPELINE = "jobs:\n  j: {steps: ['sleep 30']}\n"  # not interrupted, it would pass in 30 s


def _as_background() -> None:
    """`dockstep run &` in a script: the shell starts it with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(scope="module")
def startup() -> float:
    """Seconds the interpreter needs to start and end here, the longest of three tries."""
    times = []
    for _ in range(3):
        began = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
        times.append(time.monotonic() - began)
    return max(times)


def _start(workspace: Workspace, *, background: bool) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        workspace.command("run"),
        cwd=workspace.path,
        env=workspace.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_background if background else None,  # noqa: PLW1509
    )
    workspace.owners.pids.add(process.pid)
    return process


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("delay_ms", DELAYS_MS)
def test_an_early_signal_ends_the_run_with_130_and_leaves_nothing(
    workspace: Workspace, engine: docker.DockerClient, startup: float, delay_ms: int, signum: int
) -> None:
    """Started in the background (SIGINT ignored) and in the foreground (at its default)."""
    for background in (True, False):
        _interrupt_early(workspace, engine, startup + delay_ms / 1000, signum, background)


def _interrupt_early(
    workspace: Workspace, engine: docker.DockerClient, after: float, signum: int, background: bool
) -> None:
    workspace.pipeline(PIPELINE)
    process = _start(workspace, background=background)
    time.sleep(after)
    process.send_signal(signum)
    result = workspace.finish(process, timeout=60)
    where = "background" if background else "foreground"
    assert result.code == 130, f"{where}: {result}"
    assert labelled(engine, f"{OWNER_PID}={process.pid}") == []
