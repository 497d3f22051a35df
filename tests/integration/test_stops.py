"""Stops are graceful: SIGTERM to the step's processes, the job's grace, then SIGKILL.

A cancel (Ctrl-C, SIGTERM) and a timeout (the job's or a step's) alike; a step run as the
container's command and one exec'd into the job's running container alike.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.fixtures.workspace import Result, Workspace, wait_for_file

TRAPPING = "trap 'echo TERM-SEEN; exit 0' TERM; touch started; sleep 300"
IGNORING = "trap '' TERM; touch started; sleep 300"
FIRST = '"echo first", '  # makes the step under test an exec'd one (the job's second)
SHAPES = pytest.mark.parametrize("before", ["", FIRST], ids=["only-step", "exec-step"])


def _start(workspace: Workspace, job: str) -> subprocess.Popen[str]:
    """Write a pipeline with `job` (a YAML flow mapping), start it, wait for `started`."""
    workspace.pipeline(f"jobs:\n  j: {job}\n")
    process = workspace.start("run", "--report", "report.json")
    deadline = time.monotonic() + 60
    while not (workspace.path / "started").exists():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("the step did not start:\n" + "\n".join(process.communicate()))
        time.sleep(0.05)
    return process


def _log(result: Result) -> str:
    return Path(result.jobs["j"]["log_file"]).read_text()


@SHAPES
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_cancelled_step_hears_sigterm_and_its_last_lines_are_kept(
    workspace: Workspace, before: str, signum: int
) -> None:
    process = _start(workspace, f"{{steps: [{before}{json.dumps(TRAPPING)}]}}")
    sent = time.monotonic()
    process.send_signal(signum)
    result = workspace.finish(process, "report.json", timeout=60)
    took = time.monotonic() - sent
    assert result.code == 130, result
    assert "TERM-SEEN" in result.lines_of("j"), result
    assert "TERM-SEEN" in _log(result)
    assert result.jobs["j"]["status"] == "cancelled"
    assert took < 8, f"a step that obeys SIGTERM waited for the grace: {took:.1f}s"


@SHAPES
def test_a_step_that_ignores_sigterm_is_killed_after_the_grace(
    workspace: Workspace, before: str
) -> None:
    process = _start(workspace, f"{{stop_grace: 3s, steps: [{before}{json.dumps(IGNORING)}]}}")
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    result = workspace.finish(process, "report.json", timeout=60)
    took = time.monotonic() - sent
    assert result.code == 130, result
    assert 3 <= took < 3 + 4, f"took {took:.1f}s to stop with a 3s grace"


def test_a_second_ctrl_c_skips_the_grace(workspace: Workspace) -> None:
    process = _start(workspace, f"{{stop_grace: 60s, steps: [{json.dumps(IGNORING)}]}}")
    process.send_signal(signal.SIGINT)
    time.sleep(1)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    result = workspace.finish(process, timeout=60)
    assert result.code == 130, result
    assert time.monotonic() - sent < 10


@SHAPES
def test_a_job_timeout_gives_the_step_sigterm_first(workspace: Workspace, before: str) -> None:
    process = _start(workspace, f"{{timeout: 3s, steps: [{before}{json.dumps(TRAPPING)}]}}")
    result = workspace.finish(process, "report.json", timeout=60)
    assert result.code == 1, result
    assert result.jobs["j"]["status"] == "timeout"
    assert "TERM-SEEN" in result.lines_of("j"), result
    assert "TERM-SEEN" in _log(result)


def test_a_step_timeout_gives_the_step_sigterm_and_allowed_failure_carries_on(
    workspace: Workspace,
) -> None:
    step = {"run": TRAPPING, "timeout": "3s", "allow_failure": True}
    after = f"{wait_for_file('started')}; echo AFTER"
    process = _start(workspace, f"{{steps: [{FIRST}{json.dumps(step)}, {json.dumps(after)}]}}")
    result = workspace.finish(process, "report.json", timeout=60)
    assert result.code == 0, result
    lines = result.lines_of("j")
    assert "TERM-SEEN" in lines, result
    assert lines.index("TERM-SEEN") < lines.index("AFTER")
    steps = [step["status"] for step in result.jobs["j"]["steps"]]
    assert steps == ["passed", "allowed-failure", "passed"]
