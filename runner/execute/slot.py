"""The one container a job has at a time, and why it was stopped from outside.

A timeout or a cancel may arrive from another thread at any moment; creating and
starting happen under the slot's lock so a stop can never slip in between a check and
a start (a kill cannot stop a container that has not started yet).

A stop is graceful: every process of the container but its init gets SIGTERM (so a
step's trap runs and its last lines reach the log), then, after the job's grace,
the container is killed. `stop` returns at once; the grace runs on its own thread, so
cancelling many jobs costs one grace, not one per job.
"""

from __future__ import annotations

import contextlib
import threading

from runner.engine.api import Containers, ContainerSpec
from runner.errors import DockstepError
from runner.execute.containers import ROOT, TERMINATE
from runner.model.pipeline import DEFAULT_STOP_GRACE
from runner.model.results import Status


class ContainerSlot:
    def __init__(
        self, engine: Containers, *, keep: bool = False, grace: float = DEFAULT_STOP_GRACE
    ) -> None:
        self._engine = engine
        self._keep = keep
        self._grace = grace
        self._lock = threading.Lock()
        self._settled = threading.Event()  # the stop being carried out needs no kill any more
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
        """Stop the current container gracefully; the first reason given is the one reported.

        `step_only`: a step's own timeout, which an `allow_failure` step may resume from.
        """
        with self._lock:
            first = self.stopped_because is None
            if first:
                self.stopped_because = because
                self.step_only = step_only
                self._settled = threading.Event()
            container, settled = self.container, self._settled
        self.stopped.set()
        if container and first:
            threading.Thread(
                target=self._terminate, args=(container, settled), daemon=True, name="stop"
            ).start()

    def _terminate(self, container: str, settled: threading.Event) -> None:
        """SIGTERM to every process of the container, then SIGKILL after the grace."""
        if self._grace > 0:
            # not running (any more): the kill below settles it
            with contextlib.suppress(DockstepError):
                self._engine.exec(
                    container, TERMINATE, env=(), workdir="/", user=ROOT, output=_drop
                )
            settled.wait(self._grace)
        with self._lock:
            if not settled.is_set():
                self._engine.kill(container)

    def resume(self, *, restart: bool) -> bool:
        """Carry on after a step's own timeout: clear the stop and (unless the step was the
        container's command) start the container again if the kill stopped it, its files
        intact."""
        with self._lock:
            if not self.step_only or self.container is None:
                return False
            self._settled.set()  # a step that ended within its grace keeps its container
            self.stopped_because, self.step_only = None, False
            self.stopped.clear()
            if restart and not self._engine.state(self.container).running:
                self._engine.wait(self.container)  # the kill may still be landing
                self._engine.start(self.container)
            return True

    def discard(self) -> None:
        """Remove the current container (unless kept for debugging)."""
        with self._lock:
            container, self.container = self.container, None
            self._settled.set()
        if container and not self._keep:
            self._engine.remove(container)


def _drop(_output: bytes) -> None:
    """The TERM exec prints nothing worth keeping (a shell may report its own signal)."""
