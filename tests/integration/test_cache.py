"""The dependency cache against the real engine: hits, misses, --no-cache, concurrent and
killed installs, failing installs, and the `cache key | ls | prune` commands.

Every test has its own cache token (in deps.lock and its job's name) and DOCKSTEP_CACHE_DIR,
so no test sees another's layers; the `cache_area` fixture removes its layers and volumes.
Whether an install ran is counted in a cache volume, which outlives the runs.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

import docker
import pytest

from runner.engine import labels
from tests.integration.fixtures.cache import (
    CACHE_JOB,
    CACHE_KEY,
    CACHE_KIND,
    INSTALL,
    TEST_TOKEN,
    CacheArea,
    DepsJob,
)
from tests.integration.fixtures.engine import OWNER_PID, RUN_LABEL, labelled
from tests.integration.fixtures.workspace import Result, Workspace

OWNER = f"{labels.PREFIX}.owner."
KEY = re.compile(r"[0-9a-f]{64}")
MARKER_WAIT = 30.0  # seconds for a slow install to reach its sleep
KILLABLE = (
    # the first install of a key sleeps (so it can be killed mid-install), the next one not
    "echo started >> /counter/started; "
    'if [ "$(wc -l < /counter/started)" -eq 1 ]; then sleep 30; fi; '
    "echo ran >> /counter/installs; mkdir -p /opt/deps; cat deps.lock > /opt/deps/x"
)


def passed(deps: DepsJob, result: Result, cache: str) -> str:
    """Check a run passed with this cache status everywhere a user sees it; its key."""
    assert result.code == 0, result
    job = deps.report(result)
    assert (job["status"], job["cache"]) == ("passed", cache), result
    assert KEY.fullmatch(job["cache_key"] or ""), job
    assert " ".join(result.row(deps.name)[5:]) == cache, result.stdout
    return str(job["cache_key"])


def cache_lines(deps: DepsJob, result: Result) -> list[str]:
    return [line for line in result.lines_of(deps.name) if line.startswith("cache ")]


# ---------------------------------------------------------------- hits and misses


def test_an_unchanged_rerun_hits_and_the_install_does_not_run_again(
    deps: DepsJob, cache_area: CacheArea
) -> None:
    first = deps.run()
    key = passed(deps, first, "miss")
    assert deps.seen(first) == {"installs": "1", "deps": f"{cache_area.token} v1"}
    assert cache_lines(deps, first) == [f"cache miss: {key[:16]}; installing"]

    second = deps.run()
    assert passed(deps, second, "hit") == key
    assert deps.seen(second) == {"installs": "1", "deps": f"{cache_area.token} v1"}, second
    assert cache_lines(deps, second) == [f"cache hit: {key[:16]}; install skipped"]
    # the steps ran on the stored layer, the one image tagged with the key
    assert cache_area.layers() == [cache_area.tagged(key)]
    assert deps.report(second)["image"] == cache_area.tagged(key)


def test_the_layer_and_the_volume_carry_the_cache_labels_and_no_run_labels(
    deps: DepsJob, cache_area: CacheArea
) -> None:
    """Layers and volumes outlive their run by design, so they must not claim one."""
    key = passed(deps, deps.run(), "miss")
    layer = cache_area.engine.images.get(f"dockstep-cache:{key}")
    assert {name: layer.labels.get(name) for name in (CACHE_KIND, CACHE_KEY, CACHE_JOB)} == {
        CACHE_KIND: "layer",
        CACHE_KEY: key,
        CACHE_JOB: deps.name,
    }
    (name, labels), *others = cache_area.volumes().items()
    assert others == []
    assert name.startswith("dockstep-cache-")
    assert labels[CACHE_KIND] == "volume"
    assert name == "dockstep-cache-" + labels[CACHE_KEY][:16]
    assert RUN_LABEL not in labels
    assert OWNER_PID not in labels
    # The engine copies the install container's labels into a commit and none can be
    # dropped, so dockstep empties them: no run id, host or pid reaches a shared registry.
    run_labels = {n: v for n, v in layer.labels.items() if n == RUN_LABEL or n.startswith(OWNER)}
    assert set(run_labels.values()) <= {""}, f"the cache layer names its run: {layer.labels}"


def test_a_lockfile_edit_misses_and_never_reuses_the_old_layer(
    deps: DepsJob, cache_area: CacheArea
) -> None:
    old = passed(deps, deps.run(), "miss")
    edited = deps.lock("v2")

    second = deps.run()
    new = passed(deps, second, "miss")
    assert new != old
    assert deps.seen(second) == {"installs": "2", "deps": edited}, second
    assert cache_lines(deps, second) == [f"cache miss: {new[:16]}; installing"]
    assert cache_area.tagged(new) not in (None, cache_area.tagged(old))

    deps.lock("v1")  # back to the first lockfile: its layer is found again by content
    third = deps.run()
    assert passed(deps, third, "hit") == old
    assert deps.seen(third) == {"installs": "2", "deps": f"{cache_area.token} v1"}, third


def test_an_image_change_misses(deps: DepsJob, cache_area: CacheArea) -> None:
    dockerfile = f"FROM {deps.workspace.image}\nLABEL {TEST_TOKEN}={cache_area.token}\n"
    deps.workspace.write("images/x/Dockerfile", dockerfile)
    deps.pipeline(image="{build: images/x}")
    first = deps.run()
    old = passed(deps, first, "miss")
    assert passed(deps, deps.run(), "hit") == old

    deps.workspace.write("images/x/Dockerfile", dockerfile + "LABEL changed=yes\n")
    third = deps.run()
    new = passed(deps, third, "miss")
    assert new != old
    assert deps.seen(third)["installs"] == "2", third
    layer = cache_area.engine.images.get(f"dockstep-cache:{new}")
    assert layer.labels.get("changed") == "yes", "the layer is not built on the new image"


def test_the_steps_keep_the_images_user_after_an_install(
    deps: DepsJob, cache_area: CacheArea
) -> None:
    """The install runs as root, but the steps run as the image's user, layer or not."""
    assert os.getuid() == 0, "dockstep keeps the image's user only when run as root"
    deps.workspace.write(
        "images/u/Dockerfile",
        f"FROM {deps.workspace.image}\nUSER 1234:1234\nLABEL {TEST_TOKEN}={cache_area.token}\n",
    )
    deps.workspace.pipeline(f"""\
        jobs:
          {cache_area.job("plain")}:
            image: {{build: images/u}}
            steps: ['echo "uid=$(id -u)"']
          {deps.name}:
            image: {{build: images/u}}
            install: {{keys: [deps.lock], run: "mkdir -p /opt/deps"}}
            steps: ['echo "uid=$(id -u)"']
        """)
    result = deps.run("--jobs", "1")
    assert result.code == 0, result
    assert "uid=1234" in result.lines_of(cache_area.job("plain")), result
    assert deps.report(result)["cache"] == "miss"
    assert "uid=1234" in result.lines_of(deps.name), (
        "the steps of a job with an install do not run as the image's user (USER 1234):\n"
        + "\n".join(result.lines_of(deps.name))
    )


