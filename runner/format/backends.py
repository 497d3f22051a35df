"""`defaults.backend`, and what a job may not ask of the backend it runs on.

A Swarm task runs on whichever node the scheduler picks, under a service spec the manager
keeps: it cannot be privileged nor reach one host's Docker socket or files. Such a job is
refused when the pipeline is read, at the key that asks for it, rather than half-way
through a run on a cluster. (`resources.pids` and `cache.volumes` do run there: a service's
pids limit is `Resources.Limits.Pids`, and a cache volume is a named volume on the node
that runs the task.)
"""

from __future__ import annotations

import yaml

from runner.format.yamlnodes import Doc, Fields, read_string, sub
from runner.model.pipeline import Backend, Steps
from runner.names import suggest

ON_SWARM = "cannot run on the swarm backend"
LOCAL_HINT = "run this job with --backend local"
SWARM_PORTS = (
    "a swarm deploy cannot publish ports: Swarm publishes a port on every address of "
    "every node (its port config has no host address), and dockstep publishes only on "
    "127.0.0.1; use network: host with the service listening on 127.0.0.1:PORT, or "
    "target: local"
)


def read_backend(doc: Doc, node: yaml.Node, path: str) -> Backend | None:
    choices = [backend.value for backend in Backend]
    value = read_string(doc, node, path)
    if value is None or value in choices:
        return None if value is None else Backend(value)
    hint = suggest(value, choices)
    doc.add(node, path, f"expected one of {', '.join(choices)}, got {value!r}{hint}")
    return None


def refuse(doc: Doc, fields: Fields, steps: Steps, backend: Backend) -> None:
    """Report every key of a steps job that its backend cannot honour, where it is written."""
    if backend is not Backend.SWARM:
        return
    reasons = {
        "privileged": (steps.privileged, "a Swarm service cannot be privileged"),
        "docker_socket": (
            steps.docker_socket,
            "a task cannot be given the Docker socket of one host (host bind mounts are "
            "not portable between nodes)",
        ),
    }
    for key, (asked, why) in reasons.items():
        node = fields.nodes.get(key)
        if asked and node is not None:
            doc.add(node, f"{fields.path}.{key}", f"{ON_SWARM}: {why}; {LOCAL_HINT}")


def refuse_deploy(doc: Doc, fields: Fields, target: Backend) -> None:
    """A deploy to a swarm publishes no ports (see SWARM_PORTS)."""
    node = fields.nodes.get("ports")
    if target is Backend.SWARM and node is not None:
        doc.add(node, sub(fields.path, "ports"), SWARM_PORTS)
