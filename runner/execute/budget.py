"""How many jobs may run at once, shared by every scheduler given the same budget: each
session of an orchestrated run gets the run's one budget, so `--jobs N` bounds the whole
run rather than each pipeline."""

from __future__ import annotations

import threading


class Budget:
    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._free = threading.BoundedSemaphore(self.slots)

    def take(self) -> bool:
        """A slot for one job, if one is free now (never waits: the scheduler polls)."""
        return self._free.acquire(blocking=False)

    def give_back(self) -> None:
        """The job holding a slot has ended (or never started)."""
        self._free.release()
