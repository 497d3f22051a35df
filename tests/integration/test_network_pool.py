"""The run networks of the pool: concurrent runs never share one, a run leaves none of its
own, the next run reuses it, and `dockstep clean` removes it once idle."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import docker
import pytest

from runner.engine.labels import POOL
from tests.integration.fixtures.engine import OWNER_PID, of_run
from tests.integration.fixtures.workspace import Workspace

START_WAIT = 60.0


def _networks_of(engine: docker.DockerClient, process: subprocess.Popen[str]) -> set[str]:
    found = engine.api.containers(filters={"label": f"{OWNER_PID}={process.pid}"})
    return {name for c in found for name in (c["NetworkSettings"]["Networks"] or {})}


def _both_running(
    engine: docker.DockerClient, processes: list[subprocess.Popen[str]]
) -> list[set[str]]:
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        networks = [_networks_of(engine, p) for p in processes]
        if all(networks):
            return networks
        time.sleep(0.1)
    pytest.fail("the two runs' jobs were not both running")


def _pool_networks(engine: docker.DockerClient, state: Path) -> list[str]:
    found = engine.api.networks(filters={"label": POOL})
    return sorted(n["Name"] for n in found if str(state) in n["Labels"][POOL])


def test_concurrent_runs_get_their_own_pool_network_and_leave_it_empty(
    workspace: Workspace, engine: docker.DockerClient, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = {"DOCKSTEP_CACHE_DIR": str(state)}
    workspace.pipeline("""\
        jobs:
          j: {steps: ["sleep 3"]}
        """)
    processes = [workspace.start("run", env=env) for _ in range(2)]
    first, second = _both_running(engine, processes)
    results = [workspace.finish(p) for p in processes]
    assert [r.code for r in results] == [0, 0], results
    assert first.isdisjoint(second), (first, second)
    assert first | second == set(_pool_networks(engine, state))
    for result in results:
        assert of_run(engine, result.run_id) == []
    for name in _pool_networks(engine, state):
        assert not engine.api.inspect_network(name)["Containers"]

    again = workspace.run(env=env)
    assert again.code == 0, again
    assert len(_pool_networks(engine, state)) == 2  # reused, not a third

    cleaned = workspace.dockstep("clean", env=env)
    assert cleaned.code == 0, cleaned
    assert "idle in the pool" in cleaned.stdout
    assert _pool_networks(engine, state) == []
