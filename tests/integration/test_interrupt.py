"""Ctrl-C and SIGTERM: the run stops, everything it created goes, the exit code is 130."""

from __future__ import annotations

import signal
import subprocess
import time

import docker
import pytest

from tests.integration.fixtures.engine import OWNER_PID, RUN_LABEL, labelled
from tests.integration.fixtures.workspace import Result, Workspace

START_WAIT = 60.0  # seconds to wait for the jobs to be running before giving up


def _start_two_sleepers(
    workspace: Workspace, engine: docker.DockerClient, *, first: bool = False
) -> subprocess.Popen[str]:
    """Start a run of two parallel `sleep 60` jobs and wait until both steps are running.

    With `first`, each sleep is the job's second step (run in the job's running container),
    else its only one (run as the container's command).
    """
    before = '"echo first", ' if first else ""
    workspace.pipeline(f"""\
        jobs:
          one: {{steps: [{before}"touch one.started; sleep 60"]}}
          two: {{steps: [{before}"touch two.started; sleep 60"]}}
        """)
    process = workspace.start("run", "--report", "report.json")
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline and process.poll() is None:
        running = [
            c
            for c in engine.containers.list(filters={"label": f"{OWNER_PID}={process.pid}"})
            if c.labels.get(RUN_LABEL)
        ]
        started = all((workspace.path / f"{job}.started").exists() for job in ("one", "two"))
        if len(running) == 2 and started:
            return process
        time.sleep(0.1)
    process.kill()
    stdout, stderr = process.communicate()
    pytest.fail(f"the two jobs were not both running:\n{stdout}\n{stderr}")


def _interrupt(workspace: Workspace, process: subprocess.Popen[str], signum: int) -> Result:
    process.send_signal(signum)
    return workspace.finish(process, "report.json", timeout=60)


@pytest.mark.parametrize("first", [False, True], ids=["only-step", "second-step"])
@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"]
)
def test_an_interrupted_run_exits_130_and_leaves_nothing_behind(
    workspace: Workspace, engine: docker.DockerClient, signum: int, first: bool
) -> None:
    process = _start_two_sleepers(workspace, engine, first=first)
    result = _interrupt(workspace, process, signum)
    assert result.code == 130, result
    assert labelled(engine, f"{OWNER_PID}={process.pid}") == []
    assert labelled(engine, f"{RUN_LABEL}={result.run_id}") == []
    assert "interrupted" in result.stdout + result.stderr
    jobs = result.jobs
    assert {name: job["status"] for name, job in jobs.items()} == {
        "one": "cancelled",
        "two": "cancelled",
    }
    for job in jobs.values():
        step = job["steps"][-1]
        assert step["status"] == "cancelled"
        assert step["finished_at"] - step["started_at"] < 60, "the sleep was not stopped"


def test_the_report_of_an_interrupted_run_gives_the_exit_code_dockstep_exited_with(
    workspace: Workspace, engine: docker.DockerClient
) -> None:
    result = _interrupt(workspace, _start_two_sleepers(workspace, engine), signal.SIGINT)
    assert result.code == 130, result
    assert result.report is not None
    assert result.report["exit_code"] == result.code, result.report
    assert result.report["status"] != "passed"
