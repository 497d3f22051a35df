"""`dockstep cache ls | prune | key`: see, trim and explain the dependency cache."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import click
from tabulate import tabulate

from runner import session
from runner.cache.layers import Usage
from runner.engine.api import CacheStore, Resource
from runner.engine.docker.engine import DockerEngine
from runner.engine.labels import CACHE_JOB, CACHE_KEY, CACHE_KIND
from runner.errors import EngineError
from runner.paths import state_dir


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheEntry:
    """One cache layer or download-cache volume on the engine."""

    kind: str  # layer | volume
    reference: str  # what to remove: an image id or a volume name
    tags: tuple[str, ...] = ()  # a layer's tags: local, and the registry's when shared
    key: str
    job: str
    size: int
    created: float
    last_used: float | None

    @property
    def freshness(self) -> float:
        return self.last_used or self.created


def entries(engine: CacheStore, usage: Usage) -> list[CacheEntry]:
    """Every cache layer and volume; a layer's size is its own, not its base image's too."""
    layers = engine.images(f"{CACHE_KIND}=layer")
    own = engine.image_sizes() if layers else {}
    found = [
        CacheEntry(
            kind="layer",
            reference=i.id,
            tags=i.tags,
            key=i.labels.get(CACHE_KEY, "?"),
            job=i.labels.get(CACHE_JOB, "?"),
            size=own.get(i.id, i.size),
            created=i.created,
            last_used=usage.last_used(i.labels.get(CACHE_KEY, "")),
        )
        for i in layers
    ]
    volumes = [r for r in engine.labelled(f"{CACHE_KIND}=volume") if r.kind == "volume"]
    sizes = engine.volume_sizes() if volumes else {}
    found += [
        CacheEntry(
            kind="volume",
            reference=v.name,
            key=v.labels.get(CACHE_KEY, "?"),
            job=v.labels.get(CACHE_JOB, "?"),
            size=sizes.get(v.name, 0),
            created=v.created,
            last_used=usage.last_used(v.labels.get(CACHE_KEY, "")),
        )
        for v in volumes
    ]
    return sorted(found, key=lambda e: (e.job, -e.freshness))


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def human_age(seconds: float | None, now: float) -> str:
    if not seconds:
        return "-"
    elapsed = max(0.0, now - seconds)
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if elapsed >= length:
            return f"{elapsed / length:.0f}{unit} ago"
    return f"{elapsed:.0f}s ago"


def list_cache(environ: Mapping[str, str]) -> int:
    now = time.time()
    with closing(DockerEngine()) as engine:
        found = entries(engine, Usage(state_dir(environ)))
    rows = [
        [
            e.kind,
            e.key[:16],
            e.job,
            human_size(e.size),
            human_age(e.created, now),
            human_age(e.last_used, now),
        ]
        for e in found
    ]
    click.echo(tabulate(rows, headers=["kind", "key", "job", "size", "age", "last used"]))
    click.echo(f"{len(found)} entries, {human_size(sum(e.size for e in found))}")
    return 0


def doomed(
    found: list[CacheEntry], *, older_than: float | None, keep: int | None, now: float
) -> list[CacheEntry]:
    """What prune removes: entries unused for `older_than` seconds, beyond the `keep`
    most recently used of each job. Pure, so it is tested from a table."""
    ranked: dict[str, int] = {}
    chosen = []
    for entry in sorted(found, key=lambda e: -e.freshness):
        group = f"{entry.job}/{entry.kind}"  # a job's layers and volumes are kept apart
        rank = ranked.get(group, 0)
        ranked[group] = rank + 1
        stale = older_than is None or now - entry.freshness > older_than
        if stale and (keep is None or rank >= keep):
            chosen.append(entry)
    return chosen


def prune(
    environ: Mapping[str, str],
    *,
    older_than: float | None,
    keep: int | None,
    dry_run: bool = False,
) -> int:
    usage = Usage(state_dir(environ))
    with closing(DockerEngine()) as engine:
        chosen = doomed(entries(engine, usage), older_than=older_than, keep=keep, now=time.time())
        freed = 0
        for entry in chosen:
            if dry_run:
                click.echo(f"would remove {entry.kind} {entry.key[:16]} ({entry.job})")
                freed += entry.size
                continue
            try:
                _remove(engine, entry)
            except EngineError as error:
                click.echo(f"kept {entry.kind} {entry.key[:16]} ({entry.job}): {error}", err=True)
                continue
            usage.forget(entry.key)
            freed += entry.size
            click.echo(f"removed {entry.kind} {entry.key[:16]} ({entry.job})")
    click.echo(f"{'would free' if dry_run else 'freed'} {human_size(freed)}")
    return 0


def _remove(engine: CacheStore, entry: CacheEntry) -> None:
    if entry.kind == "layer":
        # by each tag: an image tagged for a registry too cannot be removed by id alone
        for reference in entry.tags or (entry.reference,):
            engine.remove_image(reference)
    else:
        volume = Resource(kind="volume", id=entry.reference, name=entry.reference, labels={})
        engine.remove_resource(volume)


def show_key(
    request: session.RunRequest, job_name: str, environ: Mapping[str, str], cwd: Path
) -> int:
    """The key a job's install has now, what made it, and whether a layer exists for it."""
    prepared = session.prepare(request, environ, cwd, secrets=False)
    with closing(DockerEngine()) as engine:
        key, present = session.cache_key(prepared, job_name, engine)
    click.echo(f"{key.value}  ({'cached' if present else 'not cached'} on this engine)")
    click.echo(tabulate(list(key.inputs), headers=["input", "value"]))
    return 0
