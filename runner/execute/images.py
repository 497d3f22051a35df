"""Getting a job's pinned image onto the engine: pull by policy, or build by content hash."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.engine.api import BuildRequest, ContainerEngine, OutputSink
from runner.engine.labels import BUILD_CONTEXT
from runner.errors import EngineError, ImageUnavailable
from runner.execute import builds, environment
from runner.execute.settings import RunSettings
from runner.model.pipeline import BuildSpec, ImageRef, PullPolicy, Steps
from runner.paths import IGNORED

BUILD_REPOSITORY = "dockstep-build"
HASH_LENGTH = 20


def context_hash(context: Path, spec: BuildSpec, args: Mapping[str, str]) -> str:
    """A digest of everything that decides the built image: files, modes, args, target."""
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file() and not _ours(context, p)):
        relative = path.relative_to(context).as_posix()
        digest.update(f"{relative}\0{os.stat(path).st_mode & 0o777:o}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(f"dockerfile={spec.dockerfile}\0target={spec.target or ''}\0".encode())
    for key in sorted(args):
        digest.update(f"arg:{key}={args[key]}\0".encode())
    return digest.hexdigest()[:HASH_LENGTH]


def _ours(root: Path, path: Path) -> bool:
    """dockstep's own state (logs, reports) and git's never decide an image or a key."""
    return path.relative_to(root).parts[0] in IGNORED


def build_tag(spec: BuildSpec, content_hash: str) -> str:
    name = re.sub(r"[^a-z0-9._-]+", "-", spec.context.lower()).strip("-._") or "context"
    return f"{BUILD_REPOSITORY}/{name}:{content_hash}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedImage:
    id: str  # what the engine runs
    pinned: str  # the portable, content-addressed name: a digest reference or build tag


class ImageResolver:
    """Resolves each job's image once per run, even when parallel jobs share it."""

    def __init__(self, engine: ContainerEngine, settings: RunSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._locks: dict[str, threading.Lock] = {}
        self._resolved: dict[str, ResolvedImage] = {}
        self._guard = threading.Lock()

    def resolve(self, job: str, steps: Steps, log: OutputSink) -> ResolvedImage:
        """The image to run the job in."""
        key = f"{steps.image}|{steps.pull.value}"
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._resolved:
                self._resolved[key] = self._fetch(job, steps, log)
            return self._resolved[key]

    def _fetch(self, job: str, steps: Steps, log: OutputSink) -> ResolvedImage:
        image = steps.image
        if image.build is not None:
            return self._build(job, image.build, log)
        reference = image.reference or ""
        local_id = reference.startswith("sha256:")  # ids are never pulled, whatever the policy
        always = steps.pull is PullPolicy.ALWAYS and not local_id
        present = None if always else self._engine.image_id(reference)
        if present:
            return ResolvedImage(id=present, pinned=reference)
        if steps.pull is PullPolicy.NEVER:
            raise ImageUnavailable(job, reference, "not present locally and pull is 'never'")
        if local_id:
            raise ImageUnavailable(
                job,
                reference,
                "a local image id is not on this engine "
                "and cannot be pulled; pin name@sha256:<digest> to pull",
            )
        log(f"pulling {reference}\n".encode())
        try:
            return ResolvedImage(id=self._engine.pull(reference), pinned=reference)
        except EngineError as error:
            raise ImageUnavailable(job, reference, f"pull failed: {error}") from error

    def pinned(self, image: ImageRef) -> str:
        """The portable image name, worked out without the engine."""
        if image.build is None:
            return image.reference or ""
        return self._build_request(image.build).tag

    def _build_request(self, spec: BuildSpec) -> BuildRequest:
        context = (self._settings.workspace / spec.context).resolve()
        args = dict(environment.build_args(self._settings, spec.args))
        hashed = {**args, **builds.tag_inputs(self._settings)}  # what dockstep adds, too
        request = BuildRequest(
            context=str(context),
            dockerfile=spec.dockerfile,
            tag=build_tag(spec, context_hash(context, spec, hashed)),
            args=tuple(sorted(args.items())),
            target=spec.target,
            labels=((BUILD_CONTEXT, spec.context),),
        )
        return builds.prepare(request, self._settings)

    def _build(self, job: str, spec: BuildSpec, log: OutputSink) -> ResolvedImage:
        request = self._build_request(spec)
        tag = request.tag
        present = self._engine.image_id(tag)
        if present:
            return ResolvedImage(id=present, pinned=tag)
        log(f"building {spec.context} as {tag}\n".encode())
        tail = builds.BuildTail(log)
        try:
            return ResolvedImage(id=self._engine.build(request, tail), pinned=tag)
        except EngineError as error:
            raise ImageUnavailable(
                job, f"build:{spec.context}", tail.explain(str(error))
            ) from error
