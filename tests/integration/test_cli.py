"""The command line's contract: exit codes and messages, and `dockstep clean`."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.integration.fixtures.engine import (
    OWNER_HOST,
    OWNER_PID,
    OWNER_STARTED,
    RUN_LABEL,
    Owners,
    labelled,
)
from tests.integration.fixtures.workspace import Workspace


def test_an_invalid_pipeline_exits_2_and_points_at_file_line_and_column(
    workspace: Workspace,
) -> None:
    path = workspace.pipeline("""\
        jobs:
          build:
            timout: 5m
            steps: ["touch ran"]
        """)
    result = workspace.run()
    assert result.code == 2, result
    # line 1 is version, 2 defaults, 3 jobs, 4 build, 5 the misspelt key at column 5
    assert f"{path}:5:5:" in result.stderr, result
    assert "timeout" in result.stderr  # the suggestion
    assert not (workspace.path / "ran").exists()
    assert not (workspace.path / ".dockstep").exists()
    assert result.report is None


def test_no_engine_exits_3_and_says_what_to_do(workspace: Workspace) -> None:
    workspace.pipeline("""\
        jobs:
          j: {steps: ["touch ran"]}
        """)
    result = workspace.run(env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert result.code == 3, result
    assert "no Docker engine answers" in result.stderr
    assert "DOCKER_HOST" in result.stderr
    assert "ensure-docker.sh" in result.stderr or "start docker" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert not (workspace.path / "ran").exists()


@dataclass
class Made:
    """Resources labelled as a dockstep run's, made by hand for `dockstep clean`."""

    engine: docker.DockerClient
    image: str
    owners: Owners

    def labels(self, run_id: str, *, host: str, pid: int, started: str) -> dict[str, str]:
        self.owners.run_ids.add(run_id)
        return {RUN_LABEL: run_id, OWNER_HOST: host, OWNER_PID: str(pid), OWNER_STARTED: started}

    def container(self, name: str, labels: dict[str, str]) -> str:
        self.engine.containers.create(self.image, ["true"], name=name, labels=labels)
        return name

    def network(self, name: str, labels: dict[str, str]) -> str:
        self.engine.networks.create(name, driver="bridge", labels=labels)
        return name

    def volume(self, name: str, labels: dict[str, str]) -> str:
        self.engine.volumes.create(name=name, labels=labels)
        return name


@pytest.fixture
def made(engine: docker.DockerClient, tiny_image: str, owners: Owners) -> Iterator[Made]:
    maker = Made(engine, tiny_image, owners)
    yield maker
    # what clean rightly kept is ours to remove (the leftover check then sees nothing)
    for item in labelled(engine):
        if owners.owns(item) and item.kind == "container":
            with contextlib.suppress(docker.errors.NotFound):
                engine.containers.get(item.name).remove(force=True)


def _start_time(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat: the process's start time in clock ticks since boot."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[19]


def _dead_pid() -> int:
    """A pid no process can have: above the kernel's pid_max."""
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1


def test_clean_removes_what_dead_runs_left_and_keeps_live_runs(
    workspace: Workspace, engine: docker.DockerClient, made: Made
) -> None:
    here, tag = socket.gethostname(), uuid.uuid4().hex[:8]
    me = os.getpid()
    dead = made.labels(f"dead-{tag}", host=here, pid=_dead_pid(), started="1")
    recycled = made.labels(f"recycled-{tag}", host=here, pid=me, started="1")
    alive = made.labels(f"alive-{tag}", host=here, pid=me, started=_start_time(me))
    elsewhere = made.labels(f"elsewhere-{tag}", host="another-host.invalid", pid=1, started="1")
    gone = [
        ("container", made.container(f"dockstep-it-dead-{tag}", dead)),
        ("network", made.network(f"dockstep-it-dead-{tag}", dead)),
        ("volume", made.volume(f"dockstep-it-dead-{tag}", dead)),
        ("container", made.container(f"dockstep-it-recycled-{tag}", recycled)),
    ]
    kept = [
        ("container", made.container(f"dockstep-it-alive-{tag}", alive)),
        ("container", made.container(f"dockstep-it-elsewhere-{tag}", elsewhere)),
    ]
    result = workspace.dockstep("clean")
    assert result.code == 0, result
    present = {(item.kind, item.name) for item in labelled(engine)}
    assert [item for item in gone if item in present] == []
    assert [item for item in kept if item not in present] == []
    for kind, name in gone:
        assert f"removed {kind} {name}" in result.stdout, result
    for _, name in kept:
        assert name not in result.stdout
