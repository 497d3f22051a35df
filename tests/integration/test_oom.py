"""Honest OOM and exit reporting per step: each step is charged only with its own OOM kills,
and a job whose container died between steps says why."""

from __future__ import annotations

from tests.integration.fixtures.workspace import Workspace


def test_a_child_oom_kill_a_step_survived_is_not_blamed_on_the_next_step(
    workspace: Workspace,
) -> None:
    # the hungry children offer themselves to the OOM killer first (oom_score_adj 1000, as
    # a swarm step does): on a loaded machine the kernel once took the step's own shell too
    hog = "(echo 1000 > /proc/self/oom_score_adj; head -c 200m /dev/zero | tail) || true"
    workspace.pipeline(f"""\
        jobs:
          hungry:
            resources: {{memory: 32m}}
            steps:
              - {{name: child oom, run: "{hog}"}}
              - {{name: suicide, run: "kill -9 $$"}}
        """)
    result = workspace.run()
    assert result.code == 1, result
    job = result.jobs["hungry"]
    steps = [(s["name"], s["status"], s["exit_code"], s["oom_killed"]) for s in job["steps"]]
    assert steps == [
        ("child oom", "passed", 0, True),
        ("suicide", "failed", 137, False),
    ], job
    assert job["reason"] == "step 'suicide' exited 137", job


def test_a_container_that_died_between_steps_is_reported_with_its_exit_code(
    workspace: Workspace,
) -> None:
    # `arm` kills the container's idle command (the only child of its init) a second after
    # it ended; the next step's
    # retry comes three seconds after its first attempt, so its exec finds the container gone
    kill_idle = "kill -9 $(cat /proc/1/task/1/children)"
    workspace.pipeline(f"""\
        jobs:
          dying:
            steps:
              - {{name: arm, run: "(sleep 1; {kill_idle}) >/dev/null 2>&1 &"}}
              - {{name: next, run: "exit 3", retry: {{max: 1, delay: 3s}}}}
              - {{name: last, run: "true"}}
        """)
    result = workspace.run()
    assert result.code == 1, result
    job = result.jobs["dying"]
    steps = [(s["name"], s["status"], s["exit_code"]) for s in job["steps"]]
    assert steps == [("arm", "passed", 0), ("next", "failed", 137), ("last", "skipped", None)]
    assert job["reason"] == (
        "the job's container stopped before step 'next' could run: it exited 137"
    ), job
    assert "is not running" not in result.stdout
