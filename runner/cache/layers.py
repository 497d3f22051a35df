"""Cache layers on the engine: lookup (local, then the shared registry), store, usage.

A layer is only ever tagged by `commit` after its install exited 0, so a run killed
mid-install leaves no tag behind; runs missing the same key at once take turns under a
file lock and the later one finds the earlier one's layer.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runner.cache.keys import CacheKey
from runner.engine.api import Images
from runner.engine.labels import CACHE_INPUTS, CACHE_JOB, CACHE_KEY, CACHE_KIND
from runner.errors import EngineError
from runner.model.pipeline import pairs
from runner.model.results import CacheResult, CacheStatus

LOCK_POLL = 0.2


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheOutcome:
    status: CacheStatus
    key: CacheKey
    image: str  # the layer's image id

    def result(self) -> CacheResult:
        return CacheResult(status=self.status, key=self.key.value, inputs=self.key.inputs)


class Usage:
    """When each key was last used on this machine (a file's mtime per key)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory / "used"

    def touch(self, key: str) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        (self._directory / key).touch()

    def last_used(self, key: str) -> float | None:
        try:
            return (self._directory / key).stat().st_mtime
        except OSError:
            return None

    def forget(self, key: str) -> None:
        (self._directory / key).unlink(missing_ok=True)


class LayerCache:
    def __init__(
        self,
        engine: Images,
        directory: Path,
        *,
        enabled: bool = True,
    ) -> None:
        self._engine = engine
        self._directory = directory
        self.usage = Usage(directory)
        self.enabled = enabled
        self._cancelled = threading.Event()
        self._made: dict[str, str] = {}  # key -> layer: what this run installed

    def cancel(self) -> None:
        """Stop waiting for other runs' installs."""
        self._cancelled.set()

    def lookup(self, key: CacheKey, registry: str | None) -> CacheOutcome | None:
        """The layer for `key`, from this engine or else the registry; None on a miss."""
        if not self.enabled:  # --no-cache: only what this run installed itself
            made = self._made.get(key.value)
            return CacheOutcome(status=CacheStatus.HIT, key=key, image=made) if made else None
        found = self._engine.image_id(key.layer_tag)
        status = CacheStatus.HIT
        if found is None and registry:
            found, status = self._pull(key, registry), CacheStatus.REMOTE_HIT
        if found is None:
            return None
        self.usage.touch(key.value)
        return CacheOutcome(status=status, key=key, image=found)

    def made_here(self, key: CacheKey) -> bool:
        """Whether this run (another of its jobs) installed the layer of `key`."""
        return key.value in self._made

    def _pull(self, key: CacheKey, registry: str) -> str | None:
        try:
            image = self._engine.pull(key.remote(registry))
        except EngineError:
            return None  # not there (or unreachable): an ordinary miss
        self._engine.tag(image, key.layer_tag)
        return image

    def store(
        self, key: CacheKey, *, container: str, base: str, job: str, registry: str | None
    ) -> tuple[str, str | None]:
        """Commit a finished install as the layer for `key`; push it when a registry is set.

        Returns the layer's id and, when the push failed, why (a warning, not a failure).
        """
        labels = pairs(
            {
                CACHE_KIND: "layer",
                CACHE_KEY: key.value,
                CACHE_JOB: job,
                CACHE_INPUTS: json.dumps(dict(key.inputs)),
            }
        )
        replaced = self._engine.image_id(key.layer_tag)  # only with --no-cache
        image = self._engine.commit(container, tag=key.layer_tag, labels=labels, like=base)
        self._made[key.value] = image
        if replaced and replaced != image:
            self._drop(replaced)
        self.usage.touch(key.value)
        if not registry:
            return image, None
        try:
            self._engine.tag(image, key.remote(registry))
            self._engine.push(key.remote(registry))
        except EngineError as error:
            return image, f"pushing the cache layer to {registry} failed: {error}"
        return image, None

    def _drop(self, image: str) -> None:
        """Remove the layer a forced reinstall replaced, so `--no-cache` leaks no disk."""
        with contextlib.suppress(EngineError):  # still used by a container: it stays, untagged
            self._engine.remove_image(image)

    @contextmanager
    def exclusive(self, key: CacheKey, stopped: threading.Event | None = None) -> Iterator[bool]:
        """Hold the machine-wide lock of one key; yields False if the run is cancelled (or
        `stopped` is set: the job's timeout) while waiting."""
        locks = self._directory / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with (locks / f"{key.value}.lock").open("w") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if self._cancelled.wait(LOCK_POLL) or (stopped and stopped.is_set()):
                        yield False
                        return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
