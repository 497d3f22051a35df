"""What the console and a job's log file show: escapes only on a colour terminal."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from runner.output import Console, JobLog, discard, plain

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
