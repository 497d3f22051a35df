"""The run queue: first in, first out, at most `limit` runs at once.

`limit` worker threads take items in the order they were submitted and call `execute(item)`
(the session's `RunRequest -> RunResult` plugs in there). Every submitted item ends exactly
once, with one `Finished` record handed to `on_finished` and set on its `Ticket`: done,
failed (execute raised) or cancelled before it started. An item is in exactly one of
waiting, running or finished, and moves between them under one lock, so a burst of
submissions, cancels and workers taking items cannot lose or repeat one.

Cancelling a waiting item removes it; cancelling a running one calls the injected
`cancel(item)` (the run's cancel token) outside the lock, and execute returns when the run
has stopped. The hook may be called for a run that just finished: it must be harmless then.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from runner.errors import DockstepError, UsageError

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("dockstep.service")


class QueueClosed(DockstepError):
    pass


class Ending(StrEnum):
    DONE = "done"  # execute returned
    FAILED = "failed"  # execute raised
    CANCELLED = "cancelled"  # removed before it started


class Cancelled(StrEnum):
    REMOVED = "removed"  # it was waiting: it will not run
    SIGNALLED = "signalled"  # it was running: the cancel hook was called
    UNKNOWN = "unknown"  # finished already, or never submitted


@dataclass(frozen=True, slots=True, kw_only=True)
class Finished(Generic[T, R]):
    number: int
    item: T
    ending: Ending
    outcome: R | None = None
    error: BaseException | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueState:
    waiting: tuple[int, ...]  # ticket numbers, next first
    running: tuple[int, ...]


class Ticket(Generic[T, R]):
    """A submitted item: its number (for `cancel`) and, once it ended, how."""

    def __init__(self, number: int, item: T) -> None:
        self.number = number
        self.item = item
        self._ended = threading.Event()
        self._finished: Finished[T, R] | None = None

    def wait(self, timeout: float | None = None) -> Finished[T, R] | None:
        self._ended.wait(timeout)
        return self._finished

    def _end(self, finished: Finished[T, R]) -> None:
        self._finished = finished
        self._ended.set()


class RunQueue(Generic[T, R]):
    def __init__(
        self,
        execute: Callable[[T], R],
        *,
        limit: int,
        cancel: Callable[[T], None],
        on_finished: Callable[[Finished[T, R]], None] | None = None,
    ) -> None:
        if limit < 1:
            raise UsageError(f"at least one run must be able to run at once (got {limit})")
        self._execute, self._cancel, self._on_finished = execute, cancel, on_finished
        self._lock = threading.Condition()
        self._waiting: deque[Ticket[T, R]] = deque()
        self._running: dict[int, Ticket[T, R]] = {}
        self._unfinished = 0  # submitted and not yet through on_finished
        self._numbers = itertools.count(1)
        self._closed = False
        self._workers = [
            threading.Thread(target=self._work, name=f"dockstep-run-{i}", daemon=True)
            for i in range(1, limit + 1)
        ]
        for worker in self._workers:
            worker.start()

    def submit(self, item: T) -> Ticket[T, R]:
        with self._lock:
            if self._closed:
                raise QueueClosed("the service is shutting down; the run was not queued")
            ticket: Ticket[T, R] = Ticket(next(self._numbers), item)
            self._waiting.append(ticket)
            self._unfinished += 1
            self._lock.notify()
        return ticket

    def cancel(self, number: int) -> Cancelled:
        with self._lock:
            waiting = next((t for t in self._waiting if t.number == number), None)
            if waiting is not None:
                self._waiting.remove(waiting)
            running = self._running.get(number)
        if waiting is not None:
            self._finish(
                waiting, Finished(number=number, item=waiting.item, ending=Ending.CANCELLED)
            )
            return Cancelled.REMOVED
        if running is not None:
            self._cancel(running.item)
            return Cancelled.SIGNALLED
        return Cancelled.UNKNOWN

    def state(self) -> QueueState:
        with self._lock:
            return QueueState(
                waiting=tuple(t.number for t in self._waiting), running=tuple(self._running)
            )

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far has finished; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._unfinished == 0, timeout)

    def shutdown(self, *, wait: bool = True, cancel: bool = False) -> None:
        """Accept no more items. Waiting and running items finish, unless `cancel`: then the
        waiting ones end cancelled and the running ones get the cancel hook."""
        with self._lock:
            self._closed = True
            dropped = list(self._waiting) if cancel else []
            running = list(self._running.values()) if cancel else []
            if cancel:
                self._waiting.clear()
            self._lock.notify_all()
        for ticket in dropped:
            self._finish(
                ticket, Finished(number=ticket.number, item=ticket.item, ending=Ending.CANCELLED)
            )
        for ticket in running:
            self._cancel(ticket.item)
        if wait:
            for worker in self._workers:
                if worker is not threading.current_thread():
                    worker.join()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._waiting) or self._closed)
                if not self._waiting:
                    return  # closed, and nothing left to run
                ticket = self._waiting.popleft()
                self._running[ticket.number] = ticket
            finished = self._run(ticket)
            with self._lock:
                del self._running[ticket.number]
            self._finish(ticket, finished)

    def _run(self, ticket: Ticket[T, R]) -> Finished[T, R]:
        number, item = ticket.number, ticket.item
        try:
            outcome = self._execute(item)
        except Exception as error:  # a run's failure must not take its worker with it
            return Finished(number=number, item=item, ending=Ending.FAILED, error=error)
        return Finished(number=number, item=item, ending=Ending.DONE, outcome=outcome)

    def _finish(self, ticket: Ticket[T, R], finished: Finished[T, R]) -> None:
        ticket._end(finished)
        try:
            if self._on_finished is not None:
                self._on_finished(finished)
        except Exception:
            log.exception("recording the end of run ticket %d failed", ticket.number)
        finally:
            with self._lock:
                self._unfinished -= 1
                self._lock.notify_all()