# ---------------------------------------------------------------- --no-cache


def test_no_cache_runs_the_install_again_and_the_next_run_hits(
    deps: DepsJob, cache_area: CacheArea
) -> None:
    key = passed(deps, deps.run(), "miss")

    forced = deps.run("--no-cache")
    assert passed(deps, forced, "miss (--no-cache)") == key
    assert deps.seen(forced)["installs"] == "2", forced
    assert cache_lines(deps, forced) == [f"cache miss: {key[:16]}; installing"]
    assert deps.report(forced)["image"] == cache_area.tagged(key), "the new layer is not stored"

    after = deps.run()
    assert passed(deps, after, "hit") == key
    assert deps.seen(after)["installs"] == "2", after
    assert deps.report(after)["image"] == deps.report(forced)["image"]


# ---------------------------------------------------------------- concurrent and killed runs


def test_two_cold_runs_of_one_key_at_once_store_one_layer_and_install_once(
    deps: DepsJob, cache_area: CacheArea
) -> None:
    deps.pipeline(install="sleep 1.5; " + INSTALL)
    reports = ("report-1.json", "report-2.json")
    processes = [deps.start("--report", report) for report in reports]
    results = [deps.workspace.finish(p, r) for p, r in zip(processes, reports, strict=True)]
    for result in results:
        assert result.code == 0, result
    keys = {deps.report(r)["cache_key"] for r in results}
    assert len(keys) == 1, keys
    key = str(keys.pop())
    assert sorted(deps.report(r)["cache"] for r in results) == ["hit", "miss"], results
    waited = next(r for r in results if deps.report(r)["cache"] == "hit")
    assert cache_lines(deps, waited) == [f"cache hit: {key[:16]}; another run installed it"]
    layer = cache_area.tagged(key)
    assert layer is not None
    assert cache_area.layers() == [layer], "more than one layer was committed for the key"
    assert {deps.report(r)["image"] for r in results} == {layer}
    assert {deps.seen(r)["installs"] for r in results} == {"1"}, "the install ran twice"


