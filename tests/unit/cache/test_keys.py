"""Cache keys: what changes them, what does not, and which lockfiles `auto` finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cache.keys import install_key, key_files, volume_key
from runner.errors import UsageError
from runner.model.pipeline import CacheVolume, Install
from tests.unit.pipelines import pipeline, steps_of

IMAGE = "busybox@sha256:" + "a" * 64


def key(
    workspace: Path,
    *,
    image: str = IMAGE,
    run: str = "install",
    env: dict[str, str] | None = None,
    keys: tuple[str, ...] = ("requirements.txt",),
    workdir: str = "/workspace",
) -> str:
    install = Install(run=run, keys=keys)
    return install_key(
        image=image, install=install, env=env or {}, workdir=workdir, workspace=workspace
    ).value


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "requirements.txt").write_text("click==8.1.7\n")
    return tmp_path


def test_the_same_inputs_give_the_same_key(workspace: Path) -> None:
    assert key(workspace) == key(workspace)


@pytest.mark.parametrize(
    "change",
    [
        {"image": "busybox@sha256:" + "b" * 64},
        {"run": "install --other"},
        {"env": {"PIP_INDEX_URL": "http://mirror"}},
        {"workdir": "/src"},
    ],
)
def test_each_input_changes_the_key(workspace: Path, change: dict[str, object]) -> None:
    assert key(workspace, **change) != key(workspace)  # type: ignore[arg-type]


def test_a_lockfile_edit_changes_the_key_and_an_mtime_does_not(workspace: Path) -> None:
    before = key(workspace)
    lock = workspace / "requirements.txt"
    lock.touch()
    assert key(workspace) == before
    lock.write_text("click==8.1.8\n")
    assert key(workspace) != before


def test_the_key_keeps_its_inputs(workspace: Path) -> None:
    made = install_key(
        image=IMAGE,
        install=Install(run="i", keys=("requirements.txt",)),
        env={},
        workdir="/workspace",
        workspace=workspace,
    )
    inputs = dict(made.inputs)
    assert inputs["image"] == IMAGE
    assert inputs["workdir"] == "/workspace"
    assert set(inputs) == {"format", "image", "run", "env", "workdir", "file:requirements.txt"}
    assert made.layer_tag == f"dockstep-cache:{made.value}"


def test_globs_pick_every_matching_file_sorted(tmp_path: Path) -> None:
    (tmp_path / "req").mkdir()
    for name in ("b.txt", "a.txt", "notes.md"):
        (tmp_path / "req" / name).write_text(name)
    assert key_files(tmp_path, ["req/*.txt"], auto=False) == ["req/a.txt", "req/b.txt"]


def test_a_key_pattern_matching_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"install.keys: no file .* matches 'requirments.lock'"):
        key_files(tmp_path, ["requirments.lock"], auto=False)


def test_auto_finds_the_well_known_lockfiles_at_the_root(tmp_path: Path) -> None:
    for name in ("uv.lock", "requirements-dev.txt", "package-lock.json", "go.sum", "README.md"):
        (tmp_path / name).write_text(name)
    found = key_files(tmp_path, [], auto=True)
    assert found == ["go.sum", "package-lock.json", "requirements-dev.txt", "uv.lock"]


def test_a_volume_follows_the_install_keys_unless_it_has_its_own(workspace: Path) -> None:
    (workspace / "package-lock.json").write_text("{}")
    job = pipeline(
        """
    jobs:
      j:
        install: {keys: [requirements.txt], run: i}
        steps: [x]
    """,
        workspace,
    ).job("j")
    install = steps_of(job).install
    same_keys = volume_key(install, CacheVolume(path="/c"), workspace)
    own_keys = volume_key(install, CacheVolume(path="/c", keys=("package-lock.json",)), workspace)
    assert "file:requirements.txt" in dict(same_keys.inputs)
    assert dict(own_keys.inputs).keys() >= {"file:package-lock.json"}
    assert same_keys.value != own_keys.value


def test_a_fixed_input_has_the_same_key_on_every_machine(tmp_path: Path) -> None:
    """The promise behind sharing layers through a registry: the key depends only on the
    inputs, never on the machine, the path or the time. A change of recipe must bump
    keys.FORMAT, and then this literal."""
    (tmp_path / "requirements.txt").write_text("click==8.1.7\n")
    key = install_key(
        image="busybox@sha256:" + "a" * 64,
        install=Install(run="pip install -r requirements.txt", keys=("requirements.txt",)),
        env={"PIP_NO_CACHE_DIR": "1"},
        workdir="/workspace",
        workspace=tmp_path,
    )
    assert key.value == "69c2a39b44cf3c6c6e88b3991ad1ab3b8df7475d9d87eca7d7ecfc2ed53a7edf"
    assert dict(key.inputs)["file:requirements.txt"] == (
        "1d8786c8aeca6c9d67ed775b50687179049d72a3f6b826c6c4df1b696172afba"  # sha256 of the file
    )
