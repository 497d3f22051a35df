"""Cache keys: which lockfiles count, and the key that keeps the inputs it was made from.

A key is portable between machines: it hashes the pinned image reference (a digest, an
image id, or a build's content tag), never a local-only detail like a path or an mtime.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.errors import UsageError
from runner.model.pipeline import CacheVolume, Install
from runner.paths import workspace_files

FORMAT = "1"  # bump when the key's recipe changes, so old layers stop matching
LAYER_REPOSITORY = "dockstep-cache"
LOCKFILES = (
    "*.lock",  # uv, poetry, Pipfile, yarn, Cargo, Gemfile, composer, requirements*.lock…
    "requirements*.txt",
    "package-lock.json",
    "pnpm-lock.yaml",
    "go.sum",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheKey:
    """A cache key with the inputs that made it, so a user can see why a cache missed."""

    value: str  # 64 hex digits
    inputs: tuple[tuple[str, str], ...]  # (what, its digest or text), in hashing order

    @property
    def short(self) -> str:
        return self.value[:16]

    @property
    def layer_tag(self) -> str:
        return f"{LAYER_REPOSITORY}:{self.value}"

    def remote(self, repository: str) -> str:
        return f"{repository}:{self.value}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def key_files(workspace: Path, patterns: Iterable[str], *, auto: bool) -> list[str]:
    """The files that key a cache, relative to the workspace and sorted.

    A pattern that matches nothing is an error: a typo must not silently make a cache
    that ignores the lockfile it was meant to follow. The loader reports it first, at
    its place in the file; this catches a file removed since.
    """
    found: set[str] = set()
    for pattern in LOCKFILES if auto else patterns:
        matches = workspace_files(workspace, pattern)
        if not matches and not auto:
            raise UsageError(f"install.keys: no file in {workspace} matches {pattern!r}")
        found.update(p.relative_to(workspace).as_posix() for p in matches)
    return sorted(found)


def _files_inputs(workspace: Path, files: Iterable[str]) -> list[tuple[str, str]]:
    return [(f"file:{name}", _sha256((workspace / name).read_bytes())) for name in files]


def install_key(
    *,
    image: str,
    install: Install,
    env: Mapping[str, str],
    workdir: str,
    workspace: Path,
) -> CacheKey:
    """The key of a job's install layer: image, commands, env, workdir and key files."""
    files = key_files(workspace, install.keys, auto=install.auto_keys)
    inputs = [
        ("format", FORMAT),
        ("image", image),
        ("run", _sha256(install.run.encode())),
        ("env", _sha256(json.dumps(sorted(env.items())).encode())),
        ("workdir", workdir),
        *_files_inputs(workspace, files),
    ]
    if install.outputs:  # absent otherwise, so the keys of installs without outputs stay
        inputs.append(("outputs", json.dumps(list(install.outputs))))
    return _key(inputs)


def volume_key(install: Install | None, volume: CacheVolume, workspace: Path) -> CacheKey:
    """A download-cache volume follows its own keys, else the install's, else auto."""
    if volume.keys is not None:
        files = key_files(workspace, volume.keys, auto=False)
    elif install is not None:
        files = key_files(workspace, install.keys, auto=install.auto_keys)
    else:
        files = key_files(workspace, (), auto=True)
    inputs = [("format", FORMAT), ("path", volume.path), *_files_inputs(workspace, files)]
    return _key(inputs)


def _key(inputs: list[tuple[str, str]]) -> CacheKey:
    canonical = "\n".join(f"{name}={value}" for name, value in inputs)
    return CacheKey(value=_sha256(canonical.encode()), inputs=tuple(inputs))


def volume_name(key: CacheKey) -> str:
    return f"dockstep-cache-{key.short}"
