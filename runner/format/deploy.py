"""A job's `deploy:`: the environment, the package job (or image) it deploys, the service
it becomes, where (`target:`) and how it is reached (ports on 127.0.0.1, or the host's
network). What a deploy does at run time lives in `runner.delivery.deploy`.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import yaml

from runner.format.backends import read_backend, refuse_deploy
from runner.format.fields import port_number
from runner.format.yamlnodes import (
    INT,
    STR,
    Doc,
    Ref,
    is_tag,
    read_env,
    read_fields,
    read_items,
    read_text,
    sub,
    wrong,
)
from runner.model.pipeline import Backend, Deploy
from runner.names import NAME, NAME_RULE, suggest

DEPLOY_KEYS = frozenset(
    {"environment", "package", "image", "service", "ports", "env", "command", "network", "target"}
)
NETWORKS = ("bridge", "host")
LOCALHOST = "127.0.0.1"

_PORTS = re.compile(r"(?:(?P<ip>.+):)?(?P<host>[0-9]+):(?P<container>[0-9]+)")
_PORTS_SHAPE = "a port mapping HOST:CONTAINER like '8080:8000', or 127.0.0.1:HOST:CONTAINER"


def read_deploy(
    doc: Doc,
    node: yaml.Node,
    path: str,
    environments: Collection[str] | None,
    backend: Backend = Backend.LOCAL,
) -> tuple[Deploy | None, Ref | None]:
    """The deploy, and where its package job is named; `environments` None: not checked.

    A deploy names a package job of its pipeline, or (`image:`) an image reference, which
    may be a variable such as the `${DOCKSTEP_UPSTREAM_IMAGE}` of a chained pipeline. It
    goes where `target:` says, else where the pipeline's steps jobs run (`backend`).
    """
    required = ("environment", "service")
    fields = read_fields(doc, node, path, DEPLOY_KEYS, required=required)
    if fields is None:
        return None, None
    if "package" not in fields and "image" not in fields:
        doc.add(node, path, "missing key 'package'")  # image: is the rarer choice
    elif "package" in fields and "image" in fields:
        doc.add(node, path, "set one of package: (a package job) or image: (a reference)")
    network = fields.get("network", _network, "bridge")
    if network == "host" and "ports" in fields:
        doc.add(fields.nodes["ports"], sub(path, "ports"), "network: host publishes no ports")
    package = fields.get("package", read_text)
    spec = Deploy(
        environment=fields.get(
            "environment", lambda d, n, p: _environment_name(d, n, p, environments), ""
        ),
        package=package or "",
        service=fields.get("service", _service, ""),
        ports=fields.get("ports", _ports, ()),
        env=fields.get("env", read_env, ()),
        command=fields.get("command", read_text),
        image=fields.get("image", read_text),
        host_network=network == "host",
        target=fields.get("target", read_backend, backend),
    )
    refuse_deploy(doc, fields, spec.target)
    if package is None:
        return spec, None
    return spec, Ref(package, fields.nodes["package"], sub(path, "package"))


def _network(doc: Doc, node: yaml.Node, path: str) -> str | None:
    value = read_text(doc, node, path)
    if value is None or value in NETWORKS:
        return value
    doc.add(node, path, f"expected bridge or host, got {value!r}{suggest(value, NETWORKS)}")
    return None


def _environment_name(
    doc: Doc, node: yaml.Node, path: str, environments: Collection[str] | None
) -> str | None:
    name = read_text(doc, node, path)
    if name is None or environments is None or name in environments:
        return name
    if environments:
        hint = suggest(name, environments)
        listed = ", ".join(environments)
        doc.add(node, path, f"unknown environment {name!r}{hint}; the environments are {listed}")
    else:
        doc.add(
            node, path, f"unknown environment {name!r}; define it in the top-level environments:"
        )
    return None


def _service(doc: Doc, node: yaml.Node, path: str) -> str | None:
    name = read_text(doc, node, path)
    if name is None or NAME.fullmatch(name):
        return name
    wrong(doc, node, path, f"a container name ({NAME_RULE})")
    return None


def _ports(doc: Doc, node: yaml.Node, path: str) -> tuple[tuple[int, int], ...] | None:
    items = read_items(doc, node, path, "a list of port mappings like '8080:8000'")
    if items is None:
        return None
    found: dict[int, tuple[int, int]] = {}
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        mapping = _port_mapping(doc, item, here)
        if mapping is not None and mapping[0] in found:
            doc.add(item, here, f"host port {mapping[0]} is published twice")
        elif mapping is not None:
            found[mapping[0]] = mapping
    return tuple(found.values())


def _port_mapping(doc: Doc, node: yaml.Node, path: str) -> tuple[int, int] | None:
    """`HOST:CONTAINER` or `127.0.0.1:HOST:CONTAINER` as (host port, container port)."""
    if is_tag(node, INT) and ":" in str(node.value):
        message = f"quote this port mapping ('{node.value}'): unquoted, YAML reads it as a number"
        doc.add(node, path, message)
        return None
    if not is_tag(node, STR):
        wrong(doc, node, path, _PORTS_SHAPE)
        return None
    value = read_text(doc, node, path)
    if value is None:
        return None
    match = _PORTS.fullmatch(value)
    if match is None:
        wrong(doc, node, path, _PORTS_SHAPE)
        return None
    if match["ip"] is not None and match["ip"] != LOCALHOST:
        bare = f"{match['host']}:{match['container']}"
        doc.add(node, path, f"ports are published on {LOCALHOST} only; write {bare!r}")
        return None
    host, container = port_number(match["host"]), port_number(match["container"])
    if host is None or container is None:
        wrong(doc, node, path, "ports from 1 to 65535")
        return None
    return host, container
