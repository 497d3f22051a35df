"""Schedules on an injected clock: minute ticks, both DST nights, downtime, restarts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runner.model.events import EventKind, EventSource
from runner.service.history import History
from runner.service.schedules import Fire, ScheduleBook, ScheduleEntry, ScheduleInvalid

MINUTE = timedelta(minutes=1)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    with History(tmp_path / "history.sqlite3") as opened:
        yield opened


def utc(text: str) -> datetime:
    """'2026-06-01 10:07' (or with seconds) in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def tick(
    book: ScheduleBook, start: datetime, end: datetime, step: timedelta = MINUTE
) -> list[Fire]:
    """Every fire from calling `due` each `step` from `start` to `end` (both included)."""
    fires, now = [], start
    while now <= end:
        fires += book.due(now)
        now += step
    return fires


def times(fires: list[Fire]) -> list[str]:
    return [f.at.strftime("%Y-%m-%d %H:%M") for f in fires]


def book_of(history: History, cron: str, timezone: str = "UTC") -> ScheduleBook:
    entry = ScheduleEntry(pipeline="pipelines/nightly.yml", cron=cron, timezone=timezone)
    return ScheduleBook([entry], history)


def test_minute_ticks_fire_each_time_once(history: History) -> None:
    book = book_of(history, "*/15 * * * *")
    fires = tick(book, utc("2026-06-01 10:07"), utc("2026-06-01 11:07"))
    assert times(fires) == [
        "2026-06-01 10:15",
        "2026-06-01 10:30",
        "2026-06-01 10:45",
        "2026-06-01 11:00",
    ]


def test_ticks_off_the_minute_fire_at_the_first_tick_after(history: History) -> None:
    book = book_of(history, "0 * * * *")
    book.due(utc("2026-06-01 09:59:40"))
    assert book.due(utc("2026-06-01 10:00:10")) == [
        Fire(entry=book.entries[0], at=utc("2026-06-01 10:00"))
    ]


def test_a_new_entry_does_not_fire_for_times_before_it_was_known(history: History) -> None:
    book = book_of(history, "0 3 * * *")
    assert book.due(utc("2026-06-01 12:00")) == []  # 03:00 today is past, but unknown then
    assert times(tick(book, utc("2026-06-02 02:58"), utc("2026-06-02 03:02"))) == [
        "2026-06-02 03:00"
    ]


@pytest.mark.parametrize(
    ("zone", "cron", "night", "fired"),
    [
        # 02:30 happens twice in Berlin (CEST, then CET): once, at the first
        ("Europe/Berlin", "30 2 * * *", utc("2026-10-24 22:00"), "2026-10-25 00:30"),
        # 01:30 happens twice in New York (EDT, then EST)
        ("America/New_York", "30 1 * * *", utc("2026-11-01 03:00"), "2026-11-01 05:30"),
    ],
)
def test_on_the_fall_back_night_a_repeated_time_fires_once(
    history: History, zone: str, cron: str, night: datetime, fired: str
) -> None:
    book = book_of(history, cron, zone)
    assert times(tick(book, night, night + timedelta(hours=6))) == [fired]


def test_known_first_in_the_repeated_hour_a_time_already_passed_does_not_fire(
    history: History,
) -> None:
    book = book_of(history, "30 2 * * *", "Europe/Berlin")
    start = utc("2026-10-25 01:20")  # 02:20 CET: 02:30 CEST was an hour ago, 02:30 CET is next
    assert times(tick(book, start, start + timedelta(hours=3))) == []
    assert book.next_due(start) == utc("2026-10-26 01:30")


def test_back_in_the_repeated_hour_the_missed_time_fires_once(history: History) -> None:
    book = book_of(history, "30 2 * * *", "Europe/Berlin")
    assert times(tick(book, utc("2026-10-24 00:20"), utc("2026-10-24 00:40"))) == [
        "2026-10-24 00:30"
    ]
    back = utc("2026-10-25 01:20")  # down across 02:30 CEST, back at 02:20 CET
    assert times(tick(book, back, back + timedelta(hours=3))) == ["2026-10-25 00:30"]


def test_on_the_fall_back_night_an_hourly_entry_follows_real_time(history: History) -> None:
    book = book_of(history, "30 * * * *", "Europe/Berlin")
    fires = tick(book, utc("2026-10-24 23:45"), utc("2026-10-25 02:45"))
    # 02:30 CEST, 02:30 CET, 03:30 CET: one fire per real hour, as Debian cron does
    assert times(fires) == ["2026-10-25 00:30", "2026-10-25 01:30", "2026-10-25 02:30"]


