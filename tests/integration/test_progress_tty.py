"""The live status line on a real terminal: dockstep's stdout is a pty's slave end.

It shows a running job with its elapsed time and phase below the log lines, is cleared
before the summary, and never reaches a job's log file; `--progress plain` on the same
terminal writes no escape at all.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.fixtures.workspace import RUN_TIMEOUT, Workspace

CLEAR_LINE = "\r\x1b[2K"
COLUMNS = 100
STATUS = re.compile(r"running: (?:\S+ \S+ [^,\r\n]*, )*slow (\d+)s step 1/2 'sleep 3'")
PIPELINE = """\
    jobs:
      slow:
        steps: ["sleep 3", "echo slept"]
    """


@dataclass
class Screen:
    code: int
    text: str  # what the terminal received, with its \r\n turned back into \n
    report: dict[str, object]

    def summary(self) -> str:
        """The summary table and verdict: from the table's header line to the end."""
        found = re.search(r"^job +stage +status", self.text, re.MULTILINE)
        assert found, f"no summary table in:\n{self.text!r}"
        return self.text[found.start() :]


def on_a_terminal(workspace: Workspace, *args: str) -> Screen:
    """`dockstep run ARGS` with its stdout on a terminal of COLUMNS columns, to the end."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    env = {k: v for k, v in workspace.env.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen(
        workspace.command("run", *args, "--report", "report.json"),
        cwd=workspace.path,
        env={**env, "TERM": "xterm"},
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
    )
    workspace.owners.pids.add(process.pid)
    os.close(slave)
    try:
        received = _read_all(master)
    finally:
        os.close(master)
        if process.poll() is None:  # it outlived the deadline
            process.kill()
    _, stderr = process.communicate(timeout=30)
    report = json.loads((workspace.path / "report.json").read_text())
    workspace.owners.run_ids.add(str(report["run_id"]))
    text = received.decode("utf-8", "replace").replace("\r\n", "\n")
    assert process.returncode == 0, f"{text}\n--- stderr\n{stderr.decode()}"
    return Screen(code=process.returncode, text=text, report=report)


def _read_all(master: int) -> bytes:
    """Everything written to the terminal until its last writer has gone (EIO on Linux)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    pytest.fail(f"dockstep did not end within {RUN_TIMEOUT}s:\n{b''.join(chunks)!r}")


def test_a_terminal_shows_the_running_job_below_its_log_and_clears_it_before_the_summary(
    workspace: Workspace,
) -> None:
    workspace.pipeline(PIPELINE)
    screen = on_a_terminal(workspace)
    shown = [int(seconds) for seconds in STATUS.findall(screen.text)]
    assert shown, f"no status line for the running job in:\n{screen.text!r}"
    assert max(shown) >= 1, shown  # redrawn while it ran: its time moved on
    last = max(m.end() for m in STATUS.finditer(screen.text))
    table = screen.text.index(screen.summary())
    assert CLEAR_LINE in screen.text[last:table]  # cleared after its last drawing
    assert "\x1b" not in screen.summary()  # and never drawn again within the summary
    assert re.search(r"^slow +\S+ +passed", screen.summary(), re.MULTILINE)
    assert "pipeline passed" in screen.summary()
    for line in screen.text.split(CLEAR_LINE):
        visible = line.rsplit("\n", 1)[-1]
        assert len(visible) < COLUMNS  # a status line never wraps
    jobs = screen.report["jobs"]
    assert isinstance(jobs, list)
    log = Path(jobs[0]["log_file"]).read_text()
    assert "slept" in log
    assert "running:" not in log
    assert "\x1b" not in log


def test_plain_progress_on_a_terminal_writes_no_escape_at_all(workspace: Workspace) -> None:
    workspace.pipeline(PIPELINE)
    screen = on_a_terminal(workspace, "--progress", "plain")
    assert "\x1b" not in screen.text
    assert "running:" not in screen.text
    assert "slow | slept" in screen.text
