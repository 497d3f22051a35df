"""Restore keys for download-cache volumes: a new key starts from the newest sibling.

A cache volume is keyed by the lockfiles, so a one-line lockfile edit makes a new volume.
Rather than start it empty, dockstep copies into it the newest volume of the same job and
path (the one used last on this machine), like a restore key of GitHub's actions/cache.
It copies rather than shares: the old volume stays exactly as its key says (a branch that
still has the old lockfile hits it), no two keys ever write one volume, and `cache prune`
still ages each key on its own.
"""

from __future__ import annotations

from runner.cache.layers import Usage
from runner.engine.api import ContainerEngine, ContainerSpec, Mount, Resource
from runner.engine.labels import CACHE_JOB, CACHE_KEY, CACHE_KIND, CACHE_PATH
from runner.errors import DockstepError
from runner.execute.settings import RunSettings

FROM, TO = "/dockstep-restore-from", "/dockstep-restore-to"
ROOT = "0:0"


def newest_sibling(
    engine: ContainerEngine, usage: Usage, *, job: str, path: str, besides: str
) -> str | None:
    """The newest other cache volume of this job at this path; None when there is none."""
    found = [
        volume
        for volume in engine.labelled(f"{CACHE_KIND}=volume")
        if volume.kind == "volume"
        and volume.name != besides
        and volume.labels.get(CACHE_JOB) == job
        and volume.labels.get(CACHE_PATH) == path
    ]
    if not found:
        return None
    return max(found, key=lambda volume: _last_used(usage, volume)).name


def _last_used(usage: Usage, volume: Resource) -> float:
    return usage.last_used(volume.labels.get(CACHE_KEY, "")) or volume.created


def copy(
    engine: ContainerEngine, settings: RunSettings, *, image: str, source: str, to: str
) -> None:
    """Copy one volume's files into another, in a container of the job's image."""
    spec = ContainerSpec(
        image=image,
        name=f"dockstep-{settings.run_id}-restore-{to}",
        command=("sh", "-c", f"cp -a {FROM}/. {TO}/"),
        labels=settings.labels,
        network=settings.network,
        workdir="/",
        mounts=(Mount(source=source, target=FROM, read_only=True), Mount(source=to, target=TO)),
        user=ROOT,
    )
    container = engine.create(spec)
    try:
        stream = engine.attach(container)
        engine.start(container)
        output = b"".join(stream)
        if engine.wait(container) != 0:
            raise DockstepError(f"cannot restore volume {to} from {source}: {output.decode()}")
    finally:
        engine.remove(container)
