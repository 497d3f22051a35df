"""The status line: its text as a pure function of (jobs, now, width), and when it shows."""

from __future__ import annotations

import io

import pytest

from runner.progress import (
    CLEAR_LINE,
    Board,
    Phase,
    ProgressMode,
    Running,
    Stage,
    StatusLine,
    elapsed,
    render,
    wants_status_line,
)

IMAGE = Phase(stage=Stage.IMAGE)
TESTS = Phase.step(2, 5, "tests")


def running(job: str, since: float, phase: Phase = IMAGE) -> Running:
    return Running(job=job, since=since, phase=phase)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (7.9, "7s"), (59, "59s"), (60, "1m00s"), (125, "2m05s"), (3720, "1h02m")],
)
def test_elapsed_times_are_short(seconds: float, shown: str) -> None:
    assert elapsed(seconds) == shown


def test_a_phase_reads_as_its_stage_and_detail() -> None:
    assert TESTS.label() == "step 2/5 'tests'"
    assert IMAGE.label() == "image"
    assert Phase(stage=Stage.INSTALL, detail="cache hit").label() == "install cache hit"


def test_the_line_shows_each_job_oldest_first_with_its_time_and_phase() -> None:
    jobs = [running("test", 100.0, TESTS), running("build", 90.0)]
    assert render(jobs, 112.0, 200) == "running: build 22s image, test 12s step 2/5 'tests'"


def test_no_running_job_is_no_line() -> None:
    assert render([], 10.0, 80) == ""


def test_jobs_that_do_not_fit_are_counted() -> None:
    jobs = [running(name, 0.0) for name in ("alpha", "bravo", "charlie")]
    assert render(jobs, 5.0, 40) == "running: alpha 5s image +2 more"


def test_a_job_too_long_for_the_width_is_cut() -> None:
    line = render([running("a-very-long-job-name", 0.0, TESTS)], 3.0, 20)
    assert line == "running: a-very-l..."


@pytest.mark.parametrize("width", range(0, 90))
def test_the_line_never_exceeds_the_width(width: int) -> None:
    jobs = [running(f"job-{n}", float(n), TESTS) for n in range(4)]
    assert len(render(jobs, 100.0, width)) <= width


def test_the_board_keeps_what_runs_until_it_ends() -> None:
    now = [10.0]
    board = Board(clock=lambda: now[0])
    board.start("api/test")
    board.set("api/test", TESTS)
    board.start("web/test")
    board.end("web/test")
    board.set("web/test", IMAGE)  # a phase after the end starts nothing
    assert board.snapshot() == (running("api/test", 10.0, TESTS),)
    board.end_all("api/")
    assert board.snapshot() == ()


@pytest.mark.parametrize(
    ("mode", "tty", "term", "shown"),
    [
        (ProgressMode.AUTO, True, "xterm", True),
        (ProgressMode.AUTO, False, "xterm", False),
        (ProgressMode.AUTO, True, "dumb", False),
        (ProgressMode.TTY, False, "xterm", True),
        (ProgressMode.PLAIN, True, "xterm", False),
    ],
)
def test_the_status_line_is_for_terminals_that_take_escapes(
    mode: ProgressMode, tty: bool, term: str, shown: bool
) -> None:
    stream = Terminal() if tty else io.StringIO()
    assert wants_status_line(mode, stream, {"TERM": term, "NO_COLOR": "1"}) is shown


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def status_line(width: int = 80) -> tuple[StatusLine, Board]:
    board = Board(clock=lambda: 5.0)
    return StatusLine(board, columns=lambda: width, colour=False), board


def test_a_line_is_written_above_the_status_line_which_is_then_drawn_again() -> None:
    status, board = status_line()
    assert status.around("before\n") == "before\n"  # nothing running: not a single escape
    board.start("test")
    assert status.around("one\n") == "one\nrunning: test 0s starting"
    assert status.around("two\n") == f"{CLEAR_LINE}two\nrunning: test 0s starting"
    assert status.redraw() == ""  # nothing has changed: nothing is written
    board.end("test")
    assert status.redraw() == CLEAR_LINE
    assert status.redraw() == ""


def test_a_closed_status_line_is_cleared_and_never_drawn_again() -> None:
    status, board = status_line()
    board.start("test")
    status.redraw()
    assert status.close() == CLEAR_LINE
    assert status.around("summary\n") == "summary\n"


def test_the_status_line_leaves_the_last_column_free() -> None:
    status, board = status_line(width=20)
    board.start("a-very-long-job-name")
    assert len(status.redraw()) == 19
