"""Images of this engine handed to a swarm through the run's registry, by digest.

A task on another node cannot use this machine's images; it pulls `REPO@sha256:…` from
the registry. Each image is tagged by what went into it (a workspace image by a content
hash, a service's image by its id); when the registry already holds the tag (one HEAD),
nothing is made or pushed. Otherwise the tag is made here (built, or a local image
tagged), pushed, and untagged again: the registry keeps it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from runner.engine.api import Images
from runner.engine.swarm import registry
from runner.errors import EngineError


class RegistryImages:
    """Tags in one repository of the run's registry: each made and pushed at most once at a
    time, however many jobs ask for it together."""

    def __init__(self, engine: Images, repository: str) -> None:
        self._engine = engine
        self.repository = repository
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._digests: dict[str, str] = {}  # tags this run found or pushed

    def digest(self, name: str, make: Callable[[str], None]) -> tuple[str, bool]:
        """The digest of `REPOSITORY:name`, and whether it was there already; `make(tag)`
        builds or tags the image on this engine when the registry has no such tag."""
        tag = f"{self.repository}:{name}"
        with self._guard:
            lock = self._locks.setdefault(tag, threading.Lock())
        with lock:
            found = self._digests.get(tag) or registry.digest_of(tag)
            if found:
                self._digests[tag] = found
                return found, True
            make(tag)
            self._digests[tag] = self._push(tag)
            return self._digests[tag], False

    def pinned(self, image_id: str) -> str:
        """`REPO@sha256:…` of a local image (a service's), pushed under its id."""
        name = image_id.removeprefix("sha256:")[:64]
        digest, _ = self.digest(name, lambda tag: self._engine.tag(image_id, tag))
        return f"{self.repository}@{digest}"

    def _push(self, tag: str) -> str:
        try:
            digest = self._engine.push(tag) or registry.digest_of(tag)
        finally:
            self._engine.remove_image(tag)  # the registry keeps it; this engine need not
        if not digest:
            raise EngineError(f"pushed {tag} but the registry gave no digest")
        return digest
