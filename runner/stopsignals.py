"""Ctrl-C, SIGTERM and SIGHUP from the process's first moment: `cli.py` imports this first.

The CLI's other imports (click, then the Docker SDK and the rest for `run`) take a few
hundred milliseconds; a signal in that time used to be lost (a shell starts background
commands with SIGINT ignored) or to end the process with a traceback. Importing this
module, which needs nothing but `signal` and `threading`, turns every such signal into a
cancel of `TOKEN`, the one `dockstep run` hands to the session: the run then ends with 130
before or after its first Docker call, with nothing left. Commands that run no pipeline
`release()` the signals to their usual effect, replaying one that already came.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from runner.cancel import CancelToken

STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # SIGHUP: a dropped terminal
TOKEN = CancelToken()
_previous: dict[int, Any] = {}
_received: list[int] = []


def _handler(signum: int, _frame: FrameType | None) -> None:
    """A first signal asks the run to stop; a second one forces (see `CancelToken`)."""
    _received.append(signum)
    TOKEN.cancel()


def install() -> None:
    """Take the stop signals, SIGINT included even when it was inherited as ignored.

    Only the main thread may set handlers; importing the CLI elsewhere changes nothing.
    """
    if threading.current_thread() is not threading.main_thread() or _previous:
        return
    for stop in STOPS:
        _previous[stop] = signal.signal(stop, _handler)


def release() -> None:
    """Give the signals back their usual effect; one that already came takes it now."""
    for stop, previous in _previous.items():
        signal.signal(stop, signal.SIG_DFL if previous is None else previous)
    _previous.clear()
    if _received:
        signal.raise_signal(_received[0])


install()
