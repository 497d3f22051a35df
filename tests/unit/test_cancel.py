"""The cancel token: first cancel asks, a second forces, and cancelling is signal-safe."""

from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Any

from runner.cancel import CancelToken


def test_a_first_cancel_asks_and_a_second_forces() -> None:
    token = CancelToken()
    assert (token.cancelled, token.forced) == (False, False)
    token.cancel()
    assert (token.cancelled, token.forced) == (True, False)
    token.cancel()
    assert (token.cancelled, token.forced) == (True, True)


def test_cancels_from_many_threads_at_once_count_as_more_than_one() -> None:
    token = CancelToken()
    threads = [threading.Thread(target=token.cancel) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert token.forced


def test_cancel_takes_no_lock_so_a_signal_handler_inside_another_cannot_deadlock() -> None:
    """Two Ctrl-C in quick succession can run the second handler inside the first, on the
    same thread: any lock held by the first (an Event's included) would block for ever."""
    token = CancelToken()
    called: list[str] = []

    def profile(_frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call":
            called.append(getattr(arg, "__qualname__", repr(arg)))

    sys.setprofile(profile)
    try:
        token.cancel()
        token.cancel()
    finally:
        sys.setprofile(None)
    assert not [name for name in called if "lock" in name.lower() or "acquire" in name], called
    assert token.forced
