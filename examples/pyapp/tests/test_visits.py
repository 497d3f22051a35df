from __future__ import annotations

import os
import uuid

from pyapp import connect, visit


def test_visits_are_counted_per_page() -> None:
    connection = connect()
    page = f"/home-{uuid.uuid4().hex}"
    assert [visit(connection, page) for _ in range(3)] == [1, 2, 3]
    assert visit(connection, page + "/other") == 1


def test_the_transaction_runs_at_the_cells_isolation_level() -> None:
    connection = connect()
    connection.run(f"SET default_transaction_isolation = '{os.environ['ISOLATION']}'")
    level = connection.run("SHOW transaction_isolation")[0][0]
    assert level == os.environ["ISOLATION"]
