"""Whether a service container is ready, checked from inside it, never from the host.

tcp and http checks run in the service container against 127.0.0.1, with whatever the
image has (bash's /dev/tcp, nc, curl, wget, python3, perl); command checks run there
with `sh -c`; `healthcheck` reads the engine's view of the image's own HEALTHCHECK.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable

from runner.engine.api import ContainerEngine
from runner.model.services import Readiness, ReadyKind

NO_TOOL = 127  # the probes exit so when the image has nothing to check with
OUTPUT_LIMIT = 400  # characters of a failed check's output kept for the error

_TCP = """\
if command -v bash >/dev/null 2>&1; then exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}'; fi
if command -v nc >/dev/null 2>&1; then exec nc -z 127.0.0.1 {port}; fi
if command -v python3 >/dev/null 2>&1; then
  exec python3 -c 'import socket; socket.create_connection(("127.0.0.1", {port}), 2)'
fi
if command -v perl >/dev/null 2>&1; then
  exec perl -MIO::Socket::INET -e 'exit !IO::Socket::INET->new("127.0.0.1:{port}")'
fi
echo "no bash, nc, python3 or perl in the service image for a tcp check" >&2; exit 127
"""
_HTTP = """\
u={url}
if command -v curl >/dev/null 2>&1; then exec curl -fsS -o /dev/null --max-time 5 "$u"; fi
if command -v wget >/dev/null 2>&1; then exec wget -q -O /dev/null -T 5 "$u"; fi
if command -v python3 >/dev/null 2>&1; then
  exec python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$u"
fi
echo "no curl, wget or python3 in the service image for an http check" >&2; exit 127
"""


def probe(ready: Readiness) -> tuple[str, ...]:
    """The command exec'd in the service container for a tcp, http or command check."""
    scripts = {
        ReadyKind.TCP: lambda: _TCP.format(port=int(ready.target)),
        ReadyKind.HTTP: lambda: _HTTP.format(url=shlex.quote(ready.target)),
        ReadyKind.COMMAND: lambda: ready.target,
    }
    return ("sh", "-c", scripts[ready.kind]())


def describe(ready: Readiness) -> str:
    if ready.kind in (ReadyKind.RUNNING, ReadyKind.HEALTHCHECK):
        return ready.kind.value
    return f"{ready.kind.value} {ready.target}"


def wait(
    engine: ContainerEngine,
    container: str,
    ready: Readiness,
    stopped: threading.Event,
    clock: Callable[[], float] = time.monotonic,
) -> str | None:
    """None once ready; else why not (exited, no tool, timed out with the last output)."""
    deadline = clock() + ready.timeout
    last = ""
    while True:
        state = engine.state(container)
        if not state.running:
            return f"its container exited with code {state.exit_code}"
        passed, last = _check(engine, container, ready, state.health)
        if passed:
            return None
        if last.startswith("!"):
            return last[1:]
        if clock() >= deadline:
            return f"{describe(ready)} still failing after {ready.timeout:g}s{_said(last)}"
        if stopped.wait(ready.interval):
            return "the job was stopped while waiting"


def _check(
    engine: ContainerEngine, container: str, ready: Readiness, health: str | None
) -> tuple[bool, str]:
    """One attempt: passed, and what it said ("!reason" when waiting longer is pointless)."""
    if ready.kind is ReadyKind.RUNNING:
        return True, ""
    if ready.kind is ReadyKind.HEALTHCHECK:
        if health is None:
            return False, "!the image has no HEALTHCHECK (use ready: {tcp|http|command: ...})"
        return health == "healthy", f"health: {health}"
    chunks: list[bytes] = []
    code = engine.exec(
        container, probe(ready), env=(), workdir="/", user=None, output=chunks.append
    )
    said = b"".join(chunks).decode(errors="replace").strip()[-OUTPUT_LIMIT:]
    if code == NO_TOOL and ready.kind is not ReadyKind.COMMAND:
        return False, f"!{said} (use ready: {{command: ...}})"
    return code == 0, said


def _said(output: str) -> str:
    return f"; its last output: {output}" if output else ""
