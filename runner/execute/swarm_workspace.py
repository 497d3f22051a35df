"""A job's workspace as an image a task on any node can pull: `FROM` the job's image.

A task on another node cannot bind-mount this machine's folder, so the workspace travels as
a layer: the tree git would commit now (tracked files with their uncommitted changes, and
untracked ones .gitignore does not exclude) is written with a temporary index, never the
user's, by `git write-tree`, then exported with `git archive`. The image is tagged by a
hash of the base image, that tree, the workdir, the user, the cache volumes' paths and the
artifacts handed over, and pushed to the run's registry; when the registry already has the
tag (one HEAD), nothing is built or pushed. Tasks get it as `REPO@sha256:…`, never by tag.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from runner.engine.api import BuildRequest, ContainerEngine
from runner.errors import UsageError
from runner.execute import artifacts, unpack
from runner.execute.install import owned_directories
from runner.execute.settings import RunSettings
from runner.execute.swarm_images import RegistryImages
from runner.model.pipeline import Steps
from runner.model.results import Artifacts, JobResult
from runner.output import JobLog
from runner.paths import WORKSPACE_STATE

FORMAT = "1"  # bump when the image's recipe changes
REPOSITORY = "workspace"
CACHE_DIRS = "cache-dirs.tar"  # ADD unpacks it: one directory entry per cache volume


class NotShippable(UsageError):
    hint = "The swarm backend ships the workspace from git: run dockstep inside a git repository."


def _git(workspace: Path, *args: str, env: Mapping[str, str] | None = None) -> bytes:
    done = subprocess.run(
        ["git", *args], cwd=workspace, env=env, capture_output=True, check=False, timeout=300
    )
    if done.returncode != 0:
        raise NotShippable(f"git {args[0]} in {workspace}: {done.stderr.decode().strip()}")
    return done.stdout


def tree(workspace: Path) -> str:
    """The id of the tree git would commit now, written through a copy of the index."""
    index = Path(_git(workspace, "rev-parse", "--git-path", "index").decode().strip())
    with tempfile.TemporaryDirectory(prefix="dockstep-index-") as scratch:
        temporary = Path(scratch) / "index"
        if (workspace / index).is_file():
            # copy2 keeps the mtime git judges its stat cache by (racy-git): a file changed
            # in the same second as the index, at the same size, is still rehashed
            shutil.copy2(workspace / index, temporary)
        env = {**os.environ, "GIT_INDEX_FILE": str(temporary)}
        _git(workspace, "add", "--all", "--", ".", f":(exclude){WORKSPACE_STATE}", env=env)
        return _git(workspace, "write-tree", env=env).decode().strip()


class WorkspaceImages:
    """Builds (or finds) each job's workspace image; one build per tag at a time."""

    def __init__(self, engine: ContainerEngine, settings: RunSettings, repository: str) -> None:
        self._engine = engine
        self._settings = settings
        self._images = RegistryImages(engine, f"{repository}/{REPOSITORY}")
        self._git = threading.Lock()  # one temporary index at a time

    def image(self, action: Steps, base: str, inputs: Mapping[str, JobResult], log: JobLog) -> str:
        """`REPO@sha256:…` of the workspace image for a job on `base` with these inputs."""
        with self._git:
            tree_id = tree(self._settings.workspace)
        given = artifacts.handed(inputs, self._settings.upstream_artifacts)
        handed = _handed(given, log)
        digest, reused = self._images.digest(
            self._hash(action, base, tree_id, given),
            lambda tag: self._build(tag, action, base, tree_id, handed),
        )
        if reused:
            log.line(f"workspace image unchanged (tree {tree_id[:12]}): reused")
        else:
            log.line(f"workspace image (tree {tree_id[:12]}) pushed as {digest[:19]}")
        return f"{self._images.repository}@{digest}"

    def _hash(
        self, action: Steps, base: str, tree_id: str, given: list[tuple[str, Artifacts]]
    ) -> str:
        parts = [FORMAT, base, tree_id, action.workdir, self._settings.user or ""]
        parts += [f"cache={path}" for path in _cache_paths(action)]
        for producer, recorded in given:
            parts += [producer, *(f"{n}={d}" for n, d in recorded.files)]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]

    def _build(
        self, tag: str, action: Steps, base: str, tree_id: str, handed: dict[str, Path]
    ) -> None:
        with tempfile.TemporaryDirectory(prefix="dockstep-workspace-") as scratch:
            context = Path(scratch)
            _export(self._settings.workspace, tree_id, context / "ws")
            lines = [f"FROM {base}", f"COPY{self._chown()} ws/ {action.workdir}/"]
            for producer, folder in sorted(handed.items()):
                shutil.copytree(folder, context / "artifacts" / producer)
                target = artifacts.mount_point(producer)
                lines.append(f"COPY artifacts/{producer}/ {target}/")
            lines += self._cache_dirs(action, context)
            (context / "Dockerfile").write_text("\n".join(lines) + "\n")
            request = BuildRequest(context=str(context), dockerfile="Dockerfile", tag=tag)
            self._engine.build(request, lambda _chunk: None)

    def _cache_dirs(self, action: Steps, context: Path) -> list[str]:
        """For a non-root user, each cache volume's path as a directory of theirs (made
        or taken over): a node's new, empty volume mounted there takes that owner
        (Docker's copy-up), as the local backend's volumes are handed over."""
        paths = _cache_paths(action)
        if not self._settings.user or not paths:
            return []
        (context / CACHE_DIRS).write_bytes(owned_directories(paths, self._settings.user))
        return [f"ADD {CACHE_DIRS} /"]

    def _chown(self) -> str:
        return f" --chown={self._settings.user}" if self._settings.user else ""


def _cache_paths(action: Steps) -> tuple[str, ...]:
    return tuple(volume.path for volume in action.cache.volumes)


def _export(workspace: Path, tree_id: str, target: Path) -> None:
    target.mkdir(parents=True)
    archive = _git(workspace, "archive", "--format=tar", tree_id)
    with tempfile.TemporaryFile() as buffer:
        buffer.write(archive)
        buffer.seek(0)
        with tarfile.open(fileobj=buffer) as tar:
            unpack.extract(tar, target)


def _handed(given: list[tuple[str, Artifacts]], log: JobLog) -> dict[str, Path]:
    """The artifacts of the jobs this one waits for (and of the upstream pipelines),
    checked against their recorded digests."""
    handed = {}
    for producer, recorded in given:
        handed[producer] = artifacts.verified(producer, recorded)
        log.line(
            f"artifacts of {producer} (checksums verified) at {artifacts.mount_point(producer)}"
        )
    return handed
