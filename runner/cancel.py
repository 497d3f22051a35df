"""A run's stop request, passed in by whoever started the run (the CLI's signal handlers,
an HTTP call to the service): the first cancel is graceful, a second one forces."""

from __future__ import annotations

import threading


class CancelToken:
    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._forced = threading.Event()
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """Ask the run to stop; asked again, stop waiting for jobs to clean up."""
        with self._lock:
            if self._cancelled.is_set():
                self._forced.set()
            self._cancelled.set()

    def force(self) -> None:
        with self._lock:
            self._cancelled.set()
            self._forced.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def forced(self) -> bool:
        return self._forced.is_set()

    def wait_forced(self, timeout: float) -> bool:
        return self._forced.wait(timeout)
