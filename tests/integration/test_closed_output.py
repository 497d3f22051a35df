"""`dockstep run | head -3`: the reader goes away, the run finishes quietly and cleans up.

Once stdout is closed the run goes on to its end without printing: its jobs' logs and its
report are complete, and its exit status is the pipeline's own (so `set -o pipefail` still
tells a failed pipeline from a passed one).
"""

from __future__ import annotations

import json
import shlex
import subprocess

import docker

from tests.integration.fixtures.engine import of_run
from tests.integration.fixtures.workspace import RUN_TIMEOUT, Result, Workspace

LINES = 300


def piped_to_head(workspace: Workspace, lines: int) -> tuple[str, str, int]:
    """`dockstep run | head -N` in bash: stdout, stderr, dockstep's status."""
    dockstep = shlex.join(workspace.command("run"))
    script = f"set +o pipefail; {dockstep} | head -{lines}; echo ${{PIPESTATUS[0]}} >status"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=workspace.path,
        env=workspace.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done  # head's status: the pipeline as the shell sees it
    return done.stdout, done.stderr, int((workspace.path / "status").read_text())


def test_a_run_piped_to_head_finishes_quietly_and_leaves_nothing_behind(
    workspace: Workspace, engine: docker.DockerClient
) -> None:
    # the jobs print only once head has gone, so their own writes meet the closed pipe
    count = f"sleep 1; i=0; while [ $i -lt {LINES} ]; do i=$((i+1)); echo line $i; done"
    workspace.pipeline(f"""\
        jobs:
          first: {{steps: ["{count}"]}}
          second: {{steps: ["{count}"]}}
        """)
    stdout, stderr, status = piped_to_head(workspace, 3)
    run_id = Result(code=status, stdout=stdout, stderr=stderr, report=None).run_id
    workspace.owners.run_ids.add(run_id)  # the autouse check judges this run too
    assert len(stdout.splitlines()) == 3
    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr
    assert "stdout was closed; the run goes on without printing" in stderr
    assert of_run(engine, run_id) == []  # no container, network or volume of the run
    assert status == 0, stderr  # the pipeline passed
    run_dir = workspace.path / ".dockstep" / "runs" / run_id
    report = json.loads((run_dir / "report.json").read_text())
    assert [job["status"] for job in report["jobs"]] == ["passed", "passed"]
    for job in ("first", "second"):
        assert (run_dir / f"{job}.log").read_text().splitlines()[-1] == f"line {LINES}"
