"""What the console and a job's log file show: escapes only on a colour terminal."""

from __future__ import annotations

import io
import itertools
import os
import sys
import time
from pathlib import Path

import pytest

from runner.output import Console, JobLog, default_console, discard, live, plain
from runner.progress import CLEAR_LINE, Board, Phase, ProgressMode, StatusLine

RED = "\x1b[31mred\x1b[0m"
BUILD_STDERR = "\x1b[91moops\n\x1b[0mRemoving intermediate container 9fbeeed1bd9e\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (RED, "red"),
        ("\x1b[1;38;5;208mbold orange\x1b[m", "bold orange"),
        ("\x1b[2K\x1b[1Gprogress 50%", "progress 50%"),  # erase the line, go to column 1
        ("\x1b]0;a title\x07text", "text"),
        ("\x1b]8;;https://x.invalid\x1b\\a link\x1b]8;;\x1b\\", "a link"),
        ("\x1b[31mred\x1b(B\x1b[m", "red"),  # tput setaf 1; tput sgr0
        ("\x1b7saved\x1b8", "saved"),
        ("\x9b31mC1\x9b0m", "C1"),
        ("a lone escape: \x1b", "a lone escape: "),
        ("no escapes [31m here", "no escapes [31m here"),
    ],
)
def test_plain_removes_every_escape_sequence(text: str, expected: str) -> None:
    assert plain(text) == expected


def job_output(chunk: bytes, tmp_path: Path, *, colour: bool) -> tuple[str, str]:
    """What the console and the job's log file show for a job writing `chunk`."""
    screen = io.StringIO()
    log = JobLog("job", Console(screen, colour=colour, mask=str), tmp_path / "job.log", str)
    log.write(chunk)
    log.close()
    return screen.getvalue(), (tmp_path / "job.log").read_text()


@pytest.mark.parametrize("chunk", [f"{RED}\n", BUILD_STDERR], ids=["step", "build-stderr"])
def test_with_colour_off_no_escape_reaches_the_console_or_the_log(
    chunk: str, tmp_path: Path
) -> None:
    screen, log = job_output(chunk.encode(), tmp_path, colour=False)
    assert "\x1b" not in screen
    assert "\x1b" not in log
    assert screen.splitlines()[0] == f"job | {plain(chunk).splitlines()[0]}"


def test_with_colour_on_a_jobs_colours_reach_the_console_but_never_the_log(
    tmp_path: Path,
) -> None:
    screen, log = job_output(b"\x1b[31mstays red\n", tmp_path, colour=True)
    assert screen.endswith(" | \x1b[31mstays red\x1b[0m\n")  # ended, so the next line is not red
    assert log == "stays red\n"


def test_dockstep_notes_have_no_escapes_with_colour_off() -> None:
    screen = io.StringIO()
    Console(screen, colour=False, mask=str).note("job failed: \x1b[91mThe command failed\x1b[0m")
    assert screen.getvalue() == "job failed: The command failed\n"


class ClosedPipe(io.StringIO):
    """stdout once the reader of its pipe (`| head`) has gone."""

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_console_is_said_once_and_the_log_still_gets_every_line(
    tmp_path: Path,
) -> None:
    told: list[str] = []
    console = Console(ClosedPipe(), colour=False, mask=str, closed=lambda: told.append("closed"))
    log = JobLog("job", console, tmp_path / "job.log", str)
    log.write(b"one\ntwo\nthree\n")
    console.note("the summary")
    log.close()
    assert told == ["closed"]
    assert (tmp_path / "job.log").read_text() == "one\ntwo\nthree\n"


def test_a_discarded_stream_takes_later_writes_without_a_broken_pipe() -> None:
    """Whatever still writes to stdout after `| head` went away (at exit, Python flushes it)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as stream:
        stream.write("first\n")
        with pytest.raises(BrokenPipeError):
            stream.flush()
        discard(stream)
        stream.write("later\n")
        stream.flush()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def console_with_status(screen: io.StringIO) -> tuple[Console, Board]:
    board = Board(clock=lambda: 0.0)
    status = StatusLine(board, columns=lambda: 80, colour=False)
    return Console(screen, colour=False, mask=str, status=status), board


def test_a_jobs_line_goes_above_the_status_line_of_the_jobs_of_every_pipeline(
    tmp_path: Path,
) -> None:
    screen = io.StringIO()
    console, _board = console_with_status(screen)
    api = console.within("api")
    api.started("test")
    log = JobLog("test", api, tmp_path / "test.log", str)
    log.phase(Phase.step(1, 2, "unit"))
    log.line("hello")
    log.close()
    api.ended("test")
    console.note("the summary")
    assert screen.getvalue() == (
        f"api/test | hello\nrunning: api/test 0s step 1/2 'unit'{CLEAR_LINE}the summary\n"
    )
    assert (tmp_path / "test.log").read_text() == "hello\n"  # never the status line


def test_a_run_that_is_over_takes_its_jobs_off_the_status_line() -> None:
    screen = io.StringIO()
    console, board = console_with_status(screen)
    console.within("api").started("stuck")  # its thread never came back from the engine
    console.within("web").started("test")
    console.within("api").done()
    assert [r.job for r in board.snapshot()] == ["web/test"]


def test_phases_on_a_console_without_a_status_line_write_nothing() -> None:
    screen = io.StringIO()
    console = Console(screen, colour=False, mask=str)
    console.started("test")
    console.phase("test", Phase.step(1, 1, "unit"))
    console.redraw()
    console.ended("test")
    console.close_status()
    assert screen.getvalue() == ""


def test_live_redraws_while_the_run_goes_on_and_clears_the_line_even_on_an_error() -> None:
    screen = io.StringIO()
    seconds = itertools.count()
    board = Board(clock=lambda: float(next(seconds)))  # a second passes at each look
    status = StatusLine(board, columns=lambda: 80, colour=False)
    console = Console(screen, colour=False, mask=str, status=status)
    board.start("test")

    def interrupted_run() -> None:
        with live(console, interval=0.01):
            deadline = time.monotonic() + 5
            while screen.getvalue().count(CLEAR_LINE) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_run()
    assert screen.getvalue().count(CLEAR_LINE) >= 2  # redrawn at least twice
    assert screen.getvalue().endswith(CLEAR_LINE)  # and gone
    console.note("interrupted")
    assert screen.getvalue().endswith(f"{CLEAR_LINE}interrupted\n")


@pytest.mark.parametrize(
    ("progress", "escapes"),
    [(ProgressMode.PLAIN, False), (ProgressMode.TTY, True), (ProgressMode.AUTO, True)],
)
def test_plain_progress_on_a_terminal_writes_no_escape_at_all(
    monkeypatch: pytest.MonkeyPatch, progress: ProgressMode, escapes: bool
) -> None:
    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    console = default_console({"TERM": "xterm"}, progress=progress)
    console.started("test")
    console.line("test", "\x1b[31mred\x1b[0m")
    assert console.has_status_line is escapes
    assert ("\x1b" in screen.getvalue()) is escapes
