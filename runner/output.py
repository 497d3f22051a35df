"""Live output: every line prefixed by its job, coloured on a terminal, saved per job;
on a terminal, a status line of the running jobs below them."""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from runner.progress import Board, Phase, ProgressMode, StatusLine, wants_status_line

REDRAW = 0.5  # seconds between redraws of the status line: its elapsed times move
COLOURS = (36, 33, 35, 32, 34, 91, 96, 93, 95, 92)
RESET = "\033[0m"
CLOSED_NOTE = (
    "dockstep: stdout was closed; the run goes on without printing, "
    "and its job logs and report are still saved\n"
)
ESCAPES = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]               # CSI: colours, cursor moves, erasing
    | \x9b[0-?]*[ -/]*[@-~]                 # CSI as a single C1 character
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?   # OSC: titles, hyperlinks (unended: to the end)
    | \x1b[ -/]+[0-~]                       # character sets, as in tput sgr0's ESC ( B
    | \x1b[0-~]?                            # the other two-character ones, and a lone ESC
    """,
    re.VERBOSE,
)


def plain(text: str) -> str:
    """The text without terminal escape sequences, whoever wrote them.

    Steps colour their output, and the engine's classic builder wraps a build step's
    stderr in red (ESC[91m … ESC[0m).
    """
    return ESCAPES.sub("", text)


def use_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Colour on a terminal unless NO_COLOR is set (https://no-color.org)."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return environ["FORCE_COLOR"] not in ("0", "false")
    return stream.isatty()


@dataclass
class _Shared:
    """What a console and its masked twins share: one writer at a time, one colour per
    job, and whether anyone still reads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    colours: dict[str, int] = field(default_factory=dict)
    open: bool = True
    status: StatusLine | None = None  # a terminal's status line (--progress tty)


class Console:
    """Writes whole lines from many job threads without interleaving them.

    It is also where jobs report their phases (`progress.Phases`): with a status line
    they show below the log lines, without one they go nowhere.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        colour: bool,
        mask: Callable[[str], str],
        closed: Callable[[], None] = lambda: None,
        status: StatusLine | None = None,
    ) -> None:
        self._stream = stream
        self._colour = colour
        self._mask = mask
        self._closed = closed  # called once, when the reader goes away
        self._shared = _Shared(status=status)
        self._width = 0
        self._scope = ""  # "api/": the pipeline of an orchestrated run the jobs belong to

    def mask(self, text: str) -> str:
        return self._mask(text)

    def masked(self, mask: Callable[[str], str]) -> Console:
        """The same console (stream, lock, colours, open or not) masking lines by `mask`."""
        twin = Console(self._stream, colour=self._colour, mask=mask, closed=self._closed)
        twin._shared, twin._width, twin._scope = self._shared, self._width, self._scope
        return twin

    def within(self, pipeline: str) -> Console:
        """The same console, naming jobs `pipeline/job`: one pipeline of several at once."""
        twin = self.masked(self._mask)
        twin._scope = f"{pipeline}/"
        return twin

    def prefix_width(self, names: list[str]) -> None:
        self._width = max((len(self._scope + n) for n in names), default=0)

    def line(self, job: str, text: str) -> None:
        job = self._scope + job
        tag = job.ljust(self._width)
        if self._colour:
            colours = self._shared.colours
            code = colours.setdefault(job, COLOURS[len(colours) % len(COLOURS)])
            tag = f"\033[{code}m{tag}{RESET}"
            if "\x1b" in text:  # a job's own colour ends with its line
                text += RESET
        self._write(f"{tag} | {self._mask(self._shown(text))}\n")

    def note(self, text: str) -> None:
        """A line from dockstep itself, not from a job (`api: …` within a pipeline)."""
        scope = f"{self._scope[:-1]}: " if self._scope and text else ""
        self._write(f"{scope}{self._mask(self._shown(text))}\n")

    @property
    def has_status_line(self) -> bool:
        return self._shared.status is not None

    def started(self, job: str) -> None:
        if self._shared.status:
            self._shared.status.board.start(self._scope + job)

    def phase(self, job: str, phase: Phase) -> None:
        if self._shared.status:
            shown = replace(phase, detail=self._mask(self._shown(phase.detail)))
            self._shared.status.board.set(self._scope + job, shown)

    def ended(self, job: str) -> None:
        if self._shared.status:
            self._shared.status.board.end(self._scope + job)

    def done(self) -> None:
        """This run's jobs are over (a job thread stuck on a gone engine included)."""
        if self._shared.status:
            self._shared.status.board.end_all(self._scope)

    def redraw(self) -> None:
        status = self._shared.status
        if status:
            self._emit(status.redraw)

    def close_status(self) -> None:
        """Clear the status line for good, so that nothing printed after it is crossed."""
        status = self._shared.status
        if status:
            self._emit(status.close)

    def _shown(self, text: str) -> str:
        """With colour off (NO_COLOR, not a terminal) no escape gets through, a job's neither."""
        return text if self._colour else plain(text)

    def _write(self, text: str) -> None:
        status = self._shared.status
        self._emit(lambda: status.around(text) if status else text)

    def _emit(self, text: Callable[[], str]) -> None:
        """Write and flush; once the reader is gone (`| head`), write nothing more.

        `text` is made under the lock: what the status line shows is part of the write.
        A closed console does not stop the run: its jobs, logs, report and cleanup go on.
        """
        shared = self._shared
        with shared.lock:
            if not shared.open:
                return
            chunk = text()
            if not chunk:
                return
            try:
                self._stream.write(chunk)
                self._stream.flush()
            except BrokenPipeError:
                shared.open = False
                discard(self._stream)
                self._closed()


class JobLog:
    """Turns a job's byte stream into masked lines on the console and in its log file."""

    def __init__(self, job: str, console: Console, path: Path, mask: Callable[[str], str]) -> None:
        self.job = job
        self.path = path
        self._console = console
        self._mask = mask
        self._pending = b""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8")

    def write(self, chunk: bytes) -> None:
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            self.line(line.decode("utf-8", "replace").rstrip("\r"))

    def phase(self, phase: Phase) -> None:
        self._console.phase(self.job, phase)

    def line(self, text: str) -> None:
        self._console.line(self.job, text)
        self._file.write(self._mask(plain(text)) + "\n")  # a log file is never a terminal
        self._file.flush()

    def flush(self) -> None:
        """End a stream: a last line without a newline is still a line."""
        if self._pending:
            pending, self._pending = self._pending, b""
            self.line(pending.decode("utf-8", "replace"))

    def close(self) -> None:
        self.flush()
        self._file.close()


def discard(stream: TextIO) -> None:
    """Point a stream whose pipe is closed at /dev/null.

    What it still buffers is flushed again at exit, and into the closed pipe that prints
    "Exception ignored ... BrokenPipeError"; see "Note on SIGPIPE" in Python's `signal` docs.
    """
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):  # not a file (a test's StringIO): nothing is flushed at exit
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)


