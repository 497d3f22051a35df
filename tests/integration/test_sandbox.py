"""Safe defaults: what `docker inspect` shows of a job's container, and what its steps see."""

from __future__ import annotations

import time

import docker
import pytest

from runner.execute.containers import DEFAULT_PIDS
from tests.integration.fixtures.engine import OWNER_PID
from tests.integration.fixtures.workspace import Workspace, wait_for_file

SHOW = "grep NoNewPrivs /proc/self/status; echo pids.max=$(cat /sys/fs/cgroup/pids/pids.max)"


def _inspect_while_running(
    workspace: Workspace, engine: docker.DockerClient, pid: int, count: int
) -> dict[str, dict[str, object]]:
    """The HostConfig of each job container of the run, by job, once all are running."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = engine.containers.list(filters={"label": f"{OWNER_PID}={pid}"})
        if len(found) == count:
            return {c.labels["io.dockstep.job"]: c.attrs["HostConfig"] for c in found}
        time.sleep(0.1)
    pytest.fail(f"the {count} job containers were not running")


def test_job_containers_get_no_new_privileges_and_a_pids_limit(
    workspace: Workspace, engine: docker.DockerClient
) -> None:
    workspace.pipeline(f"""\
        jobs:
          plain:
            steps: ["{SHOW}", '{wait_for_file("go")}']
          lowered:
            resources: {{pids: 100}}
            steps: ['{SHOW}; {wait_for_file("go")}']
        """)
    process = workspace.start("run", "--report", "report.json")
    try:
        hosts = _inspect_while_running(workspace, engine, process.pid, 2)
    finally:
        workspace.write("go", "")
    result = workspace.finish(process, "report.json")
    assert result.code == 0, result
    assert hosts["plain"]["NetworkMode"] == hosts["lowered"]["NetworkMode"]  # one per run
    for job, limit in (("plain", DEFAULT_PIDS), ("lowered", 100)):
        assert hosts[job]["SecurityOpt"] == ["no-new-privileges"], hosts[job]
        assert hosts[job]["PidsLimit"] == limit, hosts[job]
        assert (hosts[job]["Privileged"], hosts[job]["Init"]) == (False, True)
        # the run's own network: leased from the pool, or made for it when the pool is busy
        network = str(hosts[job]["NetworkMode"])
        assert network.startswith("dockstep-pool-") or network == f"dockstep-{result.run_id}"
        seen = " ".join(result.lines_of(job)).split()
        assert "NoNewPrivs:" in seen and seen[seen.index("NoNewPrivs:") + 1] == "1", seen
        assert f"pids.max={limit}" in seen, seen
