"""A run's stop request, passed in by whoever started the run (the CLI's signal handlers,
an HTTP call to the service): the first cancel is graceful, a second one forces.

`cancel()` takes no lock: it is called from signal handlers, and Python may run a second
handler inside the first on the same thread (two Ctrl-C in quick succession), where a
non-reentrant lock (or an Event's, whose `set()` takes one) would deadlock the run for
ever. `itertools.count` hands out numbers atomically under the GIL, so concurrent callers
(the service's threads) cannot both be "the first" either.
"""

from __future__ import annotations

import itertools


class CancelToken:
    def __init__(self) -> None:
        self._calls = itertools.count(1)
        self._requests = 0  # the highest call number seen: 1 asks, 2 or more forces

    def cancel(self) -> None:
        """Ask the run to stop; asked again, stop waiting for jobs to clean up."""
        number = next(self._calls)
        self._requests = max(self._requests, number)

    def force(self) -> None:
        self._requests = max(self._requests, 2)

    @property
    def cancelled(self) -> bool:
        return self._requests >= 1

    @property
    def forced(self) -> bool:
        return self._requests >= 2
