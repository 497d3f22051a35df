"""Health probes, retrying them until a deadline, and the baseline's figures, with no sockets:
every probe gets its answers from an injected `get`, and time from an injected clock."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator

import pytest

from runner.delivery import probes as verify
from runner.delivery.probes import (
    Response,
    http_probe,
    measure,
    over_budget,
    percentile,
    until_healthy,
)
from runner.model.pipeline import Baseline, CheckKind, HealthCheck
from runner.model.results import Measurements

URL = "http://127.0.0.1:18080/health"


def check(**fields: object) -> HealthCheck:
    return HealthCheck(kind=CheckKind.HTTP, target=URL, **fields)  # type: ignore[arg-type]


def answering(*responses: Response | Exception) -> Callable[[str], Response]:
    """A `get` giving these answers in turn (an exception is raised), recording the URLs."""
    queue = list(responses)

    def get(url: str) -> Response:
        assert url == URL
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return get


def ok(body: str = "ok\n", seconds: float = 0.01, status: int = 200) -> Response:
    return Response(status=status, body=body, seconds=seconds)


# ---------------------------------------------------------------- http_probe


def test_a_matching_answer_is_healthy() -> None:
    probe = http_probe(check(body="^ok", latency=0.1), get=answering(ok()))
    assert probe() is None


@pytest.mark.parametrize(
    ("health", "answer", "problem"),
    [
        (check(), ok(status=503), f"GET {URL}: status 503, expected 200"),
        (check(status=204), ok(), f"GET {URL}: status 200, expected 204"),
        (check(body="^ok"), ok(body="starting\nok"), f"GET {URL}: body does not match '^ok'"),
        (check(body=r"v\d+"), ok(body="version: dev"), f"GET {URL}: body does not match 'v\\\\d+'"),
        (check(latency=0.1), ok(seconds=0.35), f"GET {URL}: took 350 ms, budget 100 ms"),
    ],
    ids=["status", "expected-status", "body-anchored", "body-regex", "latency"],
)
def test_a_probe_says_what_is_wrong(health: HealthCheck, answer: Response, problem: str) -> None:
    assert http_probe(health, get=answering(answer))() == problem


def test_the_status_is_checked_before_the_body_and_the_body_before_the_latency() -> None:
    health = check(body="^ok", latency=0.1)
    assert "status 500" in (http_probe(health, get=answering(ok("nope", 9, 500)))() or "")
    assert "body does not match" in (http_probe(health, get=answering(ok("nope", 9)))() or "")


def test_no_answer_is_a_problem_not_an_error() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    problem = http_probe(check(), get=answering(refused))()
    assert problem == f"GET {URL}: [Errno 111] Connection refused"


def test_an_answer_that_is_not_http_is_a_problem_not_a_crash() -> None:
    """A check pointed at a port that speaks something else (urllib raises BadStatusLine,
    an HTTPException and not an OSError) must fail the check, not the whole run."""
    garbage = http.client.BadStatusLine("SSH-2.0-OpenSSH_9.2")
    problem = http_probe(check(), get=answering(garbage))()
    assert problem is not None and problem.startswith(f"GET {URL}: ")


# ---------------------------------------------------------------- until_healthy


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.slept.append(seconds)
        self.now += seconds
        return False


def probes(*problems: str | None) -> tuple[Callable[[], str | None], list[int]]:
    """A probe giving these results in turn, and the list counting its calls."""
    results: Iterator[str | None] = iter(problems)
    calls: list[int] = []

    def probe() -> str | None:
        calls.append(1)
        return next(results)

    return probe, calls


def test_until_healthy_passes_on_the_third_probe() -> None:
    time = FakeTime()
    probe, calls = probes("status 503", "status 503", None, "never asked")
    health = check(deadline=10.0, interval=0.5)
    assert until_healthy(probe, health, clock=time.clock, sleep=time.sleep) is None
    assert len(calls) == 3
    assert time.slept == [0.5, 0.5]


def test_until_healthy_gives_the_last_problem_at_the_deadline() -> None:
    time = FakeTime()
    problems = [f"problem {n}" for n in range(1, 20)]
    probe, calls = probes(*problems)
    health = check(deadline=2.0, interval=0.5)
    assert until_healthy(probe, health, clock=time.clock, sleep=time.sleep) == "problem 5"
    # probes at 0, 0.5, 1.0, 1.5 and 2.0 s: one more would start after the deadline
    assert len(calls) == 5
    assert time.now - 1000.0 == 2.0


def test_until_healthy_stops_when_the_sleep_says_cancelled() -> None:
    probe, calls = probes("status 503", "status 503")
    health = check(deadline=30.0, interval=0.5)
    problem = until_healthy(probe, health, clock=lambda: 0.0, sleep=lambda _: True)
    assert problem == "status 503 (cancelled)"
    assert len(calls) == 1


# ---------------------------------------------------------------- percentile, measure


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        ([7.0], 0.95, 7.0),
        ([3.0, 1.0, 2.0], 0.5, 2.0),
        ([float(n) for n in range(1, 51)], 0.95, 48.0),  # rank ceil(47.5) = 48
        ([float(n) for n in range(1, 41)], 0.95, 38.0),  # rank 38 exactly
        ([float(n) for n in range(1, 21)], 0.95, 19.0),  # rank 19 exactly, not the maximum
        ([float(n) for n in range(1, 101)], 0.95, 95.0),  # rank 95 exactly
        ([float(n) for n in range(1, 11)], 0.5, 5.0),  # rank 5 exactly
        ([float(n) for n in range(1, 11)], 1.0, 10.0),
        ([float(n) for n in range(10, 0, -1)], 0.15, 2.0),  # unsorted input, rank ceil(1.5)
    ],
    ids=[
        "one",
        "median-of-3",
        "p95-of-50",
        "p95-of-40",
        "p95-of-20",
        "p95-of-100",
        "p50-of-10",
        "p100",
        "unsorted",
    ],
)
def test_percentile_is_the_nearest_rank(values: list[float], share: float, expected: float) -> None:
    """Nearest rank: the value at rank ceil(share * N), 1-based."""
    assert percentile(values, share) == expected


class Ticking:
    """time.perf_counter for `measure`: each GET takes the next latency of a table."""

    def __init__(self, latencies: list[float]) -> None:
        self.now = 0.0
        self.latencies = iter(latencies)

    def perf_counter(self) -> float:
        return self.now

    def get(self, status: int | Exception) -> Response:
        self.now += next(self.latencies)
        if isinstance(status, Exception):
            raise status
        return Response(status=status, body="", seconds=0.0)


def test_measure_counts_errors_and_takes_the_percentiles(monkeypatch: pytest.MonkeyPatch) -> None:
    latencies = [0.010, 0.020, 0.030, 0.040, 0.500, 0.015, 0.025, 0.035, 0.045, 0.900]
    statuses: list[int | Exception] = [200, 200, 204, 200, 500, 200, 301, 200, 200, 200]
    statuses[9] = ConnectionResetError("reset")
    ticking = Ticking(latencies)
    monkeypatch.setattr(verify, "time", ticking)
    answers = iter(statuses)
    baseline = Baseline(url=URL, requests=10)
    measured = measure(baseline, get=lambda url: ticking.get(next(answers)))
    # 500, 301 and the reset are errors; 204 is a success
    assert (measured.requests, measured.errors) == (10, 3)
    assert measured.error_rate == pytest.approx(0.3)
    assert measured.p50 == pytest.approx(0.0325)  # median of an even count: the mean of 2
    assert measured.p95 == pytest.approx(0.900)


def test_measure_counts_an_answer_that_is_not_http_as_an_error() -> None:
    garbage = http.client.BadStatusLine("SSH-2.0-OpenSSH_9.2")
    measured = measure(Baseline(url=URL, requests=2), get=answering(ok(), garbage))
    assert (measured.requests, measured.errors) == (2, 1)


@pytest.mark.parametrize(
    ("measured", "budget", "problem"),
    [
        (Measurements(requests=50, errors=0, p50=0.010, p95=0.200), Baseline(url=URL), None),
        (
            Measurements(requests=50, errors=0, p50=0.030, p95=0.040),
            Baseline(url=URL, p50=0.020, p95=0.100),
            "p50 30.0 ms is over the 20 ms budget",
        ),
        (
            Measurements(requests=50, errors=0, p50=0.010, p95=0.2504),
            Baseline(url=URL, p95=0.250),
            "p95 250.4 ms is over the 250 ms budget",
        ),
        (
            Measurements(requests=50, errors=0, p50=0.010, p95=0.250),
            Baseline(url=URL, p95=0.250),
            None,  # at the budget is within it
        ),
        (
            Measurements(requests=50, errors=1, p50=0.010, p95=0.020),
            Baseline(url=URL),
            "error rate 2.0% is over the 0.0% budget",
        ),
        (
            Measurements(requests=50, errors=1, p50=0.010, p95=0.020),
            Baseline(url=URL, error_rate=0.02),
            None,
        ),
        (
            Measurements(requests=50, errors=5, p50=0.010, p95=0.900),
            Baseline(url=URL, p95=0.250, error_rate=0.5),
            "p95 900.0 ms is over the 250 ms budget",  # latency is reported first
        ),
    ],
    ids=["no-budget", "p50", "p95", "p95-equal", "errors", "errors-allowed", "first-problem"],
)
def test_over_budget(measured: Measurements, budget: Baseline, problem: str | None) -> None:
    assert over_budget(measured, budget) == problem


def test_no_requests_is_no_error_rate() -> None:
    assert Measurements(requests=0, errors=0, p50=0.0, p95=0.0).error_rate == 0.0
