from __future__ import annotations

import json

from runner import report
from runner.model.results import JobResult, Status, StepResult
from runner.plan import graph
from runner.plan.plan import Selection, plan
from tests.unit.pipelines import pipeline

TEXT = """
stages: [build, test]
jobs:
  compile: {stage: build, steps: [make]}
  unit: {stage: test, steps: [pytest]}
  lint: {stage: test, needs: [], steps: [ruff]}
"""


def test_mermaid_groups_jobs_by_stage_and_draws_every_wait() -> None:
    text = graph.mermaid(plan(pipeline(TEXT), Selection()))
    assert text.splitlines() == [
        "flowchart LR",
        '  subgraph stage_0 ["build"]',
        '    j_compile["compile"]',
        "  end",
        '  subgraph stage_1 ["test"]',
        '    j_lint["lint"]',
        '    j_unit["unit"]',
        "  end",
        "  j_compile --> j_unit",
    ]


def test_dot_draws_the_same_edges() -> None:
    text = graph.dot(plan(pipeline(TEXT), Selection()))
    assert '  "compile" -> "unit";' in text
    assert '"lint";' in text
    assert '-> "lint"' not in text


def results() -> list[JobResult]:
    step = StepResult(
        name="make", status=Status.PASSED, exit_code=0, started_at=1.0, finished_at=2.5
    )
    return [
        JobResult(
            name="compile",
            stage="build",
            status=Status.PASSED,
            started_at=1.0,
            finished_at=3.0,
            exit_code=0,
            steps=(step,),
        ),
        JobResult(
            name="unit",
            stage="test",
            status=Status.FAILED,
            started_at=3.0,
            finished_at=4.0,
            exit_code=2,
            reason="step 'pytest' exited 2 for s3cret",
        ),
        JobResult(name="ship", stage="deploy", status=Status.SKIPPED, reason="unit failed"),
    ]


def test_exit_code_is_derived_from_the_results() -> None:
    assert report.exit_code(results()) == 1
    assert report.exit_code(results()[:1]) == 0
    allowed = JobResult(name="x", stage="test", status=Status.ALLOWED_FAILURE)
    skipped_by_if = JobResult(name="y", stage="test", status=Status.SKIPPED, reason="if: …")
    assert report.exit_code([allowed, skipped_by_if]) == 0


def test_the_table_shows_status_duration_exit_and_why() -> None:
    lines = report.table(results()).splitlines()
    assert lines[0].split() == ["job", "stage", "status", "duration", "exit", "cache", "note"]
    assert lines[3].split()[:5] == ["unit", "test", "failed", "1.00s", "2"]
    assert lines[4].split() == ["ship", "deploy", "skipped", "unit", "failed"]


def test_the_json_report_has_step_timings_and_is_masked() -> None:
    document = json.loads(
        report.to_json(
            results(), run_id="r1", pipeline="p.yml", mask=lambda t: t.replace("s3cret", "***")
        )
    )
    assert document["status"] == "failed"
    assert document["exit_code"] == 1
    compile_job = document["jobs"][0]
    assert compile_job["steps"][0] == {
        "name": "make",
        "status": "passed",
        "exit_code": 0,
        "attempts": 1,
        "oom_killed": False,
        "started_at": 1.0,
        "finished_at": 2.5,
        "duration": 1.5,
    }
    assert document["jobs"][1]["reason"] == "step 'pytest' exited 2 for ***"


def test_secrets_that_json_would_escape_are_still_masked() -> None:
    secret = 'pässwörd"42'
    failed = JobResult(name="j", stage="test", status=Status.FAILED, reason=f"saw {secret}")
    text = report.to_json(
        [failed], run_id="r", pipeline="p.yml", mask=lambda t: t.replace(secret, "***")
    )
    assert json.loads(text)["jobs"][0]["reason"] == "saw ***"
    assert "pässwörd" not in text
    assert "p\\u00e4ssw" not in text
