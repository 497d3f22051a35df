"""Orchestrated runs as one run: upstream pipelines' artifacts mounted downstream (and
verified), `dockstep approve RUN pipeline/job`, `--jobs` for the whole run, and the report
of a single pipeline the event does not trigger."""

from __future__ import annotations

import json
import os
import pty
import queue
import subprocess
import threading
import time
from typing import Any

from tests.integration.fixtures.workspace import Workspace

UPSTREAM = """\
on: push
jobs:
  build:
    steps: ["echo 'made by api' > out.txt"]
    artifacts: [out.txt]
"""
# a later job of the same pipeline rewrites the archive in the run folder, which sits in
# the workspace every job can write
TAMPER = """\
  tamper:
    needs: [build]
    steps: ["for f in .dockstep/runs/*-api/artifacts/build/out.txt; do echo evil > $f; done"]
"""
DOWNSTREAM = """\
on: {pipelines: {names: [api]}}
jobs:
  check: {steps: ["cat /artifacts/api/build/out.txt"]}
"""


def chain(workspace: Workspace, *, tamper: bool = False) -> None:
    workspace.pipeline(UPSTREAM + (TAMPER if tamper else ""), "api")
    workspace.pipeline(DOWNSTREAM, "integration")
    workspace.git("checkout", "--quiet", "-b", "main")
    workspace.commit("a chain")


def test_a_downstream_pipeline_reads_its_upstreams_artifacts(workspace: Workspace) -> None:
    chain(workspace)
    result = workspace.run("--all", "--event", "push")
    assert result.code == 0, result
    assert result.jobs["integration/check"]["status"] == "passed"
    lines = result.lines_of("integration/check")
    assert "artifacts of api/build (checksums verified) at /artifacts/api/build" in lines
    assert lines[-1] == "made by api"


def test_an_upstream_archive_changed_between_the_pipelines_fails_the_downstream_job(
    workspace: Workspace,
) -> None:
    chain(workspace, tamper=True)
    result = workspace.run("--all", "--event", "push")
    assert result.code == 1, result
    assert result.jobs["api/tamper"]["status"] == "passed"
    check = result.jobs["integration/check"]
    assert check["status"] == "failed"
    assert check["reason"] == "artifacts of 'api/build': out.txt does not match its checksum"
    assert "evil" not in result.lines_of("integration/check")


# ---------------------------------------------------------------- a single pipeline not triggered


def test_the_report_of_a_pipeline_the_event_does_not_trigger_says_why(
    workspace: Workspace,
) -> None:
    workspace.pipeline('on: {push: {paths: ["web/**"]}}\njobs: {test: {steps: [echo]}}\n', "web")
    workspace.write("api/app.sh", "1\n")
    workspace.git("checkout", "--quiet", "-b", "main")
    before = workspace.commit("web pipeline")
    workspace.write("api/app.sh", "2\n")
    workspace.commit("api only")
    result = workspace.run("pipelines/web.yml", "--event", "push", "--before", before)
    assert result.code == 0, result
    assert result.report is not None, result
    assert result.report["status"] == "not-triggered"
    assert result.report["reasons"] == ["no changed path matches paths ['web/**']"]
    assert result.report["jobs"] == []
    assert result.report["event"]["changed"] == ["api/app.sh"]


# ---------------------------------------------------------------- --jobs for the whole run


def most_at_once(jobs: dict[str, dict[str, Any]]) -> int:
    """The most jobs whose recorded [started_at, finished_at] overlap at one moment."""
    edges = sorted(
        (float(job[key]), step)
        for job in jobs.values()
        for key, step in (("started_at", 1), ("finished_at", -1))
    )  # at equal times an end sorts before a start: touching spans do not overlap
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def test_jobs_bounds_the_whole_orchestrated_run(workspace: Workspace) -> None:
    for name in ("a", "b", "c"):
        workspace.pipeline(
            "on: push\njobs:\n  one: {steps: ['sleep 1']}\n  two: {steps: ['sleep 1']}\n", name
        )
    workspace.commit("three pipelines of two jobs")
    result = workspace.run("--all", "--event", "push", "--jobs", "2")
    assert result.code == 0, result
    assert len(result.jobs) == 6
    assert most_at_once(result.jobs) == 2


# ---------------------------------------------------------------- approving in an orchestrated run

RELEASE = """\
on: push
jobs:
  build: {steps: ["echo built"]}
  ship: {when: manual, needs: [build], steps: ["echo shipped"]}
"""


def on_a_terminal(
    workspace: Workspace, *args: str
) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    """`dockstep ARGS` with a pseudo-terminal as stdin (someone could answer), its output
    lines arriving in a queue as they are printed."""
    primary, secondary = pty.openpty()
    env = {k: v for k, v in workspace.env.items() if k != "CI"}
    process = subprocess.Popen(
        workspace.command(*args),
        cwd=workspace.path,
        env=env,
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    os.close(secondary)
    workspace.owners.pids.add(process.pid)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                lines.put(line.rstrip("\n"))
        os.close(primary)

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def wait_for(lines: queue.Queue[str], text: str, seen: list[str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no line with {text!r} in:\n" + "\n".join(seen))


def test_a_manual_job_of_an_orchestrated_run_is_approved_with_the_runs_own_id(
    workspace: Workspace,
) -> None:
    """Interactive, on a pseudo-terminal: the run waits, and `dockstep approve RUN
    pipeline/job` with the id printed at the start lets the manual job go."""
    workspace.pipeline("on: push\njobs: {test: {steps: ['echo api']}}\n", "api")
    workspace.pipeline(RELEASE, "release")
    workspace.commit("a manual job")
    args = ("run", "--all", "--event", "push", "--report", "report.json")
    process, lines = on_a_terminal(workspace, *args)
    seen: list[str] = []
    try:
        first = wait_for(lines, "dockstep run ", seen)
        run_id = first.split("dockstep run ", 1)[1].split(":", 1)[0]
        workspace.owners.run_ids.add(run_id)
        asked = wait_for(lines, "waiting for approval", seen)
        assert f"run `dockstep approve {run_id} release/ship`" in asked
        approved = workspace.dockstep("approve", run_id, "release/ship")
        assert approved.code == 0, approved
        assert process.wait(timeout=60) == 0, "\n".join(seen)
    finally:
        if process.poll() is None:
            process.kill()
    report = json.loads((workspace.path / "report.json").read_text())
    jobs = {job["name"]: job for job in report["jobs"]}
    assert jobs["release/ship"]["status"] == "passed"
    assert jobs["api/test"]["status"] == "passed"
    again = workspace.dockstep("approve", run_id, "release/ship")
    assert again.code == 2  # the run has ended: nothing waits any more
