from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.format.load import load_pipeline_text
from runner.plan.plan import Selection, plan
from tests.unit.pipelines import pipeline

STAGED = """
stages: [build, test, deploy]
jobs:
  compile: {stage: build, steps: [make]}
  lint: {stage: build, steps: [lint]}
  unit: {stage: test, steps: [pytest]}
  e2e: {stage: test, needs: [compile], steps: [e2e]}
  ship: {stage: deploy, steps: [ship]}
"""


def test_jobs_without_needs_wait_for_every_earlier_stage() -> None:
    chosen = plan(pipeline(STAGED), Selection())
    waits = {p.name: p.waits_for for p in chosen.jobs}
    assert waits["compile"] == ()
    assert waits["unit"] == ("compile", "lint")
    assert waits["ship"] == ("compile", "lint", "unit", "e2e")


def test_needs_replaces_the_stage_barrier() -> None:
    chosen = plan(pipeline(STAGED), Selection())
    assert {p.name: p.waits_for for p in chosen.jobs}["e2e"] == ("compile",)


def test_waves_group_what_can_run_at_once() -> None:
    assert plan(pipeline(STAGED), Selection()).waves() == (
        ("compile", "lint"),
        ("unit", "e2e"),
        ("ship",),
    )


def test_selecting_a_job_brings_what_it_needs_and_nothing_else() -> None:
    chosen = plan(pipeline(STAGED), Selection(jobs=("e2e",)))
    assert [p.name for p in chosen.jobs] == ["compile", "e2e"]


def test_selecting_an_unknown_job_suggests_the_closest() -> None:
    with pytest.raises(UsageError, match=r"no job named 'e2f'.*did you mean 'e2e'"):
        plan(pipeline(STAGED), Selection(jobs=("e2f",)))


CONDITIONAL = """
jobs:
  build: {stage: build, steps: [make]}
  deploy:
    stage: deploy
    if: branch == 'main' && event != 'pull_request'
    steps: [ship]
  verify: {stage: verify, needs: [deploy], steps: [check]}
  report: {stage: verify, steps: [report]}
"""


def test_a_false_condition_skips_the_job_and_what_needs_it() -> None:
    context = (("branch", "feature"), ("event", "push"))
    chosen = plan(pipeline(CONDITIONAL), Selection(context=context))
    reasons = {p.name: p.skip_reason for p in chosen.jobs}
    assert reasons["deploy"] == "if: branch == 'main' && event != 'pull_request' is false"
    assert reasons["verify"] == "needs deploy, which is skipped"
    assert reasons["report"] is None
    assert {p.name: p.waits_for for p in chosen.jobs}["report"] == ("build",)


def test_a_true_condition_runs_the_job() -> None:
    context = (("branch", "main"), ("event", "push"))
    chosen = plan(pipeline(CONDITIONAL), Selection(context=context))
    assert all(p.skip_reason is None for p in chosen.jobs)


# ---------------------------------------------------------------- when: manual


def test_a_manual_job_nobody_can_approve_is_skipped_with_its_dependents(tmp_path: Path) -> None:
    image = "busybox@sha256:" + "a" * 64
    text = (
        f"version: 1\ndefaults: {{image: '{image}'}}\njobs:\n"
        "  release: {when: manual, steps: [x]}\n  after: {needs: [release], steps: [x]}\n"
    )
    loaded = load_pipeline_text(text, file="ci.yml", workspace=tmp_path)
    unattended = {p.name: p.skip_reason for p in plan(loaded, Selection(unattended=True)).jobs}
    assert unattended["release"] is not None
    assert unattended["release"].startswith("when: manual, and nobody can approve it")
    assert unattended["after"] == "needs release, which is skipped"
    approved = plan(loaded, Selection(unattended=True, approved=("release",)))
    assert [p.skip_reason for p in approved.jobs] == [None, None]
    attended = plan(loaded, Selection())
    assert attended.runnable()[0].job.manual
