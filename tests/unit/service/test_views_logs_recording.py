"""What the API shows of recorded runs, log following, and what a re-run keeps."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from runner.model.events import EventKind, EventSource
from runner.service import access, recording, views
from runner.service.launcher import combined, log_dir_of
from runner.service.logs import LogTail, follow
from runner.service.records import PENDING, JobRecord, RunDetail, RunRecord, RunStatus


def run(status: RunStatus = RunStatus.RUNNING) -> RunRecord:
    return RunRecord(
        id=3,
        pipelines=("pipelines/ci.yml",),
        event=EventKind.PUSH,
        source=EventSource.WEBHOOK,
        ref="refs/heads/main",
        branch="main",
        tag="",
        base="",
        commit="a" * 40,
        delivery="d",
        status=status,
        created_at=10.0,
        started_at=11.0,
        finished_at=None if not status.final else 15.5,
        report_dir="",
        requested_by="github delivery d",
        session_runs=(("pipelines/ci.yml", "20260101-000000-abcdef"),),
    )


def job(name: str, status: str, log: Path | None = None, pushed: tuple[str, ...] = ()) -> JobRecord:
    return JobRecord(
        run_id=3,
        pipeline="pipelines/ci.yml",
        name=name,
        stage="test",
        status=status,
        started_at=None,
        finished_at=None,
        duration=None,
        exit_code=None,
        reason=None,
        log_path=str(log) if log else None,
        pushed=pushed,
        cache=None,
    )


def test_a_summary_has_the_fixed_fields() -> None:
    found = views.summary(run(RunStatus.PASSED))
    assert {"id", "pipeline", "event", "commit", "status"} <= found.keys()
    assert found["pipeline"] == "pipelines/ci.yml" and found["duration"] == 4.5


def test_a_pending_job_with_a_log_is_running_while_its_run_goes(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    assert views.job_status(job("build", PENDING, log), run()) == PENDING
    log.write_text("started\n")
    assert views.job_status(job("build", PENDING, log), run()) == "running"
    assert views.job_status(job("build", PENDING, log), run(RunStatus.CANCELLED)) == "cancelled"
    assert views.job_status(job("build", "failed", log), run()) == "failed"


def test_the_detail_groups_jobs_by_pipeline_with_the_plan_and_waiting_approvals(
    tmp_path: Path,
) -> None:
    (tmp_path / recording.PLAN_FILE).write_text(
        '{"stages": ["test", "deploy"], "jobs": [{"name": "ship", "needs": ["build"]}]}'
    )
    detail = RunDetail(
        run=run(),
        jobs=(job("build", "passed", tmp_path / "build.log"), job("ship", PENDING, tmp_path / "s")),
        approvals=(),
    )
    found = views.detail(detail, lambda session_run: ("ship",) if session_run else ())
    pipelines: Any = found["pipelines"]
    (pipeline,) = pipelines
    assert pipeline["stages"] == ["test", "deploy"]
    assert pipeline["awaiting_approval"] == ["ship"]
    assert [(j["name"], j["needs"]) for j in pipeline["jobs"]] == [
        ("build", []),
        ("ship", ["build"]),
    ]


def test_a_job_is_done_once_recorded_or_its_run_ended() -> None:
    detail = RunDetail(run=run(), jobs=(job("build", PENDING),), approvals=())
    assert not views.job_done(detail, "build")
    assert views.job_done(
        RunDetail(run=run(), jobs=(job("build", "passed"),), approvals=()), "build"
    )
    assert views.job_done(
        RunDetail(run=run(RunStatus.FAILED), jobs=detail.jobs, approvals=()), "build"
    )
    assert views.job_done(None, "build")


def test_a_tail_hands_out_whole_lines_and_the_last_one_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "job.log"
    tail = LogTail(path)
    assert tail.read() == []  # not started yet
    path.write_bytes(b"one\ntw")
    assert tail.read() == ["one"]
    with path.open("ab") as stream:
        stream.write(b"o\nthree")
    assert tail.read() == ["two"]
    assert tail.rest() == ["three"]


def test_follow_reads_until_finished_then_once_more(tmp_path: Path) -> None:
    path = tmp_path / "job.log"
    path.write_text("a\n")
    answers = iter([False, False, True])
    writes = iter(["b\n", "c"])

    def sleep(_seconds: float) -> None:
        with path.open("a") as stream:
            stream.write(next(writes))

    assert list(follow(path, lambda: next(answers), sleep=sleep)) == ["a", "b", "c"]


def test_a_failed_rerun_keeps_only_what_passed_with_its_pushed_images() -> None:
    reference = "127.0.0.1:5000/app@sha256:" + "b" * 64
    detail = RunDetail(
        run=run(RunStatus.FAILED),
        jobs=(
            job("package", "passed", pushed=(reference,)),
            job("lint", "allowed-failure"),
            job("test", "failed"),
            job("deploy", "skipped"),
        ),
        approvals=(),
    )
    kept = recording.reusable(detail, "pipelines/ci.yml")
    assert [r.name for r in kept] == ["package", "lint"]
    assert kept[0].packaged is not None and kept[0].packaged.deployable == reference
    assert kept[0].reason == "reused from run 3"
    assert recording.failed_jobs(detail) == ["test", "deploy"]
    assert recording.reusable(detail, "pipelines/other.yml") == ()


def test_the_event_of_a_run_is_what_it_ran_for() -> None:
    event = recording.event_of(RunDetail(run=run(), jobs=(), approvals=()))
    assert (event.kind, event.commit, event.branch) == (EventKind.PUSH, "a" * 40, "main")


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([RunStatus.PASSED, RunStatus.PASSED], RunStatus.PASSED),
        ([RunStatus.PASSED, RunStatus.FAILED], RunStatus.FAILED),
        ([RunStatus.FAILED, RunStatus.CANCELLED], RunStatus.CANCELLED),
        ([], RunStatus.PASSED),
    ],
)
def test_a_run_of_several_pipelines_ends_as_its_worst(
    statuses: list[RunStatus], expected: RunStatus
) -> None:
    assert combined(statuses) is expected


def test_log_folders_are_named_after_the_pipeline_file() -> None:
    assert log_dir_of("pipelines/ci.yml") == "ci"
    assert log_dir_of("pipelines/a b.yml") == "a-b"


def test_the_token_is_made_once_readable_only_by_its_owner(tmp_path: Path) -> None:
    made = access.token(tmp_path, {})
    assert access.token(tmp_path, {}) == made and len(made) > 30
    assert stat.S_IMODE((tmp_path / access.TOKEN_FILE).stat().st_mode) == 0o600
    assert access.token(tmp_path, {access.TOKEN_ENV: "chosen"}) == "chosen"


@pytest.mark.parametrize(
    ("header", "allowed"),
    [("Bearer t0k", True), ("bearer t0k", True), ("Bearer t0", False), ("t0k", False), ("", False)],
)
def test_only_the_bearer_token_is_allowed(header: str, allowed: bool) -> None:
    assert access.allowed(header, "t0k") is allowed


def test_the_address_file_is_read_back(tmp_path: Path) -> None:
    assert access.read_address(tmp_path) is None
    access.write_address(tmp_path, "http://127.0.0.1:8470")
    assert access.read_address(tmp_path) == "http://127.0.0.1:8470"
