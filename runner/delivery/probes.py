"""Smoke tests after a deploy: health checks retried until a deadline, and a short baseline.

A probe returns None when healthy and otherwise says what is wrong, so the last reason
is what the report shows when a deadline passes.
"""

from __future__ import annotations

import http.client
import math
import re
import socket
import statistics
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from runner.engine.api import Containers
from runner.model.pipeline import Baseline, CheckKind, HealthCheck
from runner.model.results import Measurements

Probe = Callable[[], str | None]
HTTP_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    status: int
    body: str
    seconds: float


def fetch(url: str, timeout: float = HTTP_TIMEOUT) -> Response:
    """One GET; an HTTP error status is a response too (only no answer raises)."""
    started = time.perf_counter()
    request = urllib.request.Request(url, headers={"User-Agent": "dockstep-verify"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, body = answer.status, answer.read(65536)
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read(65536)
    return Response(
        status=status, body=body.decode(errors="replace"), seconds=time.perf_counter() - started
    )


def http_probe(check: HealthCheck, get: Callable[[str], Response] = fetch) -> Probe:
    def probe() -> str | None:
        try:
            answer = get(check.target)
        except (OSError, http.client.HTTPException) as error:
            return f"GET {check.target}: {error}"
        if answer.status != check.status:
            return f"GET {check.target}: status {answer.status}, expected {check.status}"
        if check.body and not re.search(check.body, answer.body):
            return f"GET {check.target}: body does not match {check.body!r}"
        if check.latency is not None and answer.seconds > check.latency:
            return (
                f"GET {check.target}: took {answer.seconds * 1000:.0f} ms, "
                f"budget {check.latency * 1000:.0f} ms"
            )
        return None

    return probe


def tcp_probe(check: HealthCheck) -> Probe:
    host, _, port = check.target.rpartition(":")

    def probe() -> str | None:
        try:
            with socket.create_connection((host, int(port)), timeout=HTTP_TIMEOUT):
                return None
        except OSError as error:
            return f"connect {check.target}: {error}"

    return probe


def command_probe(check: HealthCheck, engine: Containers, container: str) -> Probe:
    def probe() -> str | None:
        chunks: list[bytes] = []
        code = engine.exec(
            container,
            ("sh", "-c", check.target),
            env=(),
            workdir="/",
            user=None,
            output=chunks.append,
        )
        if code == 0:
            return None
        return f"{check.target!r} exited {code}: {b''.join(chunks).decode(errors='replace')[-200:]}"

    return probe


def probe_for(check: HealthCheck, engine: Containers, container: str) -> Probe:
    if check.kind is CheckKind.HTTP:
        return http_probe(check)
    if check.kind is CheckKind.TCP:
        return tcp_probe(check)
    return command_probe(check, engine, container)


def until_healthy(
    probe: Probe,
    check: HealthCheck,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], bool | None] = time.sleep,
) -> str | None:
    """Probe until healthy (None) or the deadline passes (the last problem)."""
    deadline = clock() + check.deadline
    while True:
        problem = probe()
        if problem is None or clock() + check.interval > deadline:
            return problem
        if sleep(check.interval):  # an Event's wait returns True when cancelled
            return f"{problem} (cancelled)"


def over_budget(measured: Measurements, budget: Baseline) -> str | None:
    if budget.p50 is not None and measured.p50 > budget.p50:
        return f"p50 {measured.p50 * 1000:.1f} ms is over the {budget.p50 * 1000:.0f} ms budget"
    if budget.p95 is not None and measured.p95 > budget.p95:
        return f"p95 {measured.p95 * 1000:.1f} ms is over the {budget.p95 * 1000:.0f} ms budget"
    if measured.error_rate > budget.error_rate:
        rate, allowed = measured.error_rate, budget.error_rate
        return f"error rate {rate:.1%} is over the {allowed:.1%} budget"
    return None


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of a non-empty list: the smallest value with at least
    `share` of the values at or below it."""
    ordered = sorted(values)
    rank = math.ceil(share * len(ordered))
    return ordered[max(0, min(len(ordered), rank) - 1)]


def measure(baseline: Baseline, get: Callable[[str], Response] = fetch) -> Measurements:
    """N sequential GETs; a non-2xx status or no answer counts as an error."""
    latencies: list[float] = []
    errors = 0
    for _ in range(baseline.requests):
        started = time.perf_counter()
        try:
            ok = 200 <= get(baseline.url).status < 300
        except (OSError, http.client.HTTPException):
            ok = False
        latencies.append(time.perf_counter() - started)
        errors += not ok
    return Measurements(
        requests=baseline.requests,
        errors=errors,
        p50=statistics.median(latencies),
        p95=percentile(latencies, 0.95),
    )
