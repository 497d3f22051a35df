"""Install outputs: the workspace paths an install writes (`.venv`, `node_modules`).

The install sees the workspace read-only but each output as a writable volume at its own
path. A commit never holds what is under a mount, so once the install has passed, a second
container (the install's commit, with no workspace over it) copies each output volume to
that same path in its own filesystem, and that is committed as the cached layer.

The steps then get a fresh named volume at each output path. Docker fills a new volume
from what the image holds at its mount point, so each job starts from exactly the layer's
outputs, over whatever the host's workspace has there, and never writes them back to it:
nothing stale survives a lockfile change, and a host `.venv` is never touched.
"""

from __future__ import annotations

import contextlib
import posixpath
from pathlib import Path
from shlex import quote

from runner.engine.api import ContainerEngine, ContainerSpec, Mount, Resource
from runner.engine.labels import JOB
from runner.errors import DockstepError, EngineError
from runner.execute import containers
from runner.execute.settings import RunSettings
from runner.execute.slot import ContainerSlot
from runner.model.pipeline import Job, Steps, pairs
from runner.output import JobLog

STAGING = "/.dockstep-outputs"
ROOT = "0:0"


class OutputsFailed(DockstepError):
    pass


def targets(steps: Steps) -> tuple[str, ...]:
    """Where each output is in the container."""
    outputs = steps.install.outputs if steps.install else ()
    return tuple(posixpath.join(steps.workdir, output) for output in outputs)


class Outputs:
    def __init__(self, engine: ContainerEngine, settings: RunSettings) -> None:
        self._engine = engine
        self._settings = settings

    def for_install(self, job: Job, steps: Steps) -> tuple[Mount, ...]:
        """Writable volumes at the output paths, for the install (empty, of this run)."""
        self._mount_points(steps)
        return self._volumes(job, steps, "install")

    def for_steps(self, job: Job, steps: Steps) -> tuple[Mount, ...]:
        """Fresh volumes at the output paths, which the engine fills from the layer."""
        self._mount_points(steps)
        return self._volumes(job, steps, "steps")

    def capture(self, job: Job, steps: Steps, layer: str, slot: ContainerSlot, log: JobLog) -> None:
        """Copy the install's output volumes into a container of `layer` at the same
        paths; it stays in `slot`, to be committed. The install's volumes are then gone."""
        volumes = self._volumes(job, steps, "install", create=False)
        staged = [Mount(source=v.source, target=f"{STAGING}/{i}") for i, v in enumerate(volumes)]
        spec = ContainerSpec(
            image=layer,
            name=f"{containers.container_name(self._settings.run_id, job.name)}-outputs",
            command=containers.IDLE_COMMAND,
            labels=pairs({**dict(self._settings.labels), JOB: job.name}),
            network=self._settings.network,
            workdir="/",
            mounts=tuple(staged),
        )
        if not slot.create(spec) or not slot.start():
            raise OutputsFailed(f"job {job.name!r}: stopped before its install outputs were kept")
        assert slot.container is not None  # created just above
        chunks: list[bytes] = []
        code = self._engine.exec(
            slot.container,
            containers.shell(_copy_script(targets(steps))),
            env=(),
            workdir="/",
            user=ROOT,
            output=chunks.append,
        )
        if code != 0:
            said = b"".join(chunks).decode(errors="replace").strip()
            raise OutputsFailed(f"job {job.name!r}: copying the install outputs failed: {said}")
        log.line(f"install outputs kept in the layer: {', '.join(targets(steps))}")

    def hand_over(self, steps: Steps, slot: ContainerSlot) -> None:
        """Steps run as the invoking user: give them the outputs the layer holds as root."""
        user, paths = self._settings.user, targets(steps)
        if not user or not paths or slot.container is None:
            return
        command = ("chown", "-R", user, *paths)
        self._engine.exec(
            slot.container, command, env=(), workdir="/", user=ROOT, output=lambda _chunk: None
        )

    def drop_install_volumes(self, job: Job, steps: Steps) -> None:
        for volume in self._volumes(job, steps, "install", create=False):
            resource = Resource(kind="volume", id=volume.source, name=volume.source, labels={})
            # still in use: the run's cleanup removes it (it has the run's labels)
            with contextlib.suppress(EngineError):
                self._engine.remove_resource(resource)

    def _volumes(
        self, job: Job, steps: Steps, use: str, *, create: bool = True
    ) -> tuple[Mount, ...]:
        prefix = containers.container_name(self._settings.run_id, job.name)
        labels = pairs({**dict(self._settings.labels), JOB: job.name})
        mounts = []
        for index, target in enumerate(targets(steps)):
            name = f"{prefix}-{use}-output-{index}"
            if create:
                self._engine.ensure_volume(name, labels)
            mounts.append(Mount(source=name, target=target))
        return tuple(mounts)

    def _mount_points(self, steps: Steps) -> None:
        """Make each output's mount point in the host workspace as this user: the engine
        cannot make it inside a read-only workspace, and would make it as root."""
        outputs = steps.install.outputs if steps.install else ()
        for output in outputs:
            path = Path(self._settings.workspace, output)
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                raise OutputsFailed(f"install output {output}: not a directory in the workspace")
            path.mkdir(parents=True, exist_ok=True)


def _copy_script(paths: tuple[str, ...]) -> str:
    lines = [
        f"mkdir -p {quote(target)} && cp -a {STAGING}/{index}/. {quote(target)}/"
        for index, target in enumerate(paths)
    ]
    return "\n".join(lines)
