"""Every call dockstep makes to the engine during one run, in order, with its duration.

Wraps the Docker SDK's HTTP session (every API call and hijacked stream goes through it)
and runs `dockstep run ARGS` in this process; prints one line per call and a count by
endpoint, so an extra round trip per step shows as a count that grows with the steps.

Usage: python bench/trace.py PIPELINE [dockstep run options]
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from typing import Any

import docker
import requests

CALLS: list[tuple[float, float, str]] = []
STARTED = time.perf_counter()
_send = docker.APIClient.send


def _traced(self: docker.APIClient, request: requests.PreparedRequest, **kwargs: Any) -> Any:
    began = time.perf_counter()
    try:
        return _send(self, request, **kwargs)
    finally:
        path = re.sub(r"^/v[\d.]+", "", (request.path_url or "").split("?")[0])
        endpoint = re.sub(r"/[0-9a-f]{12,}|/dockstep-[\w.-]+", "/{id}", path)
        CALLS.append((began - STARTED, time.perf_counter() - began, f"{request.method} {endpoint}"))


def main() -> int:
    docker.APIClient.send = _traced  # type: ignore[method-assign,assignment]
    from runner.cli import main as dockstep  # noqa: PLC0415 (after the patch)

    try:
        dockstep(["run", *sys.argv[1:]], standalone_mode=False)
    except SystemExit:
        pass
    finally:
        for at, took, call in CALLS:
            print(f"{at * 1000:8.1f} ms  {took * 1000:7.1f} ms  {call}", file=sys.stderr)
        for call, count in Counter(c for _, _, c in CALLS).most_common():
            print(f"{count:4d}  {call}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
