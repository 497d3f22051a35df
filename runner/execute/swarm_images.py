"""Images of this engine handed to a swarm through the run's registry, by digest.

A task on another node cannot use this machine's images; it pulls `REPO@sha256:…` from
the registry. An image this engine pulled or built (a service's) is tagged by its id,
pushed once (a registry that already holds the tag answers one HEAD and nothing is
pushed), and untagged here again: the registry keeps it.
"""

from __future__ import annotations

import threading

from runner.engine.api import Images
from runner.engine.swarm import registry
from runner.errors import EngineError


def push(engine: Images, tag: str) -> str:
    """Push a tagged image and untag it on this engine; the digest the registry gave it."""
    try:
        digest = engine.push(tag) or registry.digest_of(tag)
    finally:
        engine.remove_image(tag)  # the registry keeps it; this engine need not
    if not digest:
        raise EngineError(f"pushed {tag} but the registry gave no digest")
    return digest


class PublishedImages:
    """`REPO@sha256:…` for local images, each pushed at most once at a time."""

    def __init__(self, engine: Images, repository: str) -> None:
        self._engine = engine
        self._repository = repository
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def pinned(self, image_id: str) -> str:
        tag = f"{self._repository}:{image_id.removeprefix('sha256:')[:64]}"
        with self._guard:
            lock = self._locks.setdefault(tag, threading.Lock())
        with lock:
            digest = registry.digest_of(tag)
            if not digest:
                self._engine.tag(image_id, tag)
                digest = push(self._engine, tag)
        return f"{self._repository}@{digest}"
