"""Cache volumes are writable by non-root steps, in jobs with an install phase too.

Docker copies the ownership of the image's directory at a mount point onto an empty
volume at each mount, and a committed install layer holds that directory root-owned; a
volume was also handed over with `chown`, which not every image has. dockstep is run as
a throwaway uid here (as in test_host_user), with an image that has `chown` and one
built without it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.fixtures.cache import TEST_TOKEN, CacheArea
from tests.integration.fixtures.engine import Owners
from tests.integration.fixtures.workspace import Workspace
from tests.integration.test_host_user import GID, UID, _chown_tree, _socket_group

TOUCH = 'touch /cache/made-by-step && echo "cache is writable by $(id -u)"'


@pytest.fixture
def user_dir() -> Iterator[Path]:
    """A directory the throwaway user owns (pytest's tmp_path is closed to other users)."""
    with tempfile.TemporaryDirectory(prefix="dockstep-it-volume-") as name:
        yield Path(name)


def _job(name: str, image: str) -> str:
    steps = [TOUCH, TOUCH]  # two steps: exec'd ones; the second proves it again
    return (
        f"  {name}:\n    image: {image}\n"
        f"    install: {{keys: [deps.lock], run: {json.dumps('mkdir -p /opt && touch /opt/x')}}}\n"
        "    cache: {volumes: [{path: /cache, keys: [deps.lock]}]}\n"
        f"    steps: {json.dumps(steps)}\n"
    )


def test_a_non_root_step_writes_its_cache_volume_after_an_install(
    user_dir: Path, tiny_image: str, owners: Owners, cache_area: CacheArea
) -> None:
    repo = user_dir / "repo"
    repo.mkdir()
    workspace = Workspace(repo, tiny_image, owners)
    workspace.write("deps.lock", cache_area.token)
    workspace.write(
        "images/nochown/Dockerfile",
        f"FROM {tiny_image}\nLABEL {TEST_TOKEN}={cache_area.token}\nRUN rm /bin/chown\n",
    )
    with_chown, without = cache_area.job("with-chown"), cache_area.job("without-chown")
    jobs = _job(with_chown, json.dumps(tiny_image)) + _job(without, "{build: images/nochown}")
    workspace.pipeline("jobs:\n" + jobs)
    _chown_tree(user_dir, UID, GID)
    env = {"HOME": str(user_dir), "DOCKSTEP_CACHE_DIR": str(user_dir / "cache")}
    result = workspace.run(env=env, user=(UID, GID, _socket_group()))
    assert result.code == 0, result
    for job in (with_chown, without):
        assert result.lines_of(job).count(f"cache is writable by {UID}") == 2, result
    assert os.stat(repo).st_uid == UID