def _wait_for_marker(cache_area: CacheArea, name: str) -> Path:
    """The host path of `name` in the job's cache volume, once the install wrote it."""
    deadline = time.monotonic() + MARKER_WAIT
    while time.monotonic() < deadline:
        for volume in cache_area.volumes():
            mountpoint = cache_area.engine.volumes.get(volume).attrs["Mountpoint"]
            marker = Path(mountpoint) / name
            if marker.exists():
                return marker
        time.sleep(0.05)
    pytest.fail(f"the install never wrote {name} into its cache volume")


def test_a_run_killed_mid_install_stores_no_layer_and_clean_removes_its_containers(
    deps: DepsJob, cache_area: CacheArea, engine: docker.DockerClient
) -> None:
    deps.pipeline(install=KILLABLE)
    key_output = deps.dockstep("cache", "key", deps.name)
    assert key_output.code == 0, key_output
    key = key_output.stdout.split()[0]

    process = deps.start()
    _wait_for_marker(cache_area, "started")
    process.kill()
    killed = deps.workspace.finish(process, timeout=30)
    assert killed.code == -9, killed
    run_id = killed.run_id

    assert cache_area.tagged(key) is None
    assert cache_area.layers() == [], "a layer was committed from a killed install"
    left = {(i.kind, i.name) for i in labelled(engine, f"{RUN_LABEL}={run_id}")}
    install = ("container", f"dockstep-{run_id}-{deps.name}-install")
    # the run's network is a pool one (no run label; its lease died with the process), or,
    # when the pool was busy, one of its own, which carries the run's label
    assert left in ({install}, {install, ("network", f"dockstep-{run_id}")}), left

    clean = deps.dockstep("clean")
    assert clean.code == 0, clean
    assert f"removed container dockstep-{run_id}-{deps.name}-install (run {run_id})" in (
        clean.stdout.splitlines()
    ), clean
    assert labelled(engine, f"{RUN_LABEL}={run_id}") == []
    assert labelled(engine, f"{OWNER_PID}={process.pid}") == []

    again = deps.run()  # the same key: the lock was freed and no half layer is found
    assert passed(deps, again, "miss") == key
    assert deps.seen(again) == {"installs": "1", "deps": f"{cache_area.token} v1"}, again
    assert cache_area.layers() == [cache_area.tagged(key)]


# ---------------------------------------------------------------- failing installs


def test_a_failing_install_fails_the_job_and_stores_no_layer(
    deps: DepsJob, cache_area: CacheArea
) -> None:
    deps.pipeline(install="echo ran >> /counter/installs; exit 3", steps=("touch step-ran",))
    result = deps.run()
    assert result.code == 1, result
    job = deps.report(result)
    assert job["status"] == "failed"
    assert "install" in job["reason"] and "exited 3" in job["reason"], job
    assert result.row(deps.name)[2] == "failed"
    assert any("install exited 3" in line for line in result.lines_of(deps.name)), result
    assert not (deps.workspace.path / "step-ran").exists()
    assert cache_area.layers() == []

    again = deps.run()  # nothing was stored: the install runs (and fails) again
    assert again.code == 1, again
    assert cache_area.layers() == []


def test_the_install_sees_the_workspace_read_only(deps: DepsJob, cache_area: CacheArea) -> None:
    deps.pipeline(install="echo built > built-here", steps=("touch step-ran",))
    result = deps.run()
    assert result.code == 1, result
    job = deps.report(result)
    assert job["status"] == "failed"
    assert "install exited" in job["reason"], job
    lines = result.lines_of(deps.name)
    assert any("built-here" in line and "Read-only file system" in line for line in lines), result
    assert not (deps.workspace.path / "built-here").exists()
    assert not (deps.workspace.path / "step-ran").exists()
    assert cache_area.layers() == []


