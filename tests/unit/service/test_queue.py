"""The run queue: FIFO under a concurrency limit, each item ending exactly once, cancels."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from runner.errors import UsageError
from runner.service.queue import Cancelled, Ending, Finished, QueueClosed, RunQueue

WAIT = 5.0  # seconds; only ever reached when a test is about to fail


class Fake:
    """An execute that counts how many run at once; items in `held` wait for release."""

    def __init__(self, held: Callable[[str], bool] = lambda item: False) -> None:
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.executed: list[str] = []
        self.finished: list[Finished[str, str]] = []
        self.held = held
        self.release = threading.Event()
        self.started = threading.Event()
        self.cancelled: list[str] = []

    def execute(self, item: str) -> str:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.executed.append(item)
        self.started.set()
        try:
            if item.startswith("boom"):
                raise RuntimeError(f"{item} failed")
            if self.held(item):
                assert self.release.wait(WAIT)
                return f"{item}: stopped" if item in self.cancelled else f"{item}: released"
            time.sleep(0.001)
            return f"{item}: ok"
        finally:
            with self.lock:
                self.running -= 1

    def cancel(self, item: str) -> None:
        self.cancelled.append(item)
        self.release.set()

    def on_finished(self, finished: Finished[str, str]) -> None:
        with self.lock:
            self.finished.append(finished)


@pytest.fixture
def made() -> Iterator[list[RunQueue[str, str]]]:
    queues: list[RunQueue[str, str]] = []
    yield queues
    for queue in queues:
        queue.shutdown(cancel=True)


def queue_of(made: list[RunQueue[str, str]], fake: Fake, limit: int) -> RunQueue[str, str]:
    queue: RunQueue[str, str] = RunQueue(
        fake.execute, limit=limit, cancel=fake.cancel, on_finished=fake.on_finished
    )
    made.append(queue)
    return queue


def test_a_burst_from_20_threads_runs_each_item_once_never_more_than_3_at_once(
    made: list[RunQueue[str, str]],
) -> None:
    fake = Fake()
    queue = queue_of(made, fake, limit=3)
    start = threading.Barrier(20)

    def submit(n: int) -> None:
        start.wait(WAIT)
        queue.submit(f"run-{n}")

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert queue.drain(WAIT)
    assert sorted(fake.executed) == sorted(f"run-{n}" for n in range(20))
    assert len(fake.finished) == 20
    assert len({f.number for f in fake.finished}) == 20
    assert {f.ending for f in fake.finished} == {Ending.DONE}
    assert 1 <= fake.most <= 3


def test_the_limit_is_reached_and_never_passed(made: list[RunQueue[str, str]]) -> None:
    fake = Fake(held=lambda item: True)
    queue = queue_of(made, fake, limit=3)
    tickets = [queue.submit(f"run-{n}") for n in range(5)]
    deadline = time.monotonic() + WAIT
    while len(queue.state().running) < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert queue.state().running == (1, 2, 3)
    assert queue.state().waiting == (4, 5)
    assert fake.most == 3
    fake.release.set()
    assert queue.drain(WAIT)
    assert fake.most == 3
    assert [t.wait(0) for t in tickets] == sorted(fake.finished, key=lambda f: f.number)


def test_items_start_in_the_order_they_were_submitted(made: list[RunQueue[str, str]]) -> None:
    fake = Fake(held=lambda item: item == "first")
    queue = queue_of(made, fake, limit=1)
    queue.submit("first")
    assert fake.started.wait(WAIT)
    for name in "abcde":
        queue.submit(name)
    fake.release.set()
    assert queue.drain(WAIT)
    assert fake.executed == ["first", "a", "b", "c", "d", "e"]


def test_cancelling_a_waiting_item_removes_it(made: list[RunQueue[str, str]]) -> None:
    fake = Fake(held=lambda item: item == "first")
    queue = queue_of(made, fake, limit=1)
    queue.submit("first")
    assert fake.started.wait(WAIT)
    doomed = queue.submit("doomed")
    assert queue.cancel(doomed.number) is Cancelled.REMOVED
    assert doomed.wait(0) == Finished(number=2, item="doomed", ending=Ending.CANCELLED)
    assert queue.cancel(doomed.number) is Cancelled.UNKNOWN
    fake.release.set()
    assert queue.drain(WAIT)
    assert fake.executed == ["first"]
    assert [f.item for f in fake.finished if f.ending is Ending.CANCELLED] == ["doomed"]
    assert len(fake.finished) == 2


def test_cancelling_a_running_item_calls_the_hook(made: list[RunQueue[str, str]]) -> None:
    fake = Fake(held=lambda item: True)
    queue = queue_of(made, fake, limit=2)
    ticket = queue.submit("deploy")
    assert fake.started.wait(WAIT)
    assert queue.cancel(ticket.number) is Cancelled.SIGNALLED
    finished = ticket.wait(WAIT)
    assert finished is not None
    assert (finished.ending, finished.outcome) == (Ending.DONE, "deploy: stopped")
    assert fake.cancelled == ["deploy"]
    assert queue.cancel(ticket.number) is Cancelled.UNKNOWN
    assert queue.cancel(999) is Cancelled.UNKNOWN


def test_a_failing_execute_ends_failed_and_the_worker_goes_on(
    made: list[RunQueue[str, str]],
) -> None:
    fake = Fake()
    queue = queue_of(made, fake, limit=1)
    failed = queue.submit("boom-1")
    after = queue.submit("next")
    assert queue.drain(WAIT)
    ended = failed.wait(0)
    assert ended is not None
    assert ended.ending is Ending.FAILED
    assert str(ended.error) == "boom-1 failed"
    assert after.wait(0) == Finished(number=2, item="next", ending=Ending.DONE, outcome="next: ok")


def test_a_failing_on_finished_is_logged_and_the_worker_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = Fake()

    def broken(finished: Finished[str, str]) -> None:
        raise RuntimeError("the history is gone")

    queue: RunQueue[str, str] = RunQueue(
        fake.execute, limit=1, cancel=fake.cancel, on_finished=broken
    )
    queue.submit("a")
    queue.submit("b")
    assert queue.drain(WAIT)
    queue.shutdown()
    assert fake.executed == ["a", "b"]
    assert "recording the end of run ticket 1 failed" in caplog.text


def test_shutdown_finishes_what_was_submitted_and_refuses_more(
    made: list[RunQueue[str, str]],
) -> None:
    fake = Fake(held=lambda item: item == "first")
    queue = queue_of(made, fake, limit=1)
    queue.submit("first")
    queue.submit("second")
    assert fake.started.wait(WAIT)
    closing = threading.Thread(target=queue.shutdown)
    closing.start()
    with pytest.raises(QueueClosed):
        queue.submit("late")
    fake.release.set()
    closing.join(WAIT)
    assert not closing.is_alive()
    assert fake.executed == ["first", "second"]


def test_shutdown_with_cancel_drops_the_waiting_and_signals_the_running(
    made: list[RunQueue[str, str]],
) -> None:
    fake = Fake(held=lambda item: True)
    queue = queue_of(made, fake, limit=1)
    running = queue.submit("running")
    waiting = queue.submit("waiting")
    assert fake.started.wait(WAIT)
    queue.shutdown(cancel=True)
    assert fake.cancelled == ["running"]
    assert fake.executed == ["running"]
    ended = (running.wait(0), waiting.wait(0))
    assert [e.ending if e else None for e in ended] == [Ending.DONE, Ending.CANCELLED]
    assert len(fake.finished) == 2


def test_drain_gives_up_after_its_timeout(made: list[RunQueue[str, str]]) -> None:
    fake = Fake(held=lambda item: True)
    queue = queue_of(made, fake, limit=1)
    queue.submit("slow")
    assert not queue.drain(0.005)
    fake.release.set()
    assert queue.drain(WAIT)


def test_the_limit_is_at_least_one() -> None:
    fake = Fake()
    with pytest.raises(UsageError, match="got 0"):
        RunQueue(fake.execute, limit=0, cancel=fake.cancel)
