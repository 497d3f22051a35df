"""Cron expressions of `on.schedule`: five fields, checked without evaluating them. Pure."""

from __future__ import annotations

import re

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)
_PART = re.compile(r"(?:\*|(?P<start>\w+)(?:-(?P<end>\w+))?)(?:/(?P<step>[0-9]+))?")


def cron_problem(text: str) -> str | None:
    """What is wrong with a 5-field cron expression, or None."""
    fields = text.split()
    if len(fields) != len(_FIELDS):
        return (
            f"expected a cron expression with 5 fields (minute hour day-of-month month "
            f"day-of-week), got {text!r}"
        )
    for value, spec in zip(fields, _FIELDS, strict=True):
        problem = _field(value, *spec)
        if problem:
            return problem
    return None


def normalize(text: str) -> str:
    """One spelling per expression for comparisons: single spaces, names lowercased."""
    return " ".join(text.lower().split())


def _field(value: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    for part in value.split(","):
        match = _PART.fullmatch(part)
        if match is None or match["step"] == "0":
            return f"invalid cron {name} field {value!r}"
        for bound in (match["start"], match["end"]):
            number = _number(bound, names) if bound else low
            if number is None or not low <= number <= high:
                return f"cron {name} field {value!r}: {bound!r} is not in {low}-{high}"
    return None


def _number(text: str, names: tuple[str, ...]) -> int | None:
    if text.isdigit():
        return int(text)
    lowered = text.lower()
    if lowered not in names:
        return None
    return names.index(lowered) + (1 if names is _MONTHS else 0)
