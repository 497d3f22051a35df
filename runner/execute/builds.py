"""What dockstep adds to every image build: the CA bundle, the proxy variables, and the
failing instruction's last output lines in a failed build's error.

The classic builder (Docker 20.10) has no `RUN --mount` and no `--secret`, so the CA bundle
travels in the build context: the build reads a generated copy of the Dockerfile that,
right after each `FROM`, copies the bundle to CA_IN_IMAGE and declares the CA variables
(`SSL_CERT_FILE`, `PIP_CERT`, …) as `ARG`s pointing at it. An `ARG` is seen by the `RUN`
instructions of its stage but never becomes part of the image's environment, so the built
image runs exactly as without dockstep; it only holds the bundle file itself (one small
layer per stage). The proxy variables go as build args, which Docker predefines: no
`ARG` is needed and `docker history` leaves them out.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from runner.engine.api import BuildRequest, OutputSink
from runner.execute.environment import CA_VARIABLES
from runner.execute.settings import RunSettings
from runner.model.pipeline import Pairs, pairs

GENERATED = ".dockstep-build"
CA_FILE = f"{GENERATED}/ca-certificates.crt"
CA_IN_IMAGE = "/usr/local/share/dockstep/ca-certificates.crt"
PROXY_VARIABLES = tuple(
    name
    for upper in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "FTP_PROXY", "ALL_PROXY")
    for name in (upper, upper.lower())
)  # the build args Docker predefines
TAIL_LINES = 15

_FROM = re.compile(r"\s*from\s", re.IGNORECASE)
_ESCAPE = re.compile(r"#\s*escape\s*=\s*(\S)\s*$", re.IGNORECASE)
_DIRECTIVE = re.compile(r"#\s*[a-z]+\s*=", re.IGNORECASE)


def proxy_variables(environ: Mapping[str, str]) -> Pairs:
    """The proxy settings of the host (those that are set), for builds."""
    return pairs({name: environ[name] for name in PROXY_VARIABLES if environ.get(name)})


def tag_inputs(settings: RunSettings) -> dict[str, str]:
    """What dockstep adds to an image that its content tag must hash: the CA bundle's
    digest (the proxy variables never reach the image, so they are left out)."""
    if settings.ca_bundle is None:
        return {}
    return {"dockstep:ca-bundle": hashlib.sha256(settings.ca_bundle.read_bytes()).hexdigest()}


def prepare(request: BuildRequest, settings: RunSettings) -> BuildRequest:
    """The request with the proxy variables and, when there is a CA bundle, the generated
    Dockerfile and the bundle in the context."""
    args = pairs({**dict(settings.proxy), **dict(request.args)})
    if settings.ca_bundle is None:
        return replace(request, args=args)
    original = (Path(request.context) / request.dockerfile).read_text()
    files = (
        (f"{GENERATED}/Dockerfile", with_ca(original)),
        (CA_FILE, settings.ca_bundle.read_text()),
    )
    return replace(request, args=args, dockerfile=f"{GENERATED}/Dockerfile", files=files)


def with_ca(dockerfile: str) -> str:
    """The Dockerfile with the CA bundle copied in, and the CA variables declared as
    ARGs, right after each FROM instruction (continuation lines included)."""
    escape = _escape_character(dockerfile)
    added = [f"COPY {CA_FILE} {CA_IN_IMAGE}"]
    added += [f"ARG {name}={CA_IN_IMAGE}" for name in CA_VARIABLES]
    lines: list[str] = []
    in_from = False
    for line in dockerfile.splitlines():
        lines.append(line)
        in_from = in_from or bool(_FROM.match(line))
        if in_from and not line.rstrip().endswith(escape):
            lines += added
            in_from = False
    return "\n".join(lines) + "\n"


def _escape_character(dockerfile: str) -> str:
    """The line continuation character: `\\`, unless an `# escape=` directive says."""
    for line in dockerfile.splitlines():
        found = _ESCAPE.match(line)
        if found:
            return found.group(1)
        if not _DIRECTIVE.match(line):
            break  # directives come before anything else
    return "\\"


class BuildTail:
    """Passes a build's output on, keeping the lines of the instruction running now."""

    def __init__(self, log: OutputSink) -> None:
        self._log = log
        self._lines: deque[str] = deque(maxlen=TAIL_LINES)
        self._pending = b""

    def __call__(self, chunk: bytes) -> None:
        self._log(chunk)
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace").rstrip()
            if line.startswith("Step "):
                self._lines.clear()
            elif line.strip() and not line.startswith(" ---> "):
                self._lines.append(line)

    def explain(self, error: str) -> str:
        """The build's error with the failing instruction's last output lines."""
        if not self._lines:
            return error
        shown = "\n".join(f"  {line}" for line in self._lines)
        return f"{error}\nlast lines of the failing instruction's output:\n{shown}"
