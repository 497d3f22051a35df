"""A visit counter kept in PostgreSQL: the worked example's application."""

from __future__ import annotations

import os

import pg8000.native


def connect() -> pg8000.native.Connection:
    """A connection to the database the environment names (dockstep's `db` service)."""
    return pg8000.native.Connection(
        user=os.environ.get("PGUSER", "postgres"),
        host=os.environ.get("PGHOST", "db"),
        database=os.environ.get("PGDATABASE", "postgres"),
    )


def visit(connection: pg8000.native.Connection, page: str) -> int:
    """Count a visit of `page` in one transaction at the configured isolation level; the total."""
    isolation = os.environ.get("ISOLATION", "read committed")
    connection.run("CREATE TABLE IF NOT EXISTS visits (page text PRIMARY KEY, n int NOT NULL)")
    connection.run(f"START TRANSACTION ISOLATION LEVEL {isolation}")
    rows = connection.run(
        "INSERT INTO visits VALUES (:page, 1) ON CONFLICT (page) "
        "DO UPDATE SET n = visits.n + 1 RETURNING n",
        page=page,
    )
    connection.run("COMMIT")
    return int(rows[0][0])