def _stdout_closed() -> None:
    """Say once, on stderr, why nothing more is printed (stderr may be closed as well)."""
    try:
        sys.stderr.write(CLOSED_NOTE)
        sys.stderr.flush()
    except BrokenPipeError:
        discard(sys.stderr)


def default_console(
    environ: Mapping[str, str],
    mask: Callable[[str], str] = str,
    progress: ProgressMode = ProgressMode.AUTO,
) -> Console:
    """The terminal's console: `--progress plain` writes no escape at all, colour neither."""
    colour = use_colour(sys.stdout, environ) and progress is not ProgressMode.PLAIN
    status = None
    if wants_status_line(progress, sys.stdout, environ):
        status = StatusLine(Board(), columns=_columns, colour=colour)
    return Console(sys.stdout, colour=colour, mask=mask, closed=_stdout_closed, status=status)


def _columns() -> int:
    return shutil.get_terminal_size().columns


@contextmanager
def live(console: Console, interval: float = REDRAW) -> Iterator[Console]:
    """Redraw the status line every `interval` while the run goes on, and clear it on the
    way out, whatever ends the run (an error, Ctrl-C)."""
    if not console.has_status_line:
        yield console
        return
    stop = threading.Event()
    ticker = threading.Thread(
        target=_tick, args=(console, stop, interval), name="status-line", daemon=True
    )
    ticker.start()
    try:
        yield console
    finally:
        stop.set()
        ticker.join()
        console.close_status()


def _tick(console: Console, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        console.redraw()
