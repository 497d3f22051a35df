"""Run by a non-root user, steps write the workspace as that user and have a writable HOME.

We are root here, so dockstep is started as a throwaway uid/gid with `setpriv`, with the
Docker socket's group as its one extra group (as a member of the `docker` group would be).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.integration.fixtures.engine import Owners
from tests.integration.fixtures.workspace import Workspace

UID = GID = 4242


def _socket_group() -> int:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    parsed = urlparse(host)
    if parsed.scheme != "unix":
        pytest.fail(f"this test reaches the engine through a unix socket, not {host}")
    return os.stat(parsed.path).st_gid  # root's group (0) too: it is what grants access


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(Path(parent) / name, uid, gid)


@pytest.fixture
def user_dir() -> Iterator[Path]:
    """A directory the throwaway user owns (pytest's tmp_path is closed to other users)."""
    with tempfile.TemporaryDirectory(prefix="dockstep-it-user-") as name:
        path = Path(name)
        os.chown(path, UID, GID)
        yield path


STEPS = (
    'echo "uid=$(id -u) gid=$(id -g)"',
    "echo made > made-by-step.txt; mkdir -p out/sub; touch out/sub/artifact",
    'touch "$HOME/x" && echo "home is writable"',
)


@pytest.mark.parametrize("steps", [STEPS, ("; ".join(STEPS),)], ids=["three-steps", "one-step"])
def test_files_written_by_steps_belong_to_the_user_who_ran_dockstep(
    user_dir: Path, tiny_image: str, owners: Owners, steps: tuple[str, ...]
) -> None:
    repo, home = user_dir / "repo", user_dir / "home"
    repo.mkdir()
    home.mkdir()
    workspace = Workspace(repo, tiny_image, owners)
    items = "".join(f"\n      - {json.dumps(step)}" for step in steps)
    workspace.pipeline(f"jobs:\n  write:\n    steps:{items}\n")
    _chown_tree(user_dir, UID, GID)
    result = workspace.run(env={"HOME": str(home)}, user=(UID, GID, _socket_group()))
    assert result.code == 0, result
    lines = result.lines_of("write")
    assert f"uid={UID} gid={GID}" in lines
    assert "home is writable" in lines
    for made in ("made-by-step.txt", "out", "out/sub", "out/sub/artifact"):
        info = (repo / made).stat()
        assert (info.st_uid, info.st_gid) == (UID, GID), made
    log = Path(result.jobs["write"]["log_file"]).stat()
    assert (log.st_uid, log.st_gid) == (UID, GID)
