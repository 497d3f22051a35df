"""A job's `services:`: containers beside its own, each ready before the first step.

services:
  db:                                   # the alias the steps reach it by
    image: {build: images/postgres}     # or a pinned name@sha256:… / image id
    env: {POSTGRES_PASSWORD: secret}
    command: postgres -D /data          # run with sh -c; default: the image's command
    ready: {tcp: 5432, timeout: 60s}    # or {http: URL}, {command: CMD}, healthcheck
"""

from __future__ import annotations

import re

import yaml

from runner.format.fields import port_number, read_duration, read_image
from runner.format.yamlnodes import (
    STR,
    Doc,
    is_tag,
    read_entries,
    read_env,
    read_fields,
    read_text,
    wrong,
)
from runner.model.pipeline import Pairs
from runner.model.services import Readiness, ReadyKind, Service

SERVICE_KEYS = frozenset({"image", "env", "command", "ready"})
READY_KEYS = frozenset({"tcp", "http", "command", "timeout", "interval"})
READY_CHECKS = ("tcp", "http", "command")
ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_URL = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?")
_READY_SHAPE = "{tcp: PORT}, {http: URL}, {command: CMD} (with optional timeout:), or healthcheck"


def read_services(doc: Doc, node: yaml.Node, path: str) -> tuple[Service, ...] | None:
    entries = read_entries(doc, node, path)
    if entries is None:
        return None
    found = []
    for alias, entry in entries.items():
        here = f"{path}.{alias}"
        if not ALIAS.fullmatch(alias):
            doc.add(entry.key, path, _bad_alias(alias))
        service = _service(doc, entry.value, here, alias)
        if service is not None:
            found.append(service)
    return tuple(found)


def _bad_alias(alias: str) -> str:
    return (
        f"invalid service name {alias!r}; use a DNS label (lowercase letters, digits and "
        "'-'): it is the service's host name"
    )


def _service(doc: Doc, node: yaml.Node, path: str, alias: str) -> Service | None:
    fields = read_fields(doc, node, path, SERVICE_KEYS, required=("image",))
    if fields is None:
        return None
    image = fields.get("image", read_image)
    env: Pairs = fields.get("env", read_env, ())
    command = fields.get("command", read_text)
    ready = fields.get("ready", read_ready, Readiness())  # read all, so all are reported
    if image is None:
        return None
    return Service(
        alias=alias,
        image=image,
        env=env,
        command=command,
        ready=ready,
        position=doc.position(node),
    )


def read_ready(doc: Doc, node: yaml.Node, path: str) -> Readiness | None:
    if is_tag(node, STR) and node.value == ReadyKind.HEALTHCHECK.value:
        return Readiness(kind=ReadyKind.HEALTHCHECK)
    if not isinstance(node, yaml.MappingNode):
        wrong(doc, node, path, _READY_SHAPE)
        return None
    fields = read_fields(doc, node, path, READY_KEYS)
    if fields is None:
        return None
    checks = [name for name in READY_CHECKS if name in fields]
    if len(checks) != 1:
        doc.add(node, path, f"expected exactly one of tcp, http or command, got {len(checks)}")
        return None
    kind = ReadyKind(checks[0])
    readers = {ReadyKind.TCP: _port, ReadyKind.HTTP: _url, ReadyKind.COMMAND: read_text}
    target = fields.get(kind.value, readers[kind])
    if target is None:
        return None
    return Readiness(
        kind=kind,
        target=target,
        timeout=fields.get("timeout", read_duration, Readiness().timeout),
        interval=fields.get("interval", read_duration, Readiness().interval),
    )


def _port(doc: Doc, node: yaml.Node, path: str) -> str | None:
    text = str(node.value) if isinstance(node, yaml.ScalarNode) else ""
    if port_number(text) is None:
        wrong(doc, node, path, "a port number, 1 to 65535 (checked inside the service)")
        return None
    return text


def _url(doc: Doc, node: yaml.Node, path: str) -> str | None:
    text = read_text(doc, node, path)
    if text is not None and not _URL.fullmatch(text):
        wrong(doc, node, path, "an http:// URL as the service sees it: http://localhost:8080/")
        return None
    return text
