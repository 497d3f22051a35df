"""Ctrl-C at the moment a run starts: whatever create was in flight is waited for and removed.

The run's network (and its first containers) are being created just as `dockstep run <id>`
is printed; a cleanup that only lists what exists would miss what is still on its way.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time

import docker
import pytest

from tests.integration.fixtures.engine import OWNER_PID, Leftover, labelled, of_run, remove
from tests.integration.fixtures.workspace import _RUN_LINE, Workspace

RUNS = 20
WITHIN = 0.050  # seconds after the run id appears
SETTLE = 0.5  # seconds for a create the engine was still finishing to show up


def _first_container(engine: docker.DockerClient, pid: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if engine.api.containers(all=True, filters={"label": f"{OWNER_PID}={pid}"}):
            return
        time.sleep(0.005)


def _interrupt_at_start(
    workspace: Workspace, engine: docker.DockerClient, rng: random.Random, *, twice: bool
) -> tuple[str, int, int]:
    """Start a run, SIGINT it within WITHIN of its run id line (`twice`: and again within
    WITHIN of that, an impatient user's forced stop): (run id, pid, exit code)."""
    process = workspace.start("run")
    assert process.stdout is not None
    run_id = ""
    for line in process.stdout:
        found = _RUN_LINE.match(line)
        if found:
            run_id = found.group(1)
            break
    if twice:  # as the first job container appears, while the others are being created
        _first_container(engine, process.pid)
        process.send_signal(signal.SIGINT)
    time.sleep(rng.uniform(0, WITHIN))
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"run {run_id} did not end within 60 s of its SIGINT")
    workspace.owners.run_ids.add(run_id)
    return run_id, process.pid, process.returncode


@pytest.mark.parametrize("twice", [False, True], ids=["one-ctrl-c", "two-ctrl-c"])
def test_runs_interrupted_as_they_start_leave_nothing_behind(
    workspace: Workspace, engine: docker.DockerClient, twice: bool
) -> None:
    workspace.pipeline("""\
        jobs:
          one: {steps: ["sleep 30"]}
          two: {steps: ["echo first", "sleep 30"]}
          three: {steps: ["sleep 30"]}
          four: {steps: ["echo first", "sleep 30"]}
        """)
    rng = random.Random(9)
    leaks: dict[str, list[Leftover]] = {}
    for _ in range(RUNS):
        run_id, pid, code = _interrupt_at_start(workspace, engine, rng, twice=twice)
        assert run_id, "no `dockstep run <id>:` line"
        assert code in (0, 130), f"run {run_id} exited {code}"
        time.sleep(SETTLE)
        left = of_run(engine, run_id) + labelled(engine, f"{OWNER_PID}={pid}")
        if left:
            leaks[run_id] = left
            remove(engine, left)
    print(f"interrupted runs with leftovers: {len(leaks)}/{RUNS}")
    assert not leaks, f"{len(leaks)}/{RUNS} runs left: " + "; ".join(
        f"{run}: {', '.join(f'{i.kind} {i.name}' for i in items)}" for run, items in leaks.items()
    )
