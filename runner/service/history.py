"""The service's run history: runs, their jobs, approvals, webhook deliveries and the
last fire of each schedule, in an embedded SQLite database in the state folder.

Thread safety: one connection shared under a lock, not one per thread. Writes are
serialized by SQLite anyway and the service writes a few rows per run, so per-thread
connections would buy nothing but connections that outlive their threads and a `close()`
that cannot reach them. Each method holds the lock for its whole transaction, so two
threads' transactions never interleave on the connection.

Every write is one transaction (`BEGIN IMMEDIATE` … `COMMIT`, rolled back on any error),
so a crash mid-write leaves a run as it was before the write, never half recorded. WAL
mode lets another process (a CLI listing runs) read while the service writes, and
`busy_timeout` makes a writer wait for the other instead of failing at once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from runner.model.events import Event
from runner.model.results import JobResult
from runner.service import rows
from runner.service.migrations import HistoryError, migrate
from runner.service.records import (
    PENDING,
    ApprovalRecord,
    RunDetail,
    RunRecord,
    RunStatus,
    ScheduleKey,
)

HISTORY_FILE = "history.sqlite3"
BUSY_TIMEOUT_MS = 5000


def history_path(state_dir: Path) -> Path:
    return state_dir / HISTORY_FILE


class History:
    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self.version = migrate(self._db, path)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _now(self) -> float:
        return round(self._clock(), 3)

    # ------------------------------------------------------------------ runs

    def create_run(
        self,
        *,
        pipelines: Sequence[str],
        event: Event,
        requested_by: str = "",
        report_dir: str = "",
        session_runs: Mapping[str, str] | None = None,
    ) -> RunRecord:
        """Record a run as queued; its id is the order runs were created in."""
        values = (
            json.dumps(list(pipelines)),
            *(event.kind.value, event.source.value, event.ref, event.branch, event.tag),
            *(event.base, event.commit, event.delivery, RunStatus.QUEUED.value),
            *(self._now(), report_dir, requested_by, json.dumps(dict(session_runs or {}))),
        )
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO runs (pipelines, event, source, ref, branch, tag, base, commit_sha,"
                " delivery, status, created_at, report_dir, requested_by, session_runs)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            run_id = cursor.lastrowid
        assert run_id is not None
        return self._run(run_id)

    def mark_started(self, run_id: int) -> bool:
        """Queued → running; False when the run is no longer queued (cancelled meanwhile)."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE runs SET status = 'running', started_at = ? WHERE id = ? AND status = ?",
                (self._now(), run_id, RunStatus.QUEUED.value),
            )
            return cursor.rowcount == 1

    def finish_run(self, run_id: int, status: RunStatus, *, report_dir: str | None = None) -> bool:
        """Queued or running → `status`; False when the run had already finished."""
        if not status.final:
            raise HistoryError(f"a run cannot finish as {status.value!r}")
        with self._write() as db:
            cursor = db.execute(
                "UPDATE runs SET status = ?, finished_at = ?,"
                " report_dir = COALESCE(?, report_dir)"
                " WHERE id = ? AND status IN ('queued', 'running')",
                (status.value, self._now(), report_dir, run_id),
            )
            return cursor.rowcount == 1

    def record_jobs(self, run_id: int, results: Iterable[JobResult], *, pipeline: str = "") -> None:
        """Record (or update: results of a job recorded again replace the earlier ones) the
        results of one pipeline's jobs, all of them or none."""
        values = [rows.job_values(run_id, pipeline, result) for result in results]
        with self._write() as db:
            self._require(db, run_id)
            db.executemany(
                f"INSERT OR REPLACE INTO jobs ({rows.JOB_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )

    def plan_jobs(self, run_id: int, pipeline: str, jobs: Iterable[tuple[str, str, str]]) -> None:
        """Record a pipeline's planned jobs (name, stage, log path) as pending, before they
        run: the dashboard draws the graph and follows the logs from these rows."""
        values = [(run_id, pipeline, name, stage, PENDING, log) for name, stage, log in jobs]
        with self._write() as db:
            self._require(db, run_id)
            db.executemany(
                "INSERT OR REPLACE INTO jobs (run_id, pipeline, name, stage, status, log_path)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                values,
            )

    def mark_interrupted_at_startup(self) -> tuple[int, ...]:
        """Runs a dead service left queued or running are interrupted: nothing runs them now.
        Call it once, holding the `ServiceLock`, before accepting work."""
        unfinished = "status IN ('queued', 'running')"  # no RETURNING: SQLite < 3.35 lacks it
        with self._write() as db:
            found = db.execute(f"SELECT id FROM runs WHERE {unfinished} ORDER BY id").fetchall()
            db.execute(
                f"UPDATE runs SET status = 'interrupted', finished_at = ? WHERE {unfinished}",
                (self._now(),),
            )
        return tuple(row[0] for row in found)

    def list_runs(self, limit: int = 50, offset: int = 0) -> tuple[RunRecord, ...]:
        """Newest first."""
        with self._lock:
            found = self._db.execute(
                f"SELECT {rows.RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return tuple(rows.run(row) for row in found)

    def get_run(self, run_id: int) -> RunDetail | None:
        with self._lock:
            found = self._db.execute(
                f"SELECT {rows.RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            if found is None:
                return None
            jobs = self._db.execute(
                f"SELECT {rows.JOB_COLUMNS} FROM jobs WHERE run_id = ?"
                " ORDER BY COALESCE(started_at, finished_at), pipeline, name",
                (run_id,),
            ).fetchall()
            approvals = self._db.execute(
                "SELECT run_id, job, who, at FROM approvals WHERE run_id = ? ORDER BY at",
                (run_id,),
            ).fetchall()
        return RunDetail(
            run=rows.run(found),
            jobs=tuple(rows.job(row) for row in jobs),
            approvals=tuple(
                ApprovalRecord(run_id=r[0], job=r[1], who=r[2], at=r[3]) for r in approvals
            ),
        )

    def _run(self, run_id: int) -> RunRecord:
        detail = self.get_run(run_id)
        assert detail is not None
        return detail.run

    @staticmethod
    def _require(db: sqlite3.Connection, run_id: int) -> None:
        if db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            raise HistoryError(f"no run {run_id} in the history")

    # ------------------------------------------------- approvals, deliveries

    def record_approval(self, run_id: int, job: str, who: str) -> ApprovalRecord:
        """Record that `who` approved `job`; approving again keeps the first time."""
        at = self._now()
        with self._write() as db:
            self._require(db, run_id)
            db.execute(
                "INSERT OR IGNORE INTO approvals VALUES (?, ?, ?, ?)", (run_id, job, who, at)
            )
            row = db.execute(
                "SELECT at FROM approvals WHERE run_id = ? AND job = ? AND who = ?",
                (run_id, job, who),
            ).fetchone()
        return ApprovalRecord(run_id=run_id, job=job, who=who, at=row[0])

    def record_delivery(self, hook: str, delivery: str, body_sha256: str) -> bool:
        """Remember a webhook delivery; False when the hook saw this delivery id or this
        exact body before. The body counts because a delivery id header is not covered by
        the signature: a captured request replayed under a new id has the same body."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO deliveries VALUES (?, ?, ?, ?)",
                (hook, delivery, body_sha256, self._now()),
            )
            return cursor.rowcount == 1

    # --------------------------------------------------------------- schedules

    def last_fires(self) -> dict[ScheduleKey, datetime]:
        """When each schedule entry last fired (or was first seen), in UTC."""
        with self._lock:
            found = self._db.execute(
                "SELECT pipeline, cron, tz, last_fire FROM schedule_state"
            ).fetchall()
        return {(p, c, z): datetime.fromtimestamp(t, UTC) for p, c, z, t in found}

    def record_fires(self, fires: Mapping[ScheduleKey, datetime]) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO schedule_state VALUES (?, ?, ?, ?)",
                [(*key, when.timestamp()) for key, when in fires.items()],
            )
