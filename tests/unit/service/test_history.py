"""The run history: runs and their jobs, approvals, deliveries, migrations, atomic writes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.model.events import Event, EventKind, EventSource
from runner.model.results import CacheResult, CacheStatus, JobResult, Packaged, PushedImage, Status
from runner.service import migrations
from runner.service.history import History
from runner.service.migrations import MIGRATIONS, HistoryError, HistoryTooNew, migrate
from runner.service.records import RunStatus

PUSH = Event(
    kind=EventKind.PUSH,
    source=EventSource.WEBHOOK,
    ref="refs/heads/main",
    branch="main",
    commit="6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958",
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    with History(tmp_path / "state" / "history.sqlite3", clock=Clock()) as opened:
        yield opened


def job(name: str, status: Status = Status.PASSED, **fields: object) -> JobResult:
    return JobResult(name=name, stage="test", status=status, **fields)  # type: ignore[arg-type]


def test_a_run_is_queued_then_started_then_finished(history: History) -> None:
    created = history.create_run(pipelines=["pipelines/ci.yml"], event=PUSH, requested_by="alice")
    assert (created.status, created.branch, created.commit) == (
        RunStatus.QUEUED,
        "main",
        PUSH.commit,
    )
    assert (created.event, created.source, created.requested_by) == (
        EventKind.PUSH,
        EventSource.WEBHOOK,
        "alice",
    )
    assert history.mark_started(created.id)
    assert not history.mark_started(created.id)  # only a queued run starts
    assert history.finish_run(created.id, RunStatus.PASSED, report_dir="/runs/1")
    assert not history.finish_run(created.id, RunStatus.FAILED)  # a final status stays
    detail = history.get_run(created.id)
    assert detail is not None
    run = detail.run
    assert (run.status, run.report_dir, run.pipelines) == (
        RunStatus.PASSED,
        "/runs/1",
        ("pipelines/ci.yml",),
    )
    assert run.created_at < run.started_at < run.finished_at  # type: ignore[operator]


def test_a_run_cannot_finish_as_running(history: History) -> None:
    created = history.create_run(pipelines=["ci.yml"], event=PUSH)
    with pytest.raises(HistoryError, match="cannot finish as 'running'"):
        history.finish_run(created.id, RunStatus.RUNNING)


def test_jobs_are_recorded_with_their_pushed_digests_and_cache(history: History) -> None:
    run = history.create_run(pipelines=["ci.yml"], event=PUSH)
    pushed = "localhost:5000/app@sha256:" + "a" * 64
    results = [
        job(
            "lint",
            started_at=10.0,
            finished_at=12.5,
            exit_code=0,
            cache=CacheResult(status=CacheStatus.HIT, key="k" * 64),
        ),
        job(
            "package",
            started_at=13.0,
            finished_at=20.0,
            packaged=Packaged(
                image="sha256:bb",
                tags=("sha-1",),
                pushed=(
                    PushedImage(
                        repository=pushed.split("@", maxsplit=1)[0], digest="sha256:" + "a" * 64
                    ),
                ),
            ),
            log_file="/runs/1/package.log",
        ),
        job("deploy", Status.SKIPPED, reason="needs approval"),
    ]
    history.record_jobs(run.id, results, pipeline="ci.yml")
    detail = history.get_run(run.id)
    assert detail is not None
    by_name = {j.name: j for j in detail.jobs}
    assert set(by_name) == {"lint", "package", "deploy"}
    assert (by_name["lint"].duration, by_name["lint"].cache, by_name["lint"].exit_code) == (
        2.5,
        "hit",
        0,
    )
    assert by_name["package"].pushed == (pushed,)
    assert by_name["package"].log_path == "/runs/1/package.log"
    assert (by_name["deploy"].status, by_name["deploy"].reason) == ("skipped", "needs approval")
    assert by_name["deploy"].duration is None


def test_recording_a_job_again_replaces_it(history: History) -> None:
    run = history.create_run(pipelines=["ci.yml"], event=PUSH)
    history.record_jobs(run.id, [job("test", Status.FAILED)])
    history.record_jobs(run.id, [job("test", Status.PASSED)])
    detail = history.get_run(run.id)
    assert detail is not None
    assert [(j.name, j.status) for j in detail.jobs] == [("test", "passed")]


def test_a_failing_write_records_none_of_its_jobs(history: History) -> None:
    run = history.create_run(pipelines=["ci.yml"], event=PUSH)
    broken = JobResult(name="b", stage=None, status=Status.PASSED)  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):  # stage is NOT NULL: the second row fails
        history.record_jobs(run.id, [job("a"), broken])
    detail = history.get_run(run.id)
    assert detail is not None
    assert detail.jobs == ()


def test_jobs_of_an_unknown_run_are_refused(history: History) -> None:
    with pytest.raises(HistoryError, match="no run 7"):
        history.record_jobs(7, [job("a")])


def test_runs_are_listed_newest_first_in_pages(history: History) -> None:
    ids = [history.create_run(pipelines=[f"p{i}.yml"], event=PUSH).id for i in range(5)]
    assert [r.id for r in history.list_runs(limit=2)] == [ids[4], ids[3]]
    assert [r.id for r in history.list_runs(limit=2, offset=2)] == [ids[2], ids[1]]
    assert history.get_run(999) is None


def test_runs_a_dead_service_left_are_marked_interrupted(history: History) -> None:
    queued = history.create_run(pipelines=["a.yml"], event=PUSH)
    running = history.create_run(pipelines=["b.yml"], event=PUSH)
    done = history.create_run(pipelines=["c.yml"], event=PUSH)
    history.mark_started(running.id)
    history.mark_started(done.id)
    history.finish_run(done.id, RunStatus.FAILED)
    assert history.mark_interrupted_at_startup() == (queued.id, running.id)
    statuses = {r.id: r.status for r in history.list_runs()}
    assert statuses == {
        queued.id: RunStatus.INTERRUPTED,
        running.id: RunStatus.INTERRUPTED,
        done.id: RunStatus.FAILED,
    }
    assert history.mark_interrupted_at_startup() == ()


def test_a_delivery_is_new_once_by_id_and_by_body(history: History) -> None:
    assert history.record_delivery("github", "d-1", "sha-1")
    assert not history.record_delivery("github", "d-1", "sha-2")  # same id
    assert not history.record_delivery("github", "d-2", "sha-1")  # same body, new id
    assert history.record_delivery("gitlab", "d-1", "sha-1")  # another hook


def test_approvals_keep_the_first_time(history: History) -> None:
    run = history.create_run(pipelines=["ci.yml"], event=PUSH)
    first = history.record_approval(run.id, "deploy-prod", "alice")
    again = history.record_approval(run.id, "deploy-prod", "alice")
    history.record_approval(run.id, "deploy-prod", "bob")
    assert again == first
    detail = history.get_run(run.id)
    assert detail is not None
    assert [(a.job, a.who) for a in detail.approvals] == [
        ("deploy-prod", "alice"),
        ("deploy-prod", "bob"),
    ]


def test_runs_from_many_threads_all_get_their_own_id(history: History) -> None:
    ids: list[int] = []
    lock = threading.Lock()

    def create() -> None:
        for _ in range(10):
            made = history.create_run(pipelines=["ci.yml"], event=PUSH)
            history.record_jobs(made.id, [job("a"), job("b")])
            with lock:
                ids.append(made.id)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 80
    assert len(history.list_runs(limit=1000)) == 80


def test_the_database_is_in_wal_mode(history: History) -> None:
    with sqlite3.connect(history.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# ----------------------------------------------------------------- migrations


def old_database(path: Path, versions: int) -> None:
    """A database as an older dockstep left it: only the first `versions` migrations."""
    connection = sqlite3.connect(path, isolation_level=None)
    migrate(connection, path, MIGRATIONS[:versions])
    connection.execute(
        "INSERT INTO runs (pipelines, event, source, status, created_at)"
        " VALUES ('[\"ci.yml\"]', 'push', 'cli', 'passed', 1.0)"
    )
    connection.close()


def test_an_old_database_is_migrated_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    old_database(path, 1)
    with History(path) as history:
        assert history.version == len(MIGRATIONS) > 1
        assert [r.pipelines for r in history.list_runs()] == [("ci.yml",)]
        assert history.last_fires() == {}  # the table of migration 2 exists
    with sqlite3.connect(path) as connection:
        found = connection.execute("SELECT version FROM schema_version ORDER BY version")
        assert [v for (v,) in found] == list(range(1, len(MIGRATIONS) + 1))


def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    History(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO schema_version VALUES (?, 0)", (len(MIGRATIONS) + 1,))
    newer = rf"schema version {len(MIGRATIONS) + 1}, newer than this dockstep knows"
    with pytest.raises(HistoryTooNew, match=newer):
        History(path)


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    old_database(path, 1)
    broken = (*MIGRATIONS[:1], "CREATE TABLE half (x INTEGER); CREATE TABLE runs (x INTEGER);")
    connection = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        migrate(connection, path, broken)
    assert migrations.version(connection) == 1
    tables = {n for (n,) in connection.execute("SELECT name FROM sqlite_master")}
    assert "half" not in tables
    connection.close()


def test_statements_split_where_sqlite_says() -> None:
    script = "INSERT INTO t VALUES ('a;b'); CREATE TABLE u (x);\n"
    assert migrations.statements(script) == ["INSERT INTO t VALUES ('a;b');", "CREATE TABLE u (x);"]


def test_a_run_keeps_its_session_run_ids_and_its_planned_jobs_until_results(
    history: History,
) -> None:
    record = history.create_run(
        pipelines=["pipelines/ci.yml"], event=PUSH, session_runs={"pipelines/ci.yml": "s-1"}
    )
    assert record.session_runs == (("pipelines/ci.yml", "s-1"),)
    history.plan_jobs(record.id, "pipelines/ci.yml", [("build", "test", "/logs/build.log")])
    detail = history.get_run(record.id)
    assert detail is not None
    assert [(j.name, j.status, j.log_path) for j in detail.jobs] == [
        ("build", "pending", "/logs/build.log")
    ]
    result = JobResult(name="build", stage="test", status=Status.PASSED, log_file="/logs/b.log")
    history.record_jobs(record.id, [result], pipeline="pipelines/ci.yml")
    detail = history.get_run(record.id)
    assert detail is not None
    assert [(j.name, j.status) for j in detail.jobs] == [("build", "passed")]
