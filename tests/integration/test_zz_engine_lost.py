"""The engine going away mid-step is reported, never hangs; what is left is swept after.

This test restarts the Docker engine the test suite itself started (scripts/ensure-docker.sh
recorded its pid), so its file name sorts it after every other integration test. Whatever
happens, it leaves the engine up and its run's leftovers swept.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.integration.fixtures.engine import REPO, labelled, of_run, remove
from tests.integration.fixtures.workspace import Workspace, wait_for_file

LOST_WITHIN = 30.0  # seconds from the engine's loss to dockstep's exit (the README's bound)
ENGINE_STOP = 30.0  # seconds dockerd may take to stop its containers and exit


def _suite_dockerd() -> tuple[int, Path]:
    """The pid of the dockerd the suite's setup started, and its state folder."""
    states = [Path(os.environ["DOCKSTEP_STATE"])] if os.environ.get("DOCKSTEP_STATE") else []
    states.append(REPO / ".dockstep")
    pidof = subprocess.run(["pidof", "dockerd"], check=False, capture_output=True, text=True)
    running = pidof.stdout.split()
    for state in states:
        recorded = (
            (state / "dockerd.pid").read_text().strip() if (state / "dockerd.pid").is_file() else ""
        )
        if recorded and recorded in running:
            return int(recorded), state
    pytest.fail(
        f"this test restarts the engine scripts/ensure-docker.sh started, but no pid file in "
        f"{', '.join(map(str, states))} names a running dockerd ({running}); start the engine "
        "with scripts/ensure-docker.sh, or set DOCKSTEP_STATE to the folder of its pid file"
    )


def _ensure_engine(state: Path) -> None:
    env = {**os.environ, "DOCKSTEP_STATE": str(state)}
    done = subprocess.run(
        [str(REPO / "scripts/ensure-docker.sh")],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"the engine did not come back:\n{done.stdout}\n{done.stderr}"


@pytest.fixture
def suite_engine() -> Iterator[tuple[int, Path]]:
    """The suite's dockerd; afterwards it answers again, whatever the test did."""
    found = _suite_dockerd()
    yield found
    _ensure_engine(found[1])


def _stop(pid: int) -> None:
    os.kill(pid, 15)
    deadline = time.monotonic() + ENGINE_STOP
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
        if stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]:
            return
        time.sleep(0.1)


def test_a_run_whose_engine_restarts_mid_step_exits_3_and_its_leftovers_are_swept(
    workspace: Workspace, engine: docker.DockerClient, suite_engine: tuple[int, Path]
) -> None:
    pid, state = suite_engine
    workspace.pipeline("""\
        jobs:
          exec:
            steps: ["echo first", "touch exec.started; sleep 120"]
          single:
            steps: ["touch single.started; sleep 120"]
          after:
            needs: [exec]
            steps: ["touch after-ran"]
        """)
    process = workspace.start("run", "--report", "report.json")
    started = f"{wait_for_file('exec.started', 60)}; {wait_for_file('single.started', 60)}"
    subprocess.run(["sh", "-c", started], cwd=workspace.path, check=True, timeout=90)
    lost = time.monotonic()
    _stop(pid)
    result = workspace.finish(process, "report.json", timeout=LOST_WITHIN + 30)
    took = time.monotonic() - lost
    print(f"engine lost -> dockstep exited in {took:.1f}s")
    _ensure_engine(state)
    assert result.code == 3, result
    assert took < LOST_WITHIN, f"dockstep took {took:.1f}s to report the lost engine"
    assert "the Docker engine was lost" in result.stdout + result.stderr, result
    assert result.report is not None, result
    assert (result.report["status"], result.report["exit_code"]) == ("failed", 3), result.report
    jobs = result.jobs
    assert {jobs[name]["status"] for name in ("exec", "single")} == {"failed"}, jobs
    assert jobs["after"]["status"] != "passed", jobs
    assert not (workspace.path / "after-ran").exists()
    cleaned = workspace.dockstep("clean")
    assert cleaned.code == 0, cleaned
    left = of_run(engine, result.run_id) + labelled(engine, f"io.dockstep.owner.pid={process.pid}")
    remove(engine, left)
    assert left == [], f"`dockstep clean` left {left}"
