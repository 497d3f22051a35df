"""A tiny HTTP proxy in front of the test registry that can answer chosen statuses itself.

`Proxy` listens on a free 127.0.0.1 port and forwards every request, as it came, to the
registry (on 127.0.0.1 as well), unless a rule set with `answer` matches it: then the
proxy answers the chosen status with a registry-style error body and forwards nothing.
Every request is recorded (`seen`), so a test can count what the engine asked for.

A made-up 401 carries a Basic challenge (`WWW-Authenticate`), as a registry's does: without
one, the engine (20.10) retries every layer upload by itself for about 50 s before it
reports `unauthorized`; with one, and no credentials, it gives up at once.

The Host header is forwarded unchanged, so the upload URLs the registry hands out point
back at the proxy. Request bodies may be chunked (the engine streams layer uploads);
they are read whole and forwarded with a length.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.registry import HOST, Registry

UPSTREAM_TIMEOUT = 60.0
REALM = "dockstep-test-registry"
# Headers that describe one connection, not the message: never forwarded either way.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
# What a distribution registry says with these statuses (its JSON error body).
ERRORS = {
    401: ("UNAUTHORIZED", "authentication required"),
    403: ("DENIED", "requested access to the resource is denied"),
    404: ("NAME_UNKNOWN", "repository name not known to registry"),
    429: ("TOOMANYREQUESTS", "too many requests"),
}


@dataclass
class Rule:
    """Answer `status` to requests whose method and path match, `times` times (None: always)."""

    method: str  # an HTTP method, or "*" for any
    path: re.Pattern[str]
    status: int
    times: int | None
    headers: dict[str, str] = field(default_factory=dict)
    used: int = 0

    def take(self, method: str, path: str) -> bool:
        """Whether this rule answers the request (and count it when it does)."""
        if self.method not in ("*", method) or not self.path.search(path):
            return False
        if self.times is not None and self.used >= self.times:
            return False
        self.used += 1
        return True


@dataclass(frozen=True)
class Seen:
    """One request the proxy received, and what became of it."""

    method: str
    path: str
    status: int
    answered: bool  # True: the proxy answered it itself; False: the registry did


class Proxy:
    """A forwarding proxy on 127.0.0.1 with rules for the answers it makes up."""

    def __init__(self, upstream: Registry) -> None:
        self.upstream = upstream
        self._rules: list[Rule] = []
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((HOST, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def answer(
        self,
        status: int,
        *,
        method: str = "*",
        path: str = ".*",
        times: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer `status` to the next `times` matching requests (None: to all of them).

        Rules are tried in the order they were added; the first that takes a request wins.
        """
        rule = Rule(method, re.compile(path), status, times, dict(headers or {}))
        with self._lock:
            self._rules.append(rule)

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        """The requests received so far, optionally of one method and matching a path regex."""
        with self._lock:
            found = list(self._seen)
        return [
            s
            for s in found
            if (method is None or s.method == method) and (path is None or re.search(path, s.path))
        ]

    def rule_for(self, method: str, path: str) -> Rule | None:
        with self._lock:
            return next((r for r in self._rules if r.take(method, path)), None)

    def record(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The whole request body, whether it came with a length or in chunks."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        parts: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()  # the CRLF after each chunk
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the engine's client expects

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads `Proxy.seen` instead."""

        def _serve(self) -> None:
            body = _read_body(self)
            rule = proxy.rule_for(self.command, self.path)
            if rule is not None:
                self._made_up(rule)
            else:
                self._forward(body)

        def _made_up(self, rule: Rule) -> None:
            reason = self.responses.get(rule.status, ("error",))[0]
            code, message = ERRORS.get(rule.status, ("UNKNOWN", reason.lower()))
            payload = {"errors": [{"code": code, "message": message, "detail": None}]}
            data = json.dumps(payload).encode()
            self.send_response(rule.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
            headers = dict(rule.headers)
            if rule.status == 401:
                headers.setdefault("WWW-Authenticate", f'Basic realm="{REALM}"')
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            proxy.record(Seen(self.command, self.path, rule.status, answered=True))

        def _forward(self, body: bytes) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            connection = http.client.HTTPConnection(
                HOST, proxy.upstream.port, timeout=UPSTREAM_TIMEOUT
            )
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                if self.command == "HEAD":
                    length = answer.getheader("Content-Length") or "0"
                else:
                    length = str(len(data))
                self.send_header("Content-Length", length)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            finally:
                connection.close()
            proxy.record(Seen(self.command, self.path, answer.status, answered=False))

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


@pytest.fixture
def proxy(registry: Registry) -> Iterator[Proxy]:
    """A proxy in front of the session's registry, on its own free port, for one test."""
    running = Proxy(registry)
    running.start()
    try:
        yield running
    finally:
        running.stop()