# ---------------------------------------------------------------- cache key | ls | prune


def _key_output(result: Result) -> tuple[str, str, dict[str, str]]:
    """`cache key`: the key, the note after it and the inputs table."""
    lines = result.stdout.splitlines()
    key, note = lines[0].split(maxsplit=1)
    inputs = dict(line.split(maxsplit=1) for line in lines[3:] if line.strip())
    return key, note, inputs


def test_cache_key_prints_the_key_of_the_next_run_and_its_inputs(
    deps: DepsJob, workspace: Workspace
) -> None:
    before = deps.dockstep("cache", "key", deps.name, "pipelines/ci.yml")
    assert before.code == 0, before
    key, note, inputs = _key_output(before)
    assert KEY.fullmatch(key), before
    assert note == "(not cached on this engine)"
    lock = hashlib.sha256((workspace.path / "deps.lock").read_bytes()).hexdigest()
    assert inputs["file:deps.lock"] == lock, before
    assert inputs["image"] == workspace.image
    assert inputs["workdir"] == "/workspace"
    assert {"format", "run", "env"} <= inputs.keys()

    assert passed(deps, deps.run(), "miss") == key
    after = deps.dockstep("cache", "key", deps.name)
    assert _key_output(after)[:2] == (key, "(cached on this engine)"), after

    deps.lock("v2")
    edited = _key_output(deps.dockstep("cache", "key", deps.name))
    assert edited[0] != key
    assert edited[2]["file:deps.lock"] != lock
    assert passed(deps, deps.run(), "miss") == edited[0]


def _listed(deps: DepsJob) -> list[list[str]]:
    """`cache ls` rows of this test's job: kind, key prefix, job."""
    result = deps.dockstep("cache", "ls")
    assert result.code == 0, result
    rows = [line.split() for line in result.stdout.splitlines()]
    return sorted(row[:3] for row in rows if len(row) >= 3 and row[2] == deps.name)


def _last_used(cache_area: CacheArea, key: str, when: float) -> None:
    """Pretend a key was last used at `when` (seconds since the epoch)."""
    used = cache_area.directory / "used" / key
    assert used.is_file(), f"no usage time for {key}"
    os.utime(used, (when, when))


def test_cache_ls_lists_the_layers_and_prune_removes_what_was_not_used(
    deps: DepsJob, cache_area: CacheArea
) -> None:
    old = passed(deps, deps.run(), "miss")
    deps.lock("v2")
    new = passed(deps, deps.run(), "miss")
    ((volume, labels),) = cache_area.volumes().items()
    volume_key = labels[CACHE_KEY]
    assert _listed(deps) == sorted(
        [
            ["layer", old[:16], deps.name],
            ["layer", new[:16], deps.name],
            ["volume", volume_key[:16], deps.name],
        ]
    )

    # This test's entries were last used in 1970; every other entry on the engine is newer
    # than 10000 days, so the prunes below cannot touch another test's or a user's cache.
    _last_used(cache_area, old, 1)
    _last_used(cache_area, volume_key, 2)
    _last_used(cache_area, new, 3)
    # --keep counts a job's layers and its volumes apart: the newest of each stays
    kept = deps.dockstep("cache", "prune", "--older-than", "10000d", "--keep", "1")
    assert kept.code == 0, kept
    assert f"removed layer {old[:16]} ({deps.name})" in kept.stdout.splitlines(), kept
    assert cache_area.layers() == [cache_area.tagged(new)]
    assert _listed(deps) == [
        ["layer", new[:16], deps.name],
        ["volume", volume_key[:16], deps.name],
    ]

    pruned = deps.dockstep("cache", "prune", "--older-than", "10000d", "--keep", "0")
    assert pruned.code == 0, pruned
    assert sorted(line for line in pruned.stdout.splitlines() if deps.name in line) == [
        f"removed layer {new[:16]} ({deps.name})",
        f"removed volume {volume_key[:16]} ({deps.name})",
    ], pruned
    assert cache_area.layers() == []
    assert cache_area.volumes() == {}
    assert volume not in [v.name for v in cache_area.engine.volumes.list()]
    assert _listed(deps) == []
    assert not (cache_area.directory / "used" / new).exists(), "the usage time is kept"
