"""Download caches that outlive a lockfile change (restore from the newest volume of the
same job and path), and `--no-cache` installing a shared install once per run."""

from __future__ import annotations

import json

from tests.integration.fixtures.cache import CacheArea
from tests.integration.fixtures.workspace import Workspace

# the install counts its runs in a volume of its own, and adds a line to the download cache
INSTALL = (
    'echo ran >> /counter/installs; echo "$(cat deps.lock)" >> /downloads/seen; '
    "mkdir -p /opt/deps; cat deps.lock > /opt/deps/x"
)
SHOW = (
    'echo "downloads=$(tr "\\n" "," < /downloads/seen)"; '
    'echo "installs=$(wc -l < /counter/installs)"'
)


def write(
    workspace: Workspace, area: CacheArea, jobs: tuple[str, ...], restore: bool = True
) -> None:
    body = ["jobs:"]
    for name in jobs:
        body += [
            f"  {area.job(name)}:",
            "    install:",
            "      keys: [deps.lock]",
            f"      run: {json.dumps(INSTALL)}",
            "    cache:",
            "      volumes:",
            "        - {path: /counter, keys: [counter.key]}",
            f"        - {{path: /downloads, restore: {str(restore).lower()}}}",
            f"    steps: [{json.dumps(SHOW)}]",
        ]
    workspace.write("counter.key", area.token + "\n")
    workspace.pipeline("\n".join(body) + "\n")


def seen(lines: list[str], name: str) -> str:
    return next(line.split("=", 1)[1] for line in lines if line.startswith(f"{name}="))


def test_a_lockfile_edit_starts_from_a_copy_of_the_newest_download_cache(
    workspace: Workspace, cache_area: CacheArea
) -> None:
    write(workspace, cache_area, ("deps",))
    job = cache_area.job("deps")
    workspace.write("deps.lock", f"{cache_area.token} v1\n")
    first = workspace.run(env=cache_area.env)
    assert first.code == 0, first
    assert seen(first.lines_of(job), "downloads") == f"{cache_area.token} v1,"

    workspace.write("deps.lock", f"{cache_area.token} v2\n")
    second = workspace.run(env=cache_area.env)
    assert second.code == 0, second
    lines = second.lines_of(job)
    # the new key's volume began with what the old one had downloaded
    assert seen(lines, "downloads") == f"{cache_area.token} v1,{cache_area.token} v2,", second
    assert any(line.startswith("cache volume /downloads: new key, restored from") for line in lines)
    # and the old volume is as its key left it: two download volumes now, plus the counter
    assert len(cache_area.volumes()) == 3


def test_restore_false_starts_a_new_key_empty(workspace: Workspace, cache_area: CacheArea) -> None:
    write(workspace, cache_area, ("deps",), restore=False)
    job = cache_area.job("deps")
    for version in ("v1", "v2"):
        workspace.write("deps.lock", f"{cache_area.token} {version}\n")
        result = workspace.run(env=cache_area.env)
        assert result.code == 0, result
    assert seen(result.lines_of(job), "downloads") == f"{cache_area.token} v2,", result


def test_no_cache_runs_a_shared_install_once_per_run(
    workspace: Workspace, cache_area: CacheArea
) -> None:
    """Three jobs share one install (same key): --no-cache installs it once, not three times."""
    names = ("a", "b", "c")
    write(workspace, cache_area, names)
    workspace.write("deps.lock", f"{cache_area.token} v1\n")
    # the jobs' names differ, but the key does not: it hashes image, commands, env and files
    result = workspace.run("--no-cache", env=cache_area.env)
    assert result.code == 0, result
    statuses = sorted(result.jobs[cache_area.job(n)]["cache"] for n in names)
    assert statuses == ["hit", "hit", "miss (--no-cache)"], result
    counts = {seen(result.lines_of(cache_area.job(n)), "installs") for n in names}
    assert counts == {"1"}, result
    said = [line for n in names for line in result.lines_of(cache_area.job(n))]
    assert sum("another job of this run installed it" in line for line in said) == 2, result
