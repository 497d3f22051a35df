"""Run networks from a pool, leased under a file lock: a run neither creates nor removes one.

A bridge network costs ~0.14 s to create and ~0.18 s to remove on Docker 20.10, more than
the `true` container it serves (README "Performance"). Isolating concurrent runs only needs
that no two runs share a network at once, so each network of the pool is leased for a
whole run under an `flock` of its slot file in the state folder (the kernel lets go of it
however the holder dies) and is taken only when no container is attached to it (a run
killed by SIGKILL leaves its containers there until `dockstep clean`); the run's sweep
removes its containers before the lease ends, and the network stays for the next run.

The pool is small (`SLOTS` per state folder): a bridge network takes one of the engine's
~30 default address pools. A run finding every slot taken gets a network of its own,
created and removed as before. Networks of state folders that are gone (a test's
temporary folder) are removed whenever the pool grows, and idle ones by `dockstep clean`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from runner.engine.api import Resource, Resources
from runner.engine.labels import OWNER_HOST, POOL
from runner.errors import EngineError
from runner.model.pipeline import Pairs

SLOTS = 4
FOLDER = "networks"


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    network: str
    fd: int | None = None  # the slot's locked file; None: a network of the run's own


class NetworkPool:
    def __init__(self, engine: Resources, state_dir: Path, host: str) -> None:
        self._engine = engine
        self._folder = state_dir / FOLDER
        self._host = host

    def lease(self, own: str, labels: Pairs) -> Lease:
        """A free network of the pool, else `own` created with the run's `labels`
        (also when the state folder cannot be written: a run never fails for its pool)."""
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return self._own(own, labels)
        for slot in range(SLOTS):
            try:
                fd = _try_lock(self._folder / f"{slot}.lock")
            except OSError:
                fd = None
            if fd is None:
                continue
            try:
                if self._usable(slot):
                    return Lease(network=self.name(slot), fd=fd)
            except BaseException:
                _unlock(fd)
                raise
            _unlock(fd)
        return self._own(own, labels)

    def _own(self, own: str, labels: Pairs) -> Lease:
        self._engine.create_network(own, labels)
        return Lease(network=own)

    def release(self, lease: Lease) -> None:
        """Let the network go; the run's containers must be gone by now."""
        if lease.fd is not None:
            _unlock(lease.fd)

    def name(self, slot: int) -> str:
        digest = hashlib.sha256(f"{self._host}:{self._folder.resolve()}".encode()).hexdigest()
        return f"dockstep-pool-{digest[:10]}-{slot}"

    def _usable(self, slot: int) -> bool:
        """Present and empty (one inspect), or created now."""
        attached = self._engine.network_endpoints(self.name(slot))
        if attached is not None:
            return attached == 0
        sweep_stale(self._engine, self._host)
        lock = str(self._folder / f"{slot}.lock")
        self._engine.create_network(self.name(slot), ((OWNER_HOST, self._host), (POOL, lock)))
        return True


def pooled(engine: Resources, host: str) -> list[Resource]:
    """The pool networks this host made, in every state folder."""
    found = engine.labelled(POOL)
    return [r for r in found if r.kind == "network" and r.labels.get(OWNER_HOST) == host]


def sweep_stale(engine: Resources, host: str) -> None:
    """Remove the pool networks whose state folder is gone (nobody can lease them again).

    A folder this user cannot look into (another user's state) is not judged: it is left.
    """
    for network in pooled(engine, host):
        if _folder_state(Path(network.labels[POOL]).parent) == "gone":
            _remove_idle(engine, network)


def _folder_state(folder: Path) -> str:
    """present | gone | unknown (not ours to look into)."""
    try:
        return "present" if folder.is_dir() else "gone"
    except OSError:
        return "unknown"


def sweep_idle(
    engine: Resources, host: str, *, dry_run: bool = False
) -> tuple[list[Resource], list[str]]:
    """Remove every pool network no run holds (`dockstep clean`): (removed, problems)."""
    removed, problems = [], []
    for network in pooled(engine, host):
        path = Path(network.labels[POOL])
        state = _folder_state(path.parent)
        if state == "unknown":
            continue  # another user's state folder: not ours to judge
        fd = _lock_or_none(path) if state == "present" else None
        if fd is None and state == "present":
            continue  # leased by a run going on
        try:
            problem = None if dry_run else _remove_idle(engine, network)
        finally:
            if fd is not None:
                _unlock(fd)
        if problem:
            problems.append(problem)
        else:
            removed.append(network)
    return removed, problems


def _remove_idle(engine: Resources, network: Resource) -> str | None:
    """Remove a pool network; the engine refuses while a container is attached."""
    try:
        engine.remove_resource(network)
    except EngineError as error:
        return f"network {network.name} was left: {error}"
    return None


def _try_lock(path: Path) -> int | None:
    # not inherited (PEP 446): a process the run starts must not keep the lease
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _lock_or_none(path: Path) -> int | None:
    try:
        return _try_lock(path)
    except OSError:
        return None


def _unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
