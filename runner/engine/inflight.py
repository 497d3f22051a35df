"""Creates on their way to the engine, counted by run, so a run's cleanup misses none.

A cleanup lists what carries the run's label; a create still in flight at that moment
(a job thread's container, a volume, the run's network) would appear after the list and
be left behind. So each create of a run is counted while in flight; `close` refuses any
new create for the run and waits for those in flight, after which the list is complete.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from runner.engine.labels import RUN
from runner.errors import EngineError


class RunClosed(EngineError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} is being cleaned up: nothing more is created for it")


class InFlight:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._flying: Counter[str] = Counter()
        self._closed: set[str] = set()

    @contextmanager
    def create(self, labels: Mapping[str, str]) -> Iterator[None]:
        """Count a create of the run its labels name while it is in flight."""
        run = labels.get(RUN)
        if run is None:
            yield
            return
        with self._changed:
            if run in self._closed:
                raise RunClosed(run)
            self._flying[run] += 1
        try:
            yield
        finally:
            with self._changed:
                self._flying[run] -= 1
                self._changed.notify_all()

    def close(self, run_id: str, timeout: float) -> bool:
        """Refuse further creates of the run; wait for those in flight. False on timeout."""
        with self._changed:
            self._closed.add(run_id)
            return self._changed.wait_for(lambda: self._flying[run_id] <= 0, timeout)
