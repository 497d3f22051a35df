"""The history database's schema, as ordered migrations.

Migration N (1-based) turns a version N-1 database into version N. Each is applied in
the same transaction as the row that records it, so a crash mid-migration leaves the
previous version intact. Never edit a released migration: append a new one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from runner.errors import EXIT_INFRASTRUCTURE, DockstepError

RUN_STATUSES = "('queued', 'running', 'passed', 'failed', 'cancelled', 'interrupted')"

MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        pipelines TEXT NOT NULL,  -- a JSON list of pipeline files
        event TEXT NOT NULL,
        source TEXT NOT NULL,
        ref TEXT NOT NULL DEFAULT '',
        branch TEXT NOT NULL DEFAULT '',
        tag TEXT NOT NULL DEFAULT '',
        base TEXT NOT NULL DEFAULT '',
        commit_sha TEXT NOT NULL DEFAULT '',
        delivery TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN {RUN_STATUSES}),
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        report_dir TEXT NOT NULL DEFAULT '',
        requested_by TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX runs_by_status ON runs (status);
    CREATE TABLE jobs (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        pipeline TEXT NOT NULL,
        name TEXT NOT NULL,
        stage TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at REAL,
        finished_at REAL,
        duration REAL,
        exit_code INTEGER,
        reason TEXT,
        log_path TEXT,
        pushed TEXT NOT NULL DEFAULT '[]',  -- a JSON list of repository@digest
        cache TEXT,
        PRIMARY KEY (run_id, pipeline, name)
    );
    CREATE TABLE approvals (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        job TEXT NOT NULL,
        who TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (run_id, job, who)
    );
    CREATE TABLE deliveries (
        hook TEXT NOT NULL,
        delivery TEXT NOT NULL,
        body_sha256 TEXT NOT NULL,
        received_at REAL NOT NULL,
        UNIQUE (hook, delivery),
        UNIQUE (hook, body_sha256)
    );
    """,
    """
    CREATE TABLE schedule_state (
        pipeline TEXT NOT NULL,
        cron TEXT NOT NULL,
        tz TEXT NOT NULL,
        last_fire REAL NOT NULL,
        PRIMARY KEY (pipeline, cron, tz)
    );
    """,
    """
    -- a JSON object: pipeline -> the session's run id (its containers' label, its approvals)
    ALTER TABLE runs ADD COLUMN session_runs TEXT NOT NULL DEFAULT '{}';
    """,
)


class HistoryError(DockstepError):
    exit_code = EXIT_INFRASTRUCTURE


class HistoryTooNew(HistoryError):
    hint = "Run the dockstep version that wrote it, or point the service at another state folder."

    def __init__(self, path: Path | str, found: int, known: int) -> None:
        super().__init__(
            f"the run history {path} has schema version {found}, newer than this dockstep "
            f"knows ({known}); refusing to open it rather than risk damaging it"
        )


def statements(script: str) -> list[str]:
    """A script's statements, split where sqlite says one is complete (`;` inside a string
    does not end one). `executescript` is not used: it commits any open transaction first."""
    found, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    return [s for s in found if s.strip("; \n")]


def version(connection: sqlite3.Connection) -> int:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at REAL)"
    )
    row = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(
    connection: sqlite3.Connection, path: Path | str, migrations: Sequence[str] = MIGRATIONS
) -> int:
    """Bring the database to the newest version in one transaction; returns that version.

    The connection must be in autocommit mode (`isolation_level=None`): the transaction
    here is explicit, and `BEGIN IMMEDIATE` keeps two processes from migrating at once.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        current = version(connection)
        if current > len(migrations):
            raise HistoryTooNew(path, current, len(migrations))
        for number, script in enumerate(migrations[current:], start=current + 1):
            for statement in statements(script):
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_version VALUES (?, ?)", (number, round(time.time(), 3))
            )
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return len(migrations)
