"""Schedules firing under an injected clock (the service in this process, the real engine and
git), and the run history of plain `dockstep run` runs: runs, logs, rerun --failed."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runner.engine.docker.engine import DockerEngine
from runner.service.records import RunStatus
from runner.service.service import Service, Settings
from tests.integration.fixtures.engine import Owners
from tests.integration.fixtures.workspace import Workspace

NIGHTLY = """
on:
  push: {}
  schedule:
    - {cron: "30 2 * * *", timezone: Europe/Berlin}
jobs:
  nightly:
    steps:
      - run: echo "event=$DOCKSTEP_EVENT branch=$DOCKSTEP_BRANCH"
"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def nightly(workspace: Workspace) -> str:
    """A repository whose pipeline runs at 02:30 Berlin time; its commit."""
    workspace.pipeline(NIGHTLY)
    commit = workspace.commit("nightly")
    workspace.git("checkout", "--quiet", "-B", "main")
    return commit


@pytest.fixture
def in_process(
    nightly: str, workspace: Workspace, tmp_path: Path, owners: Owners
) -> Iterator[tuple[Service, Clock]]:
    clock = Clock(datetime(2026, 7, 1, 0, 0, tzinfo=UTC))
    settings = Settings(
        remote=str(workspace.path), state_dir=tmp_path / "state", secret="s", concurrency=1
    )
    environ = {**workspace.env, "DOCKSTEP_CACHE_DIR": str(settings.state_dir)}
    owners.pids.add(os.getpid())  # the runs' containers belong to this process
    with closing(DockerEngine()) as engine:
        service = Service(settings, engine=engine, environ=environ, clock=clock)
        service.open()
        try:
            yield service, clock
        finally:
            service.close()


def wait_final(service: Service, run_id: int, timeout: float = 60) -> RunStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = service.history.get_run(run_id)
        if found is not None and found.run.status.final:
            return found.run.status
        time.sleep(0.1)
    pytest.fail(f"run {run_id} did not end within {timeout}s")


def test_a_schedule_fires_once_under_the_injected_clock(
    in_process: tuple[Service, Clock], nightly: str
) -> None:
    service, clock = in_process
    assert service.tick() == []  # first seen at 00:00 UTC: due from now on
    clock.now = datetime(2026, 7, 1, 0, 29, tzinfo=UTC)  # 02:29 in Berlin (CEST)
    assert service.tick() == []
    clock.now = datetime(2026, 7, 1, 0, 31, tzinfo=UTC)
    fired = service.tick()
    assert [r.status for r in fired] == [202]
    assert service.tick() == []  # once
    run_id = fired[0].body["run"]
    assert isinstance(run_id, int)
    assert wait_final(service, run_id) is RunStatus.PASSED
    detail = service.history.get_run(run_id)
    assert detail is not None
    assert detail.run.event.value == "schedule" and detail.run.commit == nightly
    log = Path(detail.jobs[0].log_path or "").read_text()
    assert "event=schedule branch=main" in log


def test_plain_runs_are_in_the_history_and_rerun_failed_keeps_what_passed(
    workspace: Workspace, tmp_path: Path
) -> None:
    state = {"DOCKSTEP_CACHE_DIR": str(tmp_path / "state")}
    workspace.pipeline(
        """
        jobs:
          build:
            steps:
              - run: echo build >> build-count
          test:
            needs: [build]
            steps:
              - run: test ! -e broken || { echo broken; exit 4; }
          report:
            needs: [test]
            steps:
              - run: echo reported
        """
    )
    workspace.write("broken", "")
    workspace.commit("ci")
    first = workspace.run("pipelines/ci.yml", env=state)
    assert first.code == 1, first
    listed = workspace.dockstep("runs", "--json", env=state)
    runs = json.loads(listed.stdout)
    assert [(r["status"], r["source"]) for r in runs] == [("failed", "cli")]
    number = str(runs[0]["id"])
    logs = workspace.dockstep("logs", number, "test", env=state)
    assert logs.stdout.splitlines()[-1].endswith("broken") or "broken" in logs.stdout
    (workspace.path / "broken").unlink()
    again = workspace.dockstep("rerun", number, "--failed", env=state)
    assert again.code == 0, again
    assert "kept: build" in again.stdout
    assert (workspace.path / "build-count").read_text() == "build\n"  # build did not run again
    newest = json.loads(workspace.dockstep("runs", "--json", env=state).stdout)[0]
    assert newest["status"] == "passed" and newest["id"] != runs[0]["id"]
    table = workspace.dockstep("runs", env=state).stdout
    assert "passed" in table and "failed" in table
