"""`on.schedule` entries: which are due now, in their own time zone, across DST and downtime.

Times come from cronsim, which follows Debian cron across DST changes:
- an entry at fixed times (neither the minute nor the hour field starts with `*`, e.g.
  `30 2 * * *`) follows the wall clock. On the fall-back night a time that occurs twice
  fires once, at its first occurrence; on the spring-forward night a time that does not
  exist fires at the end of the gap (02:30 in Europe/Berlin fires at 03:00 CEST).
- an entry with `*` in the minute or hour field (`*/15 * * * *`, `30 * * * *`) follows
  real time: it fires every 15 (or 60) real minutes through both nights, so the repeated
  hour has its own fires and the skipped hour has none.

After downtime an entry fires once, for the latest time it missed, however many it missed:
a nightly build that was down for three days runs once, not three times. An entry seen
for the first time fires at its next time, never for times before it was known.

The last fire of each entry is kept by a `FireStore` (the run history's `schedule_state`)
and written by `due` before it returns: at most once, so a crash between recording a fire
and queueing its run loses that run rather than running it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from runner.errors import UsageError
from runner.model.events import Event, EventKind, EventSource
from runner.service.records import ScheduleKey

MAX_STEPS = 100  # cron times to skip looking for one after a given instant (see _next_after)


class ScheduleInvalid(UsageError):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleEntry:
    pipeline: str
    cron: str  # 5 fields: minute hour day-of-month month day-of-week
    timezone: str = "UTC"  # an IANA zone name

    def __post_init__(self) -> None:
        where = f"{self.pipeline}: on.schedule {self.cron!r}"
        if len(self.cron.split()) != 5:
            raise ScheduleInvalid(f"{where}: expected 5 fields (minute hour day month weekday)")
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleInvalid(f"{where}: unknown time zone {self.timezone!r}") from None
        try:
            CronSim(self.cron, datetime(2000, 1, 1, tzinfo=zone))
        except CronSimError as error:
            raise ScheduleInvalid(f"{where}: {error}") from None

    @property
    def key(self) -> ScheduleKey:
        return (self.pipeline, self.cron, self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # cached by zoneinfo


@dataclass(frozen=True, slots=True, kw_only=True)
class Fire:
    entry: ScheduleEntry
    at: datetime  # the scheduled time (UTC) this fire stands for; the latest one missed

    @property
    def event(self) -> Event:
        return Event(kind=EventKind.SCHEDULE, source=EventSource.SCHEDULE, schedule=self.entry.cron)


class FireStore(Protocol):
    def last_fires(self) -> Mapping[ScheduleKey, datetime]: ...

    def record_fires(self, fires: Mapping[ScheduleKey, datetime]) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class ScheduleBook:
    def __init__(
        self,
        entries: Iterable[ScheduleEntry],
        store: FireStore,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.entries = tuple(dict.fromkeys(entries))  # the same entry twice fires once
        self._store = store
        self._clock = clock

    def due(self, now: datetime | None = None) -> list[Fire]:
        """The entries due at `now`, each at most once, recorded as fired."""
        now = self._utc(now)
        last = self._store.last_fires()
        fires: list[Fire] = []
        recorded: dict[ScheduleKey, datetime] = {}
        for entry in self.entries:
            if entry.key not in last:
                recorded[entry.key] = now  # first seen: due from now on
                continue
            upcoming = _next_after(entry, last[entry.key])
            if upcoming is None or upcoming > now:
                continue
            latest = _latest_until(entry, now)
            at = latest if latest is not None and latest > upcoming else upcoming
            fires.append(Fire(entry=entry, at=at))
            recorded[entry.key] = at
        if recorded:
            self._store.record_fires(recorded)
        return fires

    def next_due(self, now: datetime | None = None) -> datetime | None:
        """When the next entry is due (the service sleeps until then; a time already past
        means an entry is overdue), or None."""
        now = self._utc(now)
        last = self._store.last_fires()
        found = (_next_after(e, last.get(e.key, now)) for e in self.entries)
        return min((when for when in found if when is not None), default=None)

    def _utc(self, now: datetime | None) -> datetime:
        now = self._clock() if now is None else now
        if now.tzinfo is None:
            raise ValueError("the schedule's clock must give time-zone-aware times")
        return now.astimezone(UTC)


def _next_after(entry: ScheduleEntry, after: datetime) -> datetime | None:
    """The first cron time strictly after `after`, in UTC.

    cronsim walks fixed-time entries on the wall clock, which drops the fold: from 02:20
    of the repeated hour it offers 02:30 of the first pass, which is already past; those
    are skipped (MAX_STEPS bounds it; a real skip is a handful)."""
    times = CronSim(entry.cron, after.astimezone(entry.zone))
    for _ in range(MAX_STEPS):
        try:
            found = next(times).astimezone(UTC)
        except StopIteration:  # cronsim gives up after 50 years without a match
            return None
        if found > after:
            return found
    return None


def _latest_until(entry: ScheduleEntry, now: datetime) -> datetime | None:
    """The last cron time at or before `now`, in UTC (to skip every missed one but it)."""
    start = now.replace(microsecond=0) + timedelta(seconds=1)  # reverse starts 1 s back
    try:
        found = next(CronSim(entry.cron, start.astimezone(entry.zone), reverse=True))
    except StopIteration:
        return None
    found = found.astimezone(UTC)
    return found if found <= now else None
