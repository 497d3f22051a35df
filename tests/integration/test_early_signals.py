"""A Ctrl-C or SIGTERM right after `dockstep run` starts is honoured: 130, nothing left.

The signal lands while the CLI is still importing (click, the Docker SDK, the session),
before or around the first Docker call. The runs start as a shell starts a background
command (SIGINT ignored, see `_as_background`) or with SIGINT at its default.

"Starts" is once the process can catch a signal at all: the delays count from the moment
the kernel shows SIGINT and SIGTERM caught (`SigCgt` in /proc/PID/status), which is when
`runner/stopsignals.py`, the CLI's first import, has run. Before that no program code can
see a signal (inherited as ignored it is dropped, at its default it kills the process);
timing from the spawn instead made the first delay race the interpreter's own start-up
on a loaded machine.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import docker
import pytest

from tests.integration.fixtures.engine import OWNER_PID, labelled
from tests.integration.fixtures.workspace import Workspace

DELAYS_MS = (0, 50, 100, 200, 300)
PIPELINE = "jobs:\n  j: {steps: ['sleep 30']}\n"  # not interrupted, it would pass in 30 s


def _as_background() -> None:
    """`dockstep run &` in a script: the shell starts it with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


STOPS = (signal.SIGINT, signal.SIGTERM)


def _catching(pid: int, seconds: float = 30) -> None:
    """Wait until the process catches SIGINT and SIGTERM (its handlers are installed)."""
    wanted = sum(1 << (stop - 1) for stop in STOPS)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            pytest.fail(f"process {pid} ended before it caught any signal")
        caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
        if int(caught.split()[1], 16) & wanted == wanted:
            return
        time.sleep(0.001)
    pytest.fail(f"process {pid} did not catch SIGINT and SIGTERM within {seconds} s")


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
    workspace: Workspace, engine: docker.DockerClient, delay_ms: int, signum: int
) -> None:
    """Started in the background (SIGINT ignored) and in the foreground (at its default)."""
    for background in (True, False):
        _interrupt_early(workspace, engine, delay_ms / 1000, signum, background)


def _interrupt_early(
    workspace: Workspace, engine: docker.DockerClient, after: float, signum: int, background: bool
) -> None:
    workspace.pipeline(PIPELINE)
    process = _start(workspace, background=background)
    _catching(process.pid)
    time.sleep(after)
    process.send_signal(signum)
    result = workspace.finish(process, timeout=60)
    where = "background" if background else "foreground"
    assert result.code == 130, f"{where}: {result}"
    assert labelled(engine, f"{OWNER_PID}={process.pid}") == []
