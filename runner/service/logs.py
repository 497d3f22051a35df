"""Following a job's log file while the job writes it, for the live stream of the
dashboard (server-sent events) and `dockstep logs -f`.

The job's own log file is the source (the session writes and flushes it line by line), so
a reader in another process sees what the dashboard sees. `finished` is asked before each
read: once it says yes, one more read gets everything written before the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

POLL = 0.2  # seconds between reads of a log that is still being written


class LogTail:
    """The lines added to a file since the last read; a partial last line waits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._pending = b""

    def read(self) -> list[str]:
        try:
            with self.path.open("rb") as stream:
                stream.seek(self._offset)
                chunk = stream.read()
        except FileNotFoundError:  # the job has not started yet
            return []
        self._offset += len(chunk)
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        return [line.decode("utf-8", "replace") for line in lines]

    def rest(self) -> list[str]:
        pending, self._pending = self._pending, b""
        return [pending.decode("utf-8", "replace")] if pending else []


def follow(
    path: Path,
    finished: Callable[[], bool],
    *,
    poll: float = POLL,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    tail = LogTail(path)
    while True:
        done = finished()
        yield from tail.read()
        if done:
            yield from tail.rest()
            return
        sleep(poll)
