"""One Swarm service run to its end: started, polled, its log read, then removed.

The follow log stream never ends by itself, so the log is polled (`since` the last line
seen) together with the task's state, until the task reaches a terminal state or the job
is stopped (timeout, cancel, Ctrl-C). Either way the service is removed before this
returns (or handed to whoever removes it with others), and the removal waits until the
manager has no task of it left.
"""

from __future__ import annotations

import threading
import time

from runner.engine.swarm.api import ServiceSpec, Swarm, Task
from runner.execute.swarm_log import TaskLog

POLL = 0.2  # seconds between looks at the task and its log
DRAIN = 2.0  # seconds to wait for the last lines once the task has ended


class LogCursor:
    """Hands each log line to the reader once, however the polls overlap."""

    def __init__(self, swarm: Swarm, service: str, reader: TaskLog) -> None:
        self._swarm, self._service, self._reader = swarm, service, reader
        self._last = 0

    def read(self) -> None:
        for line in self._swarm.logs(self._service, self._last):
            if line.at > self._last:
                self._reader.feed(line)
                self._last = line.at


def run_to_end(
    swarm: Swarm,
    spec: ServiceSpec,
    reader: TaskLog,
    stop: threading.Event,
    *,
    removed_with: list[str] | None = None,
) -> Task | None:
    """Run the service until its task ends or `stop` is set; its last task state.

    With `removed_with`, the service is added to that list and left for its owner to remove
    (a job's sidecars: removing them all at once pays the engine's delays once)."""
    service = swarm.create_service(spec)
    if removed_with is not None:
        removed_with.append(service)
    try:
        cursor = LogCursor(swarm, service, reader)
        task = None
        while not stop.is_set():
            task = swarm.task(service)
            cursor.read()
            if task is not None and task.ended:
                _drain(cursor, reader)
                break
            stop.wait(POLL)
        if stop.is_set():
            cursor.read()  # what the steps printed before the stop
        return task
    finally:
        if removed_with is None:
            swarm.remove_service(service)


def _drain(cursor: LogCursor, reader: TaskLog) -> None:
    """The log driver may hand over the last lines a moment after the task ended."""
    deadline = time.monotonic() + DRAIN
    while reader.done is None and time.monotonic() < deadline:
        time.sleep(POLL / 4)
        cursor.read()
