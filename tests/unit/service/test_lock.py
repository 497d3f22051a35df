"""One service per state folder."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from runner.service.lock import ServiceAlreadyRunning, ServiceLock


def test_a_second_holder_is_told_the_first_ones_pid(tmp_path: Path) -> None:
    held = rf"\(pid {os.getpid()}\) holds .*serve.lock"
    with ServiceLock(tmp_path / "state"), pytest.raises(ServiceAlreadyRunning, match=held):
        ServiceLock(tmp_path / "state").acquire()


def test_the_lock_is_free_again_after_release(tmp_path: Path) -> None:
    with ServiceLock(tmp_path):
        pass
    with ServiceLock(tmp_path) as again:
        assert again.path.read_text() == f"{os.getpid()}\n"


def test_another_state_folder_has_its_own_lock(tmp_path: Path) -> None:
    with ServiceLock(tmp_path / "a"), ServiceLock(tmp_path / "b"):
        pass


def test_a_holder_that_has_not_written_its_pid_yet(tmp_path: Path) -> None:
    (tmp_path / "serve.lock").touch()
    with (tmp_path / "serve.lock").open() as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(ServiceAlreadyRunning, match=r"\(pid unknown\)"):
            ServiceLock(tmp_path).acquire()
