"""The command line's way to a running service (cancel, re-run of its runs): the address
from `service.json` and the token from the state folder, over HTTP on this machine."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from runner.errors import EXIT_INFRASTRUCTURE, DockstepError
from runner.service import access

TIMEOUT = 30


class ServiceUnreachable(DockstepError):
    exit_code = EXIT_INFRASTRUCTURE
    hint = "Start it with `dockstep serve` (with the same DOCKSTEP_CACHE_DIR), then try again."


def post(home: Path, environ: Mapping[str, str], path: str) -> tuple[int, dict[str, object]]:
    """POST to the service with its token; the status and the JSON it answered."""
    url = access.read_address(home)
    if url is None:
        raise ServiceUnreachable(f"no dockstep service has run with the state folder {home}")
    request = urllib.request.Request(
        url + path,
        method="POST",
        data=b"",
        headers={"Authorization": f"Bearer {access.token(home, environ)}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, _json(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _json(error.read())
    except (urllib.error.URLError, OSError) as error:
        raise ServiceUnreachable(
            f"the dockstep service at {url} does not answer: {error}"
        ) from None


def _json(body: bytes) -> dict[str, object]:
    try:
        found = json.loads(body)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
