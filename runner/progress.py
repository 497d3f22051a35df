"""What each running job is doing, for the live status line of a terminal run.

The job runner and the kind runners report phases through `Phases` (the console
implements it); a `Board` keeps them; `render` turns them into one line, a pure function
of (jobs, now, width) so that it is tested without a terminal. Nothing here writes to a
stream: `output.Console` owns the terminal.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TextIO

HEAD = "running: "


class Stage(enum.Enum):
    START = "starting"
    IMAGE = "image"
    VOLUMES = "cache volumes"
    INSTALL = "install"
    SERVICES = "services"
    STEP = "step"
    PACKAGE = "package"
    DEPLOY = "deploy"
    VERIFY = "verify"
    APPROVAL = "waiting for approval"


@dataclass(frozen=True, slots=True, kw_only=True)
class Phase:
    """Where a job is: a stage, and what within it (`2/5 'tests'`, `cache hit`)."""

    stage: Stage
    detail: str = ""

    @classmethod
    def step(cls, number: int, total: int, name: str) -> Phase:
        return cls(stage=Stage.STEP, detail=f"{number}/{total} {name!r}")

    def label(self) -> str:
        return f"{self.stage.value} {self.detail}".rstrip()


class Phases(Protocol):
    """Where a running job reports its progress (the console; nothing at all when plain)."""

    def started(self, job: str) -> None: ...

    def phase(self, job: str, phase: Phase) -> None: ...

    def ended(self, job: str) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Running:
    job: str
    since: float  # the board's clock when the job started
    phase: Phase


class Board:
    """The running jobs and their phases; job threads write, the status line reads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, Running] = {}

    def start(self, job: str) -> None:
        with self._lock:
            self._jobs[job] = Running(job=job, since=self.clock(), phase=Phase(stage=Stage.START))

    def set(self, job: str, phase: Phase) -> None:
        with self._lock:
            if job in self._jobs:  # a phase after the end (a late log) is not a new job
                self._jobs[job] = replace(self._jobs[job], phase=phase)

    def end(self, job: str) -> None:
        with self._lock:
            self._jobs.pop(job, None)

    def end_all(self, prefix: str = "") -> None:
        """Forget the jobs named `prefix…`: their run is over, whether their threads are or not."""
        with self._lock:
            for job in [j for j in self._jobs if j.startswith(prefix)]:
                del self._jobs[job]

    def snapshot(self) -> tuple[Running, ...]:
        with self._lock:
            return tuple(self._jobs.values())


def elapsed(seconds: float) -> str:
    """`7s`, `2m05s`, `1h02m`: short enough for many jobs on one line."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def render(running: Sequence[Running], now: float, width: int) -> str:
    """One line of at most `width` characters: the oldest jobs first, `+N more` for the
    ones that do not fit, and a cut with `...` when not even one does."""
    if not running or width <= 0:
        return ""
    ordered = sorted(running, key=lambda r: (r.since, r.job))
    parts = [f"{r.job} {elapsed(now - r.since)} {r.phase.label()}" for r in ordered]
    for shown in range(len(parts), 0, -1):
        text = HEAD + ", ".join(parts[:shown]) + _more(len(parts) - shown)
        if len(text) <= width:
            return text
    return _cut(HEAD + parts[0] + _more(len(parts) - 1), width)


def _more(hidden: int) -> str:
    return f" +{hidden} more" if hidden else ""


def _cut(text: str, width: int) -> str:
    return text[: width - 3] + "..." if width > 3 else text[:width]


class ProgressMode(enum.Enum):
    AUTO = "auto"
    TTY = "tty"
    PLAIN = "plain"


def wants_status_line(mode: ProgressMode, stream: TextIO, environ: Mapping[str, str]) -> bool:
    """`auto`: a status line on a terminal that takes escapes (TERM=dumb does not).

    NO_COLOR is about colour, not cursor control: it leaves the status line on.
    """
    if mode is not ProgressMode.AUTO:
        return mode is ProgressMode.TTY
    return stream.isatty() and environ.get("TERM") != "dumb"


CLEAR_LINE = "\r\x1b[2K"  # back to column 1 and erase the line: where the status line was
DIM, RESET = "\x1b[2m", "\x1b[0m"


class StatusLine:
    """The terminal's last line: what to write so that it stays below every log line.

    It returns text and never writes, so the console writes it with the line it goes
    around, under the console's lock, in one piece.
    """

    def __init__(self, board: Board, *, columns: Callable[[], int], colour: bool) -> None:
        self.board = board
        self._columns = columns
        self._colour = colour
        self._drawn = ""  # the line on the screen now
        self._closed = False

    def around(self, text: str) -> str:
        """Clear the status line, write `text`, draw it again below."""
        return self._clear() + text + self._draw()

    def redraw(self) -> str:
        """What brings the line up to date; nothing when it already is (no flicker)."""
        if self._drawn and self._drawn == self._text():
            return ""
        return self._clear() + self._draw()

    def close(self) -> str:
        """Clear it for good: what follows (the summary, an error) has the screen."""
        self._closed = True
        return self._clear()

    def _clear(self) -> str:
        drawn, self._drawn = self._drawn, ""
        return CLEAR_LINE if drawn else ""

    def _draw(self) -> str:
        if self._closed:
            return ""
        self._drawn = text = self._text()
        return f"{DIM}{text}{RESET}" if text and self._colour else text

    def _text(self) -> str:
        # a column short: a line that fills the last one leaves some terminals about to wrap
        return render(self.board.snapshot(), self.board.clock(), self._columns() - 1)
