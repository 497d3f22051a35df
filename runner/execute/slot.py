"""The one container a job has at a time, and why it was stopped from outside.

A timeout or a cancel may arrive from another thread at any moment; creating and
starting happen under the slot's lock so a stop can never slip in between a check and
a start (a kill cannot stop a container that has not started yet).
"""

from __future__ import annotations

import threading

from runner.engine.api import Containers, ContainerSpec
from runner.model.results import Status


class ContainerSlot:
    def __init__(self, engine: Containers, *, keep: bool = False) -> None:
        self._engine = engine
        self._keep = keep
        self._lock = threading.Lock()
        self.container: str | None = None
        self.stopped_because: Status | None = None
        self.stopped = threading.Event()  # set by stop(): waits end early
        self.step_only = False  # the stop came from a step's own timeout

    def create(self, spec: ContainerSpec) -> bool:
        """Create the current container, unless the job was stopped first."""
        with self._lock:
            if self.stopped_because:
                return False
            self.container = self._engine.create(spec)
            return True

    def start(self) -> bool:
        with self._lock:
            if self.stopped_because or self.container is None:
                return False
            self._engine.start(self.container)
            return True

    def stop(self, because: Status, *, step_only: bool = False) -> None:
        """Kill the current container; the first reason given is the one reported.

        `step_only`: a step's own timeout, which an `allow_failure` step may resume from.
        """
        with self._lock:
            if self.stopped_because is None:
                self.stopped_because = because
                self.step_only = step_only
            container = self.container
        self.stopped.set()
        if container:
            self._engine.kill(container)

    def resume(self, *, restart: bool) -> bool:
        """Carry on after a step's own timeout: clear the stop and (unless the step was the
        container's command) start the killed container again, its files intact."""
        with self._lock:
            if not self.step_only or self.container is None:
                return False
            self.stopped_because, self.step_only = None, False
            self.stopped.clear()
            if restart:
                self._engine.wait(self.container)  # the kill may still be landing
                self._engine.start(self.container)
            return True

    def discard(self) -> None:
        """Remove the current container (unless kept for debugging)."""
        with self._lock:
            container, self.container = self.container, None
        if container and not self._keep:
            self._engine.remove(container)
