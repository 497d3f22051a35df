"""Getting a job's pinned image onto the engine: pull by policy, or build by content hash."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.engine.api import BuildRequest, Images, OutputSink
from runner.engine.labels import BUILD_CONTEXT
from runner.errors import EngineError, ImageUnavailable
from runner.execute import builds, environment
from runner.execute.settings import RunSettings
from runner.expr.dockerfile import base_images
from runner.model.pipeline import BuildSpec, ImageRef, Job, Pairs, PullPolicy, Steps
from runner.paths import IGNORED

BUILD_REPOSITORY = "dockstep-build"
HASH_LENGTH = 20


def context_hash(
    context: Path, spec: BuildSpec, args: Mapping[str, str], bases: Mapping[str, str] | None = None
) -> str:
    """A digest of everything that decides the built image: files, modes, args, target,
    and the image id each floating `FROM` names now (`bases`)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file() and not _ours(context, p)):
        relative = path.relative_to(context).as_posix()
        digest.update(f"{relative}\0{os.stat(path).st_mode & 0o777:o}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(f"dockerfile={spec.dockerfile}\0target={spec.target or ''}\0".encode())
    for key in sorted(args):
        digest.update(f"arg:{key}={args[key]}\0".encode())
    for reference, image in sorted((bases or {}).items()):
        digest.update(f"from:{reference}={image}\0".encode())
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
    env: Pairs = ()  # the image's own env, from its config: the lowest layer of `${}`


class ImageResolver:
    """Resolves each job's image once per run, even when parallel jobs share it."""

    def __init__(self, engine: Images, settings: RunSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._locks: dict[str, threading.Lock] = {}
        self._resolved: dict[str, ResolvedImage] = {}
        self._guard = threading.Lock()

    def resolve(self, job: Job, steps: Steps, log: OutputSink) -> ResolvedImage:
        """The image to run the job in, with its own env."""
        build = steps.image.build
        key = self._build_request(build, job).tag if build else f"{steps.image}|{steps.pull}"
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._resolved:
                found = self._fetch(job, steps, log)
                env = self._engine.image_env(found.id)
                self._resolved[key] = ResolvedImage(id=found.id, pinned=found.pinned, env=env)
            return self._resolved[key]

    def _fetch(self, job: Job, steps: Steps, log: OutputSink) -> ResolvedImage:
        image = steps.image
        if image.build is not None:
            return self._build(job, image.build, log)
        return self._pull(job.name, steps, log)

    def _pull(self, job: str, steps: Steps, log: OutputSink) -> ResolvedImage:
        reference = steps.image.reference or ""
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

    def pinned(self, image: ImageRef, job: Job | None = None) -> str:
        """The portable image name; a build's asks the engine what its floating FROMs name."""
        if image.build is None:
            return image.reference or ""
        return self._build_request(image.build, job).tag

    def _build_request(self, spec: BuildSpec, job: Job | None) -> BuildRequest:
        """`job`: a matrix cell's values reach its build args."""
        context = (self._settings.workspace / spec.context).resolve()
        args = dict(environment.build_args(self._settings, spec.args, job))
        bases = self._floating_bases(context / spec.dockerfile, args)
        hashed = {**args, **builds.tag_inputs(self._settings)}  # what dockstep adds, too
        request = BuildRequest(
            context=str(context),
            dockerfile=spec.dockerfile,
            tag=build_tag(spec, context_hash(context, spec, hashed, bases)),
            args=tuple(sorted(args.items())),
            target=spec.target,
            labels=((BUILD_CONTEXT, spec.context),),
        )
        return builds.prepare(request, self._settings)

    def _floating_bases(self, dockerfile: Path, args: Mapping[str, str]) -> dict[str, str]:
        """Each `FROM` not pinned by digest, with the image id it names on this engine now:
        a base rebuilt under the same tag makes a new content tag, so a new build."""
        try:
            text = dockerfile.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return {}  # the build reports it
        return {
            base.reference: self._engine.image_id(base.reference) or "absent"
            for base in base_images(text, args)
            if base.reference
            and "@sha256:" not in base.reference
            and not base.reference.startswith("sha256:")
        }

    def _build(self, job: Job, spec: BuildSpec, log: OutputSink) -> ResolvedImage:
        request = self._build_request(spec, job)
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
                job.name, f"build:{spec.context}", tail.explain(str(error))
            ) from error
