"""Cache layers shared through a registry: pushed after a miss, pulled on a local miss.

The registry is a real one (`docker-registry`, see registry.py) on 127.0.0.1; "another
machine" is this engine with its copy of the layer removed.
"""

from __future__ import annotations

import os

import docker.errors

from tests.integration.fixtures.cache import LAYER_REPOSITORY, CacheArea, DepsJob
from tests.integration.fixtures.workspace import Result
from tests.integration.registry import Registry, closed_port

REPOSITORY = "dockstep-cache"


def cache_of(deps: DepsJob, result: Result) -> tuple[str, str]:
    """A passed run's cache status and key."""
    assert result.code == 0, result
    job = deps.report(result)
    assert job["status"] == "passed", result
    return str(job["cache"]), str(job["cache_key"])


def forget_locally(cache_area: CacheArea, *references: str) -> None:
    """Empty this engine's cache of these layers, every tag of them."""
    for layer in cache_area.layers():
        cache_area.engine.images.remove(layer, force=True)
    for reference in references:
        try:
            cache_area.engine.images.get(reference)
        except docker.errors.ImageNotFound:
            continue
        raise AssertionError(f"{reference} is still on the engine")


def test_a_layer_pushed_after_a_miss_is_pulled_on_a_local_miss(
    deps: DepsJob, cache_area: CacheArea, registry: Registry
) -> None:
    remote = f"{registry.address}/{REPOSITORY}"
    deps.pipeline(remote=remote)
    first = deps.run()
    status, key = cache_of(deps, first)
    assert status == "miss"
    assert key in registry.tags(REPOSITORY), "the layer was not pushed"
    assert not [line for line in first.lines_of(deps.name) if "warning" in line], first

    forget_locally(cache_area, f"{LAYER_REPOSITORY}:{key}", f"{remote}:{key}")
    second = deps.run()
    assert cache_of(deps, second) == ("hit (registry)", key)
    assert second.row(deps.name)[5:7] == ["hit", "(registry)"], second.stdout
    assert f"cache hit (registry): {key[:16]}; install skipped" in second.lines_of(deps.name)
    assert deps.seen(second) == {"installs": "1", "deps": f"{cache_area.token} v1"}, second
    assert cache_area.tagged(key) == deps.report(second)["image"]

    third = deps.run()  # the pulled layer is now this engine's own
    assert cache_of(deps, third) == ("hit", key)
    assert deps.seen(third)["installs"] == "1", third


def test_a_registry_that_is_down_only_costs_a_warning(deps: DepsJob, cache_area: CacheArea) -> None:
    remote = f"127.0.0.1:{closed_port()}/{REPOSITORY}"
    deps.pipeline(remote=remote)
    first = deps.run()
    status, key = cache_of(deps, first)
    assert status == "miss"
    assert deps.seen(first)["installs"] == "1", first
    warnings = [line for line in first.lines_of(deps.name) if line.startswith("warning:")]
    assert len(warnings) == 1, first
    assert f"pushing the cache layer to {remote} failed" in warnings[0]
    assert cache_area.tagged(key) is not None, "the layer was not kept locally"

    second = deps.run()  # the local layer still serves
    assert cache_of(deps, second) == ("hit", key)
    assert deps.seen(second)["installs"] == "1", second


def test_prune_removes_a_layer_that_was_pushed(
    deps: DepsJob, cache_area: CacheArea, registry: Registry
) -> None:
    """A pushed layer has two tags (local and registry); prune must still remove it."""
    deps.pipeline(remote=f"{registry.address}/{REPOSITORY}")
    _, key = cache_of(deps, deps.run())
    assert key in registry.tags(REPOSITORY)
    for used in (cache_area.directory / "used").iterdir():
        os.utime(used, (1, 1))  # last used in 1970: older than any other cache entry

    pruned = deps.dockstep("cache", "prune", "--older-than", "10000d")
    assert pruned.code == 0, pruned
    assert f"removed layer {key[:16]} ({deps.name})" in pruned.stdout.splitlines(), pruned
    assert cache_area.layers() == [], pruned
