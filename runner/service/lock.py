"""One `dockstep serve` per state folder: two would run each schedule twice and each mark
the other's running runs interrupted.

`flock` is released by the kernel when the holder dies, however it dies, so a stale lock
file never blocks a restart; the file itself is never deleted (deleting a lock file
lets a third process lock a new file while the second still holds the old one).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from runner.errors import EXIT_INFRASTRUCTURE, DockstepError

LOCK_FILE = "serve.lock"


class ServiceAlreadyRunning(DockstepError):
    exit_code = EXIT_INFRASTRUCTURE
    hint = "Stop the other service first, or give this one another state folder."

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"another dockstep service ({holder}) holds {path}")


class ServiceLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ServiceAlreadyRunning naming the holder's pid."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # not inherited (PEP 446): a process the service starts must not keep the lock
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise ServiceAlreadyRunning(self.path, holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> ServiceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()


def _holder(fd: int) -> str:
    """'pid N' from the lock file; the holder may not have written it yet."""
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return f"pid {text}" if text.isdigit() else "pid unknown"
