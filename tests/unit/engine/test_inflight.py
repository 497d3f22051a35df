"""A run's sweep waits for its creates in flight, and refuses any that come after it."""

from __future__ import annotations

import threading
import time

import pytest

from runner.engine.inflight import InFlight, RunClosed
from runner.engine.labels import RUN


def test_close_waits_for_a_create_in_flight_then_refuses_new_ones() -> None:
    flight = InFlight()
    landed: list[float] = []
    entered = threading.Event()

    def slow_create() -> None:
        with flight.create({RUN: "r1"}):
            entered.set()
            time.sleep(0.2)
            landed.append(time.monotonic())

    thread = threading.Thread(target=slow_create)
    thread.start()
    entered.wait(5)
    assert flight.close("r1", timeout=5)
    closed = time.monotonic()
    thread.join()
    assert landed and landed[0] <= closed, "close returned before the create landed"
    with pytest.raises(RunClosed), flight.create({RUN: "r1"}):
        pass
    with flight.create({RUN: "r2"}):  # other runs, and unlabelled creates, go on
        pass
    with flight.create({}):
        pass


def test_close_gives_up_after_its_timeout() -> None:
    flight = InFlight()
    with flight.create({RUN: "r1"}):
        assert flight.close("r1", timeout=0.05) is False
