"""Which jobs run when: parallel waves, stage order, fail fast, --keep-going, concurrent runs.

Overlap and order are proven from the timestamps in the JSON report, never from wall time.
"""

from __future__ import annotations

import docker

from tests.integration.fixtures.engine import of_run
from tests.integration.fixtures.workspace import Workspace, overlap, wait_for_file


def test_independent_jobs_overlap_and_later_stages_wait_for_them(workspace: Workspace) -> None:
    workspace.pipeline(f"""\
        stages: [build, test, package]
        jobs:
          left:
            stage: build
            steps:
              - name: meet right, then sleep
                run: touch left.ready; {wait_for_file("right.ready")}; sleep 1
          right:
            stage: build
            steps:
              - name: meet left, then sleep
                run: touch right.ready; {wait_for_file("left.ready")}; sleep 1
          middle:
            stage: test
            steps: ["echo middle ran"]
          last:
            stage: package
            needs: [middle]
            steps: ["echo last ran"]
        """)
    result = workspace.run()
    assert result.code == 0, result
    jobs = result.jobs
    assert {name: job["status"] for name, job in jobs.items()} == dict.fromkeys(
        ("left", "right", "middle", "last"), "passed"
    )
    left, right = jobs["left"], jobs["right"]
    assert overlap(left, right), (left, right)
    assert overlap(left["steps"][0], right["steps"][0]), "the two sleeps did not overlap"
    assert jobs["middle"]["started_at"] >= max(left["finished_at"], right["finished_at"])
    assert jobs["last"]["started_at"] >= jobs["middle"]["finished_at"]
    for job in jobs.values():
        (step,) = job["steps"]
        assert job["started_at"] <= step["started_at"] <= step["finished_at"]
        assert step["finished_at"] <= job["finished_at"]
    assert result.report is not None and result.report["status"] == "passed"
    assert "pipeline passed" in result.stdout


def test_a_failure_skips_its_dependents_and_cancels_a_running_later_stage_job(
    workspace: Workspace,
) -> None:
    workspace.pipeline(f"""\
        stages: [build, test]
        jobs:
          broken:
            stage: build
            steps:
              - {wait_for_file("slow.started")}; touch broken.failing; exit 1
          sibling:
            stage: build
            steps:
              - {wait_for_file("broken.failing")}; sleep 1; echo sibling finished
          slow:
            stage: test
            needs: []
            steps:
              - touch slow.started; sleep 30
          after:
            stage: test
            needs: [broken]
            steps: ["touch after-ran"]
          later:
            stage: test
            steps: ["touch later-ran"]
        """)
    result = workspace.run()
    assert result.code == 1, result
    jobs = result.jobs
    assert {name: job["status"] for name, job in jobs.items()} == {
        "broken": "failed",
        "sibling": "passed",  # its own stage is left to finish
        "slow": "cancelled",
        "after": "skipped",
        "later": "skipped",
    }
    assert jobs["broken"]["exit_code"] == 1
    assert jobs["sibling"]["finished_at"] > jobs["broken"]["finished_at"]
    assert "broken" in jobs["after"]["reason"]
    assert "broken" in jobs["later"]["reason"]
    (slow_step,) = jobs["slow"]["steps"]
    assert slow_step["status"] == "cancelled"
    assert slow_step["finished_at"] - slow_step["started_at"] < 30, "slow was not stopped"
    assert not (workspace.path / "after-ran").exists()
    assert not (workspace.path / "later-ran").exists()
    assert result.row("broken")[2] == "failed"
    assert result.row("slow")[2] == "cancelled"
    assert result.row("after")[2] == "skipped"
    assert result.row("later")[2] == "skipped"
    assert "pipeline failed" in result.stdout


def test_keep_going_runs_what_does_not_depend_on_the_failure(workspace: Workspace) -> None:
    workspace.pipeline(f"""\
        stages: [build, test]
        jobs:
          broken:
            stage: build
            steps:
              - {wait_for_file("other.started")}; touch broken.failing; exit 1
          independent:
            stage: build
            steps: ["echo independent ran"]
          dependent:
            stage: test
            needs: [broken]
            steps: ["touch dependent-ran"]
          after-independent:
            stage: test
            needs: [independent]
            steps: ["echo after-independent ran"]
          other:
            stage: test
            needs: []
            steps:
              - touch other.started; {wait_for_file("broken.failing")}; sleep 1
        """)
    result = workspace.run("--keep-going")
    assert result.code == 1, result
    jobs = result.jobs
    assert {name: job["status"] for name, job in jobs.items()} == {
        "broken": "failed",
        "independent": "passed",
        "dependent": "skipped",
        "after-independent": "passed",
        "other": "passed",  # running when broken failed, and not cancelled
    }
    assert jobs["other"]["finished_at"] > jobs["broken"]["finished_at"]
    assert "broken" in jobs["dependent"]["reason"]
    assert not (workspace.path / "dependent-ran").exists()
    assert "independent ran" in result.lines_of("independent")
    assert result.row("dependent")[2] == "skipped"
    assert result.report is not None and result.report["status"] == "failed"


def test_two_runs_of_the_same_pipeline_at_once_both_pass_apart(
    workspace: Workspace, engine: docker.DockerClient
) -> None:
    workspace.pipeline(f"""\
        stages: [build, test]
        jobs:
          meet:
            stage: build
            steps:
              - name: wait for the other run
                run: touch "ready-$WHO"; {wait_for_file("ready-a")}; {wait_for_file("ready-b")}
          check:
            stage: test
            steps: ['echo "run $DOCKSTEP_RUN_ID as $WHO"']
        """)
    first = workspace.start("run", "--var", "WHO=a", "--report", "a.json")
    second = workspace.start("run", "--var", "WHO=b", "--report", "b.json")
    a = workspace.finish(first, "a.json")
    b = workspace.finish(second, "b.json")
    assert a.code == 0, a
    assert b.code == 0, b
    assert a.run_id != b.run_id
    for result in (a, b):
        assert {job["status"] for job in result.jobs.values()} == {"passed"}, result
        assert f"run {result.run_id} as " in result.stdout
        assert (workspace.path / ".dockstep" / "runs" / result.run_id / "check.log").is_file()
    assert overlap(a.jobs["meet"]["steps"][0], b.jobs["meet"]["steps"][0])
    assert f"run {a.run_id} as a" in a.stdout
    assert f"run {b.run_id} as b" in b.stdout
    assert of_run(engine, a.run_id) == []
    assert of_run(engine, b.run_id) == []
