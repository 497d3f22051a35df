"""What a job needs before its steps: download-cache volumes and its install's cache key."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from runner.cache import keys
from runner.cache.keys import CacheKey
from runner.cache.layers import CacheOutcome, LayerCache
from runner.engine.api import ContainerEngine, Mount
from runner.engine.labels import CACHE_JOB, CACHE_KEY, CACHE_KIND, CACHE_PATH
from runner.errors import DockstepError
from runner.execute import containers, environment
from runner.execute import volumes as restore
from runner.execute.images import ResolvedImage
from runner.execute.outputs import Outputs
from runner.execute.settings import RunSettings
from runner.execute.slot import ContainerSlot
from runner.model.pipeline import CacheVolume, Install, Job, Pairs, Steps, pairs
from runner.model.results import CacheStatus
from runner.output import JobLog
from runner.progress import Phase, Stage

ROOT = containers.ROOT  # installs write system paths (/opt, /usr/local): they run as root


class InstallFailed(DockstepError):
    def __init__(self, job: str, what: str, *, code: int | None = None) -> None:
        super().__init__(f"job {job!r}: install {what}; no cache layer was stored")
        self.code = code  # the install command's exit code, when it ran and failed


class Installer:
    def __init__(self, engine: ContainerEngine, settings: RunSettings, layers: LayerCache) -> None:
        self._engine = engine
        self._settings = settings
        self._layers = layers
        self.outputs = Outputs(engine, settings)

    def cancel(self) -> None:
        """End waits for another run's install of the same layer."""
        self._layers.cancel()

    def install(
        self,
        job: Job,
        steps: Steps,
        install: Install,
        image: ResolvedImage,
        *,
        volumes: tuple[Mount, ...],
        slot: ContainerSlot,
        log: JobLog,
    ) -> CacheOutcome:
        """The job's install layer: found by its key, or installed and committed now."""
        key = self.key(job, steps, install, image)
        log.phase(Phase(stage=Stage.INSTALL, detail="cache lookup"))
        if install.auto_keys and not any(n.startswith("file:") for n, _ in key.inputs):
            log.line(
                "warning: install keys: auto found no lockfile at the workspace root, so "
                "the cache follows only the image and the commands; list the files the "
                "install reads in install.keys"
            )
        found = self._layers.lookup(key, steps.cache.registry)
        if found:
            log.line(f"cache {found.status.value}: {key.short}; install skipped")
            log.phase(Phase(stage=Stage.INSTALL, detail=f"cache {found.status.value}"))
            return found
        log.phase(Phase(stage=Stage.INSTALL, detail="waiting for the same install"))
        with self._layers.exclusive(key, slot.stopped) as ours:
            if not ours:
                raise InstallFailed(job.name, "was stopped while another run installed it")
            found = self._layers.lookup(key, None)  # a parallel run may have just stored it
            if found:
                who = "another job of this run" if self._layers.made_here(key) else "another run"
                log.line(f"cache {found.status.value}: {key.short}; {who} installed it")
                return found
            log.line(f"cache miss: {key.short}; installing")
            log.phase(Phase(stage=Stage.INSTALL, detail="cache miss, installing"))
            layer = self._install_and_commit(
                job, steps, install, image, volumes=volumes, key=key, slot=slot, log=log
            )
        status = CacheStatus.MISS if self._layers.enabled else CacheStatus.FORCED
        return CacheOutcome(status=status, key=key, image=layer)

    def _install_and_commit(
        self,
        job: Job,
        steps: Steps,
        install: Install,
        image: ResolvedImage,
        *,
        volumes: tuple[Mount, ...],
        key: CacheKey,
        slot: ContainerSlot,
        log: JobLog,
    ) -> str:
        writable = self.outputs.for_install(job, steps)
        spec = containers.install_spec(self._settings, job, steps, image.id, volumes + writable)
        if not slot.create(spec) or not slot.start():
            raise InstallFailed(job.name, "stopped before it started")
        assert slot.container is not None  # created just above
        code = self._engine.exec(
            slot.container,
            containers.shell(install.run),
            env=environment.install_env(self._with(image), job, install),
            workdir=steps.workdir,
            user=ROOT,
            output=log.write,
        )
        log.flush()
        if slot.stopped_because:
            raise InstallFailed(job.name, f"was stopped ({slot.stopped_because.value})")
        if code != 0:
            raise InstallFailed(
                job.name,
                f"exited {code} (it runs with the workspace read-only: it must write outside "
                "it, or in the paths listed in install.outputs)",
                code=code,
            )
        staging = None
        if install.outputs:
            staging = self._capture(job, steps, key, base=image.id, slot=slot, log=log)
        layer, warning = self._layers.store(
            key,
            container=slot.container,
            base=image.id,
            job=job.name,
            registry=steps.cache.registry,
        )
        slot.discard()
        if staging:
            self._engine.remove_image(staging)  # only untags it: the layer is built on it
            self.outputs.drop_install_volumes(job, steps)
        if warning:
            log.line(f"warning: {warning}")
        return layer

    def _capture(
        self, job: Job, steps: Steps, key: CacheKey, *, base: str, slot: ContainerSlot, log: JobLog
    ) -> str:
        """Commit the install, then move its outputs into a container of that commit."""
        assert slot.container is not None
        staging = f"{key.layer_tag}-{self._settings.run_id}-staging"
        self._engine.commit(slot.container, tag=staging, labels=(), like=base)
        slot.discard()
        self.outputs.capture(job, steps, staging, slot, log)
        return staging

    def key(self, job: Job, steps: Steps, install: Install, image: ResolvedImage) -> CacheKey:
        return keys.install_key(
            # a floating tag (--allow-unpinned) can move: key by what it points at now
            image=image.pinned if steps.image.pinned else image.id,
            install=install,
            env=environment.install_declared(self._with(image), job, install),
            workdir=steps.workdir,
            workspace=self._settings.workspace,
        )

    def _with(self, image: ResolvedImage) -> RunSettings:
        """The settings as the job sees them: with its image's own env."""
        return replace(self._settings, image_env=image.env)

    def volumes(
        self,
        job: Job,
        steps: Steps,
        image: ResolvedImage,
        note: Callable[[str], None] = lambda _line: None,
    ) -> tuple[Mount, ...]:
        """The job's download-cache volumes, created (and made writable) when new."""
        mounts = []
        for keyed in keyed_volumes(job, steps, self._settings.workspace):
            if self._engine.ensure_volume(keyed.name, keyed.labels):
                self._restore(job, keyed.volume, keyed.name, image.id, note)
            self._layers.usage.touch(keyed.key.value)
            mounts.append(Mount(source=keyed.name, target=keyed.volume.path))
        return tuple(mounts)

    def node_volumes(
        self, job: Job, steps: Steps, note: Callable[[str], None]
    ) -> tuple[KeyedVolume, ...]:
        """The job's download-cache volumes for a swarm task, which the node running it
        creates: a new key's volume starts empty there, as the volume to restore it from
        may be on another node."""
        found = keyed_volumes(job, steps, self._settings.workspace)
        usage = self._layers.usage
        unrestored = [
            keyed.volume.path
            for keyed in found
            if keyed.volume.restore
            and self._layers.enabled
            and usage.last_used(keyed.key.value) is None  # new, as far as this machine knows
        ]
        if unrestored:
            note(
                f"cache volume {', '.join(unrestored)}: new key; on a swarm a new volume "
                "starts empty on the node that runs the job (restore: copies on one engine only)"
            )
        for keyed in found:
            usage.touch(keyed.key.value)
        return found

    def _restore(
        self, job: Job, volume: CacheVolume, name: str, image: str, note: Callable[[str], None]
    ) -> None:
        """A new key's volume starts as a copy of the job's newest one at the same path."""
        if not volume.restore or not self._layers.enabled:
            return
        usage = self._layers.usage
        found = restore.newest_sibling(
            self._engine, usage, job=job.name, path=volume.path, besides=name
        )
        if found is None:
            return
        restore.copy(self._engine, self._settings, image=image, source=found, to=name)
        note(f"cache volume {volume.path}: new key, restored from {found}")

    def hand_over(self, container: str, volumes: tuple[Mount, ...]) -> None:
        """Give the cache volumes to the user the steps run as, in their created container.

        Docker copies the owner of the image's directory at a mount point onto an empty
        volume at each mount, and an install layer holds that directory root-owned; so
        every job container gets its volumes handed over after it is created and before
        it starts. The engine's archive upload does it (a directory entry carrying the
        user's ids), so the image needs no `chown`.
        """
        if not self._settings.user:
            return
        for mount in volumes:
            self._engine.copy_in(
                container, "/", owned_directories((mount.target,), self._settings.user)
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyedVolume:
    """A download-cache volume as every backend names and labels it."""

    volume: CacheVolume
    key: CacheKey
    name: str
    labels: Pairs


def keyed_volumes(job: Job, steps: Steps, workspace: Path) -> tuple[KeyedVolume, ...]:
    """The job's cache volumes, each keyed by its key files as they are now."""
    found = []
    for volume in steps.cache.volumes:
        key = keys.volume_key(steps.install, volume, workspace)
        labels = {
            CACHE_KIND: "volume",
            CACHE_KEY: key.value,
            CACHE_JOB: job.name,
            CACHE_PATH: volume.path,
        }
        found.append(
            KeyedVolume(volume=volume, key=key, name=keys.volume_name(key), labels=pairs(labels))
        )
    return tuple(found)


def owned_directories(paths: Iterable[str], user: str) -> bytes:
    """A tar archive of one directory entry per path (absolute), owned by `user` (uid:gid).

    Unpacked by the engine (an archive upload, or a build's `ADD`), an entry takes the
    owner and mode of a directory that is already there too, keeping what it holds.
    """
    uid, _, gid = user.partition(":")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in paths:
            entry = tarfile.TarInfo(path.strip("/"))
            entry.type, entry.mode = tarfile.DIRTYPE, 0o755
            entry.uid, entry.gid = int(uid), int(gid or uid)
            archive.addfile(entry)
    return buffer.getvalue()
