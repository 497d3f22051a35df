"""Swarm jobs with a pids limit and download-cache volumes, as root and as a non-root user.

A cache volume is a named volume on the node that runs the task; it outlives the run, as a
local cache volume does, carrying dockstep's cache labels and none of the run's (so
`nothing_left_on_the_swarm` holds), and the test's `cache_area` removes it.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.engine import labels
from tests.integration.fixtures.cache import CacheArea
from tests.integration.fixtures.engine import Owners
from tests.integration.fixtures.swarm import swarm_args
from tests.integration.fixtures.workspace import Workspace
from tests.integration.registry import Registry
from tests.integration.test_host_user import GID, UID, _chown_tree, _socket_group

pytestmark = pytest.mark.usefixtures("swarm", "nothing_left_on_the_swarm")
PIDS = 'echo "pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)"'
NEW_KEY = "new key; on a swarm a new volume starts empty"


def cached_job(name: str, paths: tuple[str, ...], steps: tuple[str, ...]) -> str:
    volumes = ", ".join(f"{{path: {path}, keys: [deps.lock]}}" for path in paths)
    items = "".join(f"\n              - '{step}'" for step in steps)
    return f"""\
          {name}:
            cache: {{volumes: [{volumes}]}}
            steps:{items}
        """


def test_a_pids_limit_and_a_cache_volume_that_the_next_run_finds(
    workspace: Workspace, registry: Registry, cache_area: CacheArea
) -> None:
    workspace.write("deps.lock", f"{cache_area.token}\n")
    job = cache_area.job("cached")
    step = 'touch /cache-dir/runs; sed "s/^/seen /" /cache-dir/runs; echo run >> /cache-dir/runs'
    workspace.pipeline(f"""\
        jobs:
          limited: {{resources: {{pids: 64}}, steps: ['{PIDS}']}}
          plain: {{steps: ['{PIDS}']}}
{cached_job(job, ("/cache-dir",), (step,))}""")
    first = workspace.run(*swarm_args(registry), env=cache_area.env)
    assert first.code == 0, first
    assert "pids=64" in first.lines_of("limited")
    assert "pids=4096" in first.lines_of("plain")  # the sandbox's default, as on the engine
    assert not any(line.startswith("seen") for line in first.lines_of(job)), first
    assert any(NEW_KEY in line for line in first.lines_of(job)), first
    ((name, found),) = cache_area.volumes().items()
    assert re.fullmatch(r"[0-9a-f]{64}", found[labels.CACHE_KEY])
    assert name == f"dockstep-cache-{found[labels.CACHE_KEY][:16]}"
    assert (found[labels.CACHE_KIND], found[labels.CACHE_JOB]) == ("volume", job)
    assert found[labels.CACHE_PATH] == "/cache-dir"
    again = workspace.run(*swarm_args(registry), env=cache_area.env)
    assert again.code == 0, again
    assert "seen run" in again.lines_of(job), again
    assert not any(NEW_KEY in line for line in again.lines_of(job)), again
    assert list(cache_area.volumes()) == [name]


@pytest.fixture
def user_dir() -> Iterator[Path]:
    """A directory the throwaway user owns (pytest's tmp_path is closed to other users)."""
    with tempfile.TemporaryDirectory(prefix="dockstep-it-swarm-user-") as name:
        yield Path(name)


def test_a_non_root_step_owns_its_new_cache_volumes_on_the_swarm(
    user_dir: Path, tiny_image: str, owners: Owners, registry: Registry, cache_area: CacheArea
) -> None:
    """/cache-dir is not in the image and /var is, root-owned: each empty volume takes the
    owner of the workspace image's directory, which is the user's."""
    repo = user_dir / "repo"
    repo.mkdir()
    workspace = Workspace(repo, tiny_image, owners)
    workspace.write("deps.lock", f"{cache_area.token}\n")
    job = cache_area.job("user")
    steps = (
        'echo "owners=$(stat -c %u:%g /cache-dir) $(stat -c %u:%g /var)"',
        "touch /cache-dir/x /var/x && test -d /var/tmp && echo writable",
    )
    workspace.pipeline(f"jobs:\n{cached_job(job, ('/cache-dir', '/var'), steps)}")
    _chown_tree(user_dir, UID, GID)
    env = {"HOME": str(user_dir), "DOCKSTEP_CACHE_DIR": str(user_dir / "cache")}
    result = workspace.run(*swarm_args(registry), env=env, user=(UID, GID, _socket_group()))
    assert result.code == 0, result
    lines = result.lines_of(job)
    assert f"owners={UID}:{GID} {UID}:{GID}" in lines, result
    assert "writable" in lines, result
    assert sorted(v[labels.CACHE_PATH] for v in cache_area.volumes().values()) == [
        "/cache-dir",
        "/var",
    ]
