"""Cron expressions: what the loader accepts and what it says about the rest."""

from __future__ import annotations

import pytest

from runner.expr.cron import cron_problem, normalize


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("* * * * *", None),
        ("0 0 31 12 7", None),
        ("5,10-20/5 * * * mon-fri", None),
        ("*/15 0-6,22 1 JAN,jul sun", None),
        ("0 0 0 * *", "cron day-of-month field '0': '0' is not in 1-31"),
        ("0 24 * * *", "cron hour field '24': '24' is not in 0-23"),
        ("0 0 * 13 *", "cron month field '13': '13' is not in 1-12"),
        ("0 0 * foo *", "cron month field 'foo': 'foo' is not in 1-12"),
        ("0 0 * * mon-funday", "cron day-of-week field 'mon-funday': 'funday' is not in 0-7"),
        ("*/0 * * * *", "invalid cron minute field '*/0'"),
        ("1-2-3 * * * *", "invalid cron minute field '1-2-3'"),
        (
            "@daily",
            "expected a cron expression with 5 fields (minute hour day-of-month month "
            "day-of-week), got '@daily'",
        ),
    ],
)
def test_cron_problem(cron: str, problem: str | None) -> None:
    assert cron_problem(cron) == problem


def test_normalize_makes_one_spelling() -> None:
    assert normalize("  0 3  * JAN   Mon ") == "0 3 * jan mon"
    assert normalize("0 3 * * 1") != normalize("0 4 * * 1")
