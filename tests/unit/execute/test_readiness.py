"""Readiness of a service container: checked inside it, retried until its timeout."""

from __future__ import annotations

import itertools
import threading

from runner.execute import readiness
from runner.model.services import Readiness, ReadyKind
from tests.fake_engine import FakeEngine


def started(engine: FakeEngine) -> str:
    engine.started.add("svc")
    return "svc"


def test_tcp_and_http_probes_check_127_0_0_1_or_the_url_inside_the_service() -> None:
    tcp = readiness.probe(Readiness(kind=ReadyKind.TCP, target="5432"))
    assert tcp[:2] == ("sh", "-c")
    assert "/dev/tcp/127.0.0.1/5432" in tcp[2]
    assert "nc -z 127.0.0.1 5432" in tcp[2]
    http = readiness.probe(Readiness(kind=ReadyKind.HTTP, target="http://localhost:8080/x y"))
    assert "u='http://localhost:8080/x y'" in http[2]
    assert readiness.probe(Readiness(kind=ReadyKind.COMMAND, target="pg_isready")) == (
        "sh", "-c", "pg_isready",
    )  # fmt: skip


def test_a_check_is_retried_until_it_passes() -> None:
    answers = iter([(1, b"no"), (1, b"no"), (0, b"")])
    engine = FakeEngine(script=lambda _command: next(answers))
    ready = Readiness(kind=ReadyKind.COMMAND, target="check", interval=0.001)
    assert readiness.wait(engine, started(engine), ready, threading.Event()) is None
    assert [call for call in engine.calls if call[0] == "exec"] == [("exec", "check")] * 3


def test_a_check_that_keeps_failing_ends_at_its_timeout_with_its_output() -> None:
    engine = FakeEngine(script=lambda _command: (1, b"connection refused\n"))
    ticks = itertools.count(0.0, 1.0)
    ready = Readiness(kind=ReadyKind.COMMAND, target="check", timeout=3, interval=0.001)
    problem = readiness.wait(
        engine, started(engine), ready, threading.Event(), clock=lambda: next(ticks)
    )
    assert problem == "command check still failing after 3s; its last output: connection refused"


def test_an_image_without_the_tool_fails_at_once() -> None:
    engine = FakeEngine(script=lambda _command: (127, b"no bash, nc, python3 or perl"))
    ready = Readiness(kind=ReadyKind.TCP, target="80", timeout=60, interval=0.001)
    problem = readiness.wait(engine, started(engine), ready, threading.Event())
    assert problem == "no bash, nc, python3 or perl (use ready: {command: ...})"


def test_an_exited_service_or_a_stopped_job_ends_the_wait() -> None:
    engine = FakeEngine(script=lambda _command: (1, b""))
    ready = Readiness(kind=ReadyKind.COMMAND, target="check", interval=0.001)
    assert readiness.wait(engine, "never-started", ready, threading.Event()) == (
        "its container exited with code None"
    )
    stopped = threading.Event()
    stopped.set()
    assert readiness.wait(engine, started(engine), ready, stopped) == (
        "the job was stopped while waiting"
    )


def test_healthcheck_needs_one_in_the_image() -> None:
    engine = FakeEngine()
    ready = Readiness(kind=ReadyKind.HEALTHCHECK)
    problem = readiness.wait(engine, started(engine), ready, threading.Event())
    assert problem is not None and problem.startswith("the image has no HEALTHCHECK")
