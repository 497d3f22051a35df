"""Who may change runs, and where the command line finds the service.

The token that guards cancel, approve and re-run is made on the service's first start
and kept in `<state>/service/token` (mode 0600: only the service's user reads it; set
DOCKSTEP_SERVICE_TOKEN to choose it instead). The dashboard asks for it once and keeps it
in the browser; `dockstep cancel|approve|rerun` read the file. `service.json` beside it
says where the running service listens.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

SERVICE_DIR = "service"  # below the state folder: mirror.git, work/, logs/, token
TOKEN_ENV = "DOCKSTEP_SERVICE_TOKEN"
TOKEN_FILE = "token"
ADDRESS_FILE = "service.json"


def service_dir(state_dir: Path) -> Path:
    return state_dir / SERVICE_DIR


def token(home: Path, environ: Mapping[str, str]) -> str:
    """The service's token: from the environment, else the file, else a new one."""
    if environ.get(TOKEN_ENV):
        return environ[TOKEN_ENV]
    path = home / TOKEN_FILE
    if path.is_file():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    made = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as stream:
        stream.write(made + "\n")
    return made


def allowed(header: str, expected: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected.encode())


def write_address(home: Path, url: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / ADDRESS_FILE).write_text(json.dumps({"url": url, "pid": os.getpid()}) + "\n")


def read_address(home: Path) -> str | None:
    try:
        found = json.loads((home / ADDRESS_FILE).read_text())
    except (OSError, ValueError):
        return None
    url = found.get("url") if isinstance(found, dict) else None
    return url if isinstance(url, str) else None