def test_on_the_spring_forward_night_a_skipped_time_fires_at_the_end_of_the_gap(
    history: History,
) -> None:
    book = book_of(history, "30 2 * * *", "Europe/Berlin")
    fires = tick(book, utc("2026-03-28 22:00"), utc("2026-03-30 04:00"), step=5 * MINUTE)
    # 02:30 does not exist on 29 March: 03:00 CEST (01:00 UTC); the next night as usual
    assert times(fires) == ["2026-03-29 01:00", "2026-03-30 00:30"]


def test_after_three_days_down_an_entry_fires_once_for_the_latest_time(
    history: History,
) -> None:
    nightly = ScheduleEntry(pipeline="nightly.yml", cron="0 3 * * *", timezone="Europe/Berlin")
    often = ScheduleEntry(pipeline="often.yml", cron="*/5 * * * *")
    book = ScheduleBook([nightly, often], history)
    book.due(utc("2026-06-01 12:00"))
    back = utc("2026-06-04 12:02")
    fires = book.due(back)
    assert {f.entry.pipeline: f.at for f in fires} == {
        "nightly.yml": utc("2026-06-04 01:00"),  # 03:00 CEST today
        "often.yml": utc("2026-06-04 12:00"),
    }
    assert tick(book, back, back + 2 * MINUTE) == []
    assert times(book.due(back + 3 * MINUTE)) == ["2026-06-04 12:05"]


def test_a_restart_fires_nothing_twice(history: History, tmp_path: Path) -> None:
    book = book_of(history, "0 * * * *")
    book.due(utc("2026-06-01 09:30"))
    assert len(book.due(utc("2026-06-01 10:00:05"))) == 1
    history.close()
    with History(tmp_path / "history.sqlite3") as reopened:
        restarted = book_of(reopened, "0 * * * *")
        assert tick(restarted, utc("2026-06-01 10:00:05"), utc("2026-06-01 10:59")) == []
        assert times(restarted.due(utc("2026-06-01 11:00"))) == ["2026-06-01 11:00"]


def test_the_same_cron_in_two_zones_are_two_entries(history: History) -> None:
    entries = [
        ScheduleEntry(pipeline="p.yml", cron="0 9 * * *", timezone=zone)
        for zone in ("UTC", "Asia/Tokyo", "UTC")
    ]
    book = ScheduleBook(entries, history)
    fires = tick(book, utc("2026-05-31 23:30"), utc("2026-06-01 10:00"), step=30 * MINUTE)
    assert [(f.entry.timezone, f.at.hour) for f in fires] == [("Asia/Tokyo", 0), ("UTC", 9)]


def test_next_due_is_the_earliest_entry(history: History) -> None:
    hourly = ScheduleEntry(pipeline="a.yml", cron="0 * * * *")
    daily = ScheduleEntry(pipeline="b.yml", cron="30 6 * * *")
    book = ScheduleBook([hourly, daily], history)
    assert book.next_due(utc("2026-06-01 05:10")) == utc("2026-06-01 06:00")
    book.due(utc("2026-06-01 05:10"))
    assert book.next_due(utc("2026-06-01 06:00:01")) == utc("2026-06-01 06:00")  # overdue
    assert ScheduleBook([], history).next_due(utc("2026-06-01 00:00")) is None


def test_the_clock_is_injected_and_must_be_aware(history: History) -> None:
    entry = ScheduleEntry(pipeline="p.yml", cron="* * * * *")
    clock = iter([utc("2026-06-01 08:00"), utc("2026-06-01 08:01")])
    book = ScheduleBook([entry], history, clock=lambda: next(clock))
    assert book.due() == []
    assert times(book.due()) == ["2026-06-01 08:01"]
    with pytest.raises(ValueError, match="time-zone-aware"):
        book.due(datetime(2026, 6, 1, 8, 2))


def test_a_fire_is_a_schedule_event() -> None:
    entry = ScheduleEntry(pipeline="p.yml", cron="0 3 * * *")
    event = Fire(entry=entry, at=utc("2026-06-01 03:00")).event
    assert (event.kind, event.source, event.schedule) == (
        EventKind.SCHEDULE,
        EventSource.SCHEDULE,
        "0 3 * * *",
    )


@pytest.mark.parametrize(
    ("cron", "timezone", "problem"),
    [
        ("0 3 * *", "UTC", "expected 5 fields"),
        ("0 0 3 * * *", "UTC", "expected 5 fields"),  # cronsim's seconds field: not ours
        ("61 3 * * *", "UTC", "Bad minute"),
        ("0 3 * * *", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("0 3 * * *", "../etc/passwd", "unknown time zone"),
    ],
)
def test_invalid_entries_are_refused(cron: str, timezone: str, problem: str) -> None:
    with pytest.raises(ScheduleInvalid, match=problem):
        ScheduleEntry(pipeline="p.yml", cron=cron, timezone=timezone)
