"""Which cache entries `dockstep cache prune` removes. Pure, from a table."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cache.layers import Usage
from runner.commands.cache import CacheEntry, doomed, entries, human_age, human_size
from runner.engine.labels import CACHE_JOB, CACHE_KEY, CACHE_KIND
from tests.fake_engine import FakeEngine

DAY = 86400.0
NOW = 100 * DAY


def entry(job: str, days_ago: float, key: str) -> CacheEntry:
    return CacheEntry(
        kind="layer",
        reference=key,
        key=key,
        job=job,
        size=1,
        created=0.0,
        last_used=NOW - days_ago * DAY,
    )


ENTRIES = [
    entry("test", 1, "t1"),
    entry("test", 10, "t10"),
    entry("test", 20, "t20"),
    entry("lint", 30, "l30"),
]


@pytest.mark.parametrize(
    ("older_than", "keep", "removed"),
    [
        (7 * DAY, None, {"t10", "t20", "l30"}),
        (None, 1, {"t10", "t20"}),
        (7 * DAY, 2, {"t20"}),
        (None, None, {"t1", "t10", "t20", "l30"}),
        (40 * DAY, None, set()),
    ],
)
def test_prune_removes_stale_entries_beyond_the_kept_ones(
    older_than: float | None, keep: int | None, removed: set[str]
) -> None:
    chosen = doomed(ENTRIES, older_than=older_than, keep=keep, now=NOW)
    assert {e.key for e in chosen} == removed


def test_an_entry_never_used_counts_from_its_creation() -> None:
    fresh = CacheEntry(
        kind="volume", reference="v", key="v", job="j", size=0, created=NOW - 60, last_used=None
    )
    assert doomed([fresh], older_than=DAY, keep=None, now=NOW) == []


def test_sizes_and_ages_read_like_a_person_writes_them() -> None:
    assert [human_size(n) for n in (512, 2048, 5 * 1024**2)] == ["512 B", "2.0 KB", "5.0 MB"]
    assert human_age(NOW - 3 * DAY, NOW) == "3d ago"
    assert human_age(None, NOW) == "-"


def test_keep_counts_a_jobs_layers_and_volumes_apart() -> None:
    layer = CacheEntry(
        kind="layer", reference="l", key="l", job="j", size=1, created=0.0, last_used=NOW - 60
    )
    volume = CacheEntry(
        kind="volume", reference="v", key="v", job="j", size=1, created=0.0, last_used=NOW - 60
    )
    assert doomed([layer, volume], older_than=1.0, keep=1, now=NOW) == []


def test_a_layer_is_listed_with_its_own_size_not_its_base_images(tmp_path: Path) -> None:
    engine = FakeEngine(present={"base": "sha256:b"}, own_sizes={"sha256:1": 5_000})
    engine.present["dockstep-cache:k"] = "sha256:1"
    engine.image_labels["dockstep-cache:k"] = {CACHE_KIND: "layer", CACHE_KEY: "k", CACHE_JOB: "t"}
    found = entries(engine, Usage(tmp_path))
    assert [(e.kind, e.key, e.job, e.size) for e in found] == [("layer", "k", "t", 5_000)]
