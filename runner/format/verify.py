"""A verify job's `verify:`: the deployment it checks, its health checks and its baseline.

Each health check (`http`, `tcp` or `command`) is retried until it passes or its deadline
passes; the baseline is a short sequential load whose latency percentiles and error rate
go into the report. What they do at run time lives in `runner.delivery.verify`; here they are only
read and checked. That `deployment` names a deploy job among the job's needs is checked
by `runner.format.delivery` once every job is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import yaml

from runner.format.fields import port_number, read_duration
from runner.format.yamlnodes import (
    STR,
    Doc,
    Ref,
    is_tag,
    number_value,
    read_fields,
    read_items,
    read_text,
    read_whole,
    sub,
    wrong,
)
from runner.model.pipeline import Baseline, CheckKind, HealthCheck, Verify

VERIFY_KEYS = frozenset({"deployment", "checks", "baseline"})
CHECK_KINDS = frozenset(kind.value for kind in CheckKind)
HTTP_CHECK_KEYS = frozenset({"url", "status", "body", "latency", "deadline", "interval"})
TCP_CHECK_KEYS = frozenset({"address", "deadline", "interval"})
COMMAND_CHECK_KEYS = frozenset({"run", "deadline", "interval"})
BASELINE_KEYS = frozenset({"url", "requests", "p50", "p95", "error_rate"})

MAX_REQUESTS = 10_000
URL_SHAPE = "a URL starting with http:// or https://"

_URL = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?")
_ADDRESS = re.compile(r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?P<port>[0-9]+)")
_CHECK_DEFAULTS = HealthCheck(kind=CheckKind.HTTP, target="")
_BASELINE_DEFAULTS = Baseline(url="")
_CHECK_SHAPE = "a check: {http: URL}, {tcp: HOST:PORT} or {command: COMMAND}"


# ---------------------------------------------------------------- verify


def read_verify(doc: Doc, node: yaml.Node, path: str) -> tuple[Verify | None, Ref | None]:
    """`verify: {deployment: JOB, checks: [...], baseline: {...}}`, and where JOB is named."""
    fields = read_fields(doc, node, path, VERIFY_KEYS, required=("deployment",))
    if fields is None:
        return None, None
    deployment = fields.get("deployment", read_text)
    spec = Verify(
        deployment=deployment or "",
        checks=fields.get("checks", _checks, ()),
        baseline=fields.get("baseline", _baseline),
    )
    if "checks" not in fields and "baseline" not in fields:
        doc.add(node, path, "nothing to verify: set checks:, baseline: or both")
    if deployment is None:
        return None, None
    return spec, Ref(deployment, fields.nodes["deployment"], sub(path, "deployment"))


# ---------------------------------------------------------------- health checks


def _checks(doc: Doc, node: yaml.Node, path: str) -> tuple[HealthCheck, ...] | None:
    items = read_items(doc, node, path, "a list of checks")
    if items is None:
        return None
    if not items:
        doc.add(node, path, "expected at least one check (or leave checks: out)")
        return None
    checks = [_check(doc, item, f"{path}[{index}]") for index, item in enumerate(items)]
    return tuple(check for check in checks if check is not None)


def _check(doc: Doc, node: yaml.Node, path: str) -> HealthCheck | None:
    """A mapping with exactly one of `http`, `tcp` or `command`."""
    if not isinstance(node, yaml.MappingNode):
        wrong(doc, node, path, _CHECK_SHAPE)
        return None
    fields = read_fields(doc, node, path, CHECK_KINDS)
    if fields is None:
        return None
    kinds = [kind for kind in CheckKind if kind.value in fields]
    if len(kinds) != 1:
        doc.add(node, path, "set exactly one of http:, tcp: or command:")
        return None
    kind = kinds[0]
    return fields.get(kind.value, lambda d, n, p: _probe(d, n, p, kind))


_TARGETS: dict[CheckKind, tuple[str, frozenset[str], str]] = {
    CheckKind.HTTP: ("url", HTTP_CHECK_KEYS, "a URL or a mapping with url:"),
    CheckKind.TCP: ("address", TCP_CHECK_KEYS, "an address HOST:PORT or a mapping with address:"),
    CheckKind.COMMAND: ("run", COMMAND_CHECK_KEYS, "a command or a mapping with run:"),
}


def _probe(doc: Doc, node: yaml.Node, path: str, kind: CheckKind) -> HealthCheck | None:
    """The shorthand (just the target) or the mapping with the target and its timing."""
    key, allowed, shape = _TARGETS[kind]
    read_target = _target_reader(kind)
    if is_tag(node, STR):
        target = read_target(doc, node, path)
        return None if target is None else HealthCheck(kind=kind, target=target)
    if not isinstance(node, yaml.MappingNode):
        wrong(doc, node, path, shape)
        return None
    fields = read_fields(doc, node, path, allowed, required=(key,))
    if fields is None:
        return None
    target = fields.get(key, read_target)
    check = HealthCheck(
        kind=kind,
        target=target or "",
        status=fields.get("status", _status, _CHECK_DEFAULTS.status),
        body=fields.get("body", _pattern),
        latency=fields.get("latency", read_duration),
        deadline=fields.get("deadline", read_duration, _CHECK_DEFAULTS.deadline),
        interval=fields.get("interval", read_duration, _CHECK_DEFAULTS.interval),
    )
    if check.interval > check.deadline:
        doc.add(node, path, "interval is longer than deadline")
    return None if target is None else check


def _target_reader(kind: CheckKind) -> Callable[[Doc, yaml.Node, str], str | None]:
    if kind is CheckKind.HTTP:
        return read_url
    if kind is CheckKind.TCP:
        return _address
    return read_text


def read_url(doc: Doc, node: yaml.Node, path: str) -> str | None:
    value = read_text(doc, node, path)
    if value is None or _URL.fullmatch(value):
        return value
    wrong(doc, node, path, URL_SHAPE)
    return None


def _address(doc: Doc, node: yaml.Node, path: str) -> str | None:
    """HOST:PORT, the host a name or an IPv4 address."""
    value = read_text(doc, node, path)
    if value is None:
        return None
    match = _ADDRESS.fullmatch(value)
    if match is None:
        wrong(doc, node, path, "an address HOST:PORT like 127.0.0.1:8080")
        return None
    if port_number(match["port"]) is None:
        wrong(doc, node, path, "an address whose port is from 1 to 65535")
        return None
    return value


def _status(doc: Doc, node: yaml.Node, path: str) -> int | None:
    return read_whole(doc, node, path, 100, 599)


def _pattern(doc: Doc, node: yaml.Node, path: str) -> str | None:
    """A regular expression the body must match (searched, as with re.search)."""
    value = read_text(doc, node, path)
    if value is None:
        return None
    try:
        re.compile(value)
    except re.error as error:
        doc.add(node, path, f"invalid regular expression: {error}")
        return None
    return value


# ---------------------------------------------------------------- baseline


def _baseline(doc: Doc, node: yaml.Node, path: str) -> Baseline | None:
    fields = read_fields(doc, node, path, BASELINE_KEYS, required=("url",))
    if fields is None:
        return None
    url = fields.get("url", read_url)
    baseline = Baseline(
        url=url or "",
        requests=fields.get("requests", _requests, _BASELINE_DEFAULTS.requests),
        p50=fields.get("p50", read_duration),
        p95=fields.get("p95", read_duration),
        error_rate=fields.get("error_rate", _share, _BASELINE_DEFAULTS.error_rate),
    )
    if baseline.p50 is not None and baseline.p95 is not None and baseline.p50 > baseline.p95:
        doc.add(node, path, "the p50 budget is above the p95 budget")
    return None if url is None else baseline


def _requests(doc: Doc, node: yaml.Node, path: str) -> int | None:
    return read_whole(doc, node, path, 1, MAX_REQUESTS)


def _share(doc: Doc, node: yaml.Node, path: str) -> float | None:
    value = number_value(node)
    if value is not None and 0 <= value <= 1:
        return value
    wrong(doc, node, path, "a share of failed requests from 0 to 1, like 0.01")
    return None
