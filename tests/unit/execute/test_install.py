"""A job's install over the fake engine: miss then hit, --no-cache, and what is committed."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from runner import report
from runner.cache.layers import LayerCache
from runner.engine.api import ContainerSpec, Mount
from runner.execute.images import ResolvedImage
from runner.execute.install import Installer, owned_directories
from runner.execute.settings import RunSettings
from tests.fake_engine import FakeEngine
from tests.unit.harness import run_pipeline
from tests.unit.pipelines import pipeline, steps_of

TEXT = """
env: {MODE: ci}
jobs:
  test:
    install:
      keys: [requirements.txt]
      run: install-deps
      env: {PIP_NO_CACHE_DIR: "1"}
    cache:
      volumes: [/root/.cache/pip]
    steps: [run-tests]
"""


def workspace(tmp_path: Path) -> Path:
    (tmp_path / "requirements.txt").write_text("click==8.1.7\n")
    return tmp_path


def test_a_miss_installs_and_commits_then_a_rerun_hits_without_installing(
    tmp_path: Path,
) -> None:
    engine = FakeEngine()
    first = run_pipeline(TEXT, workspace(tmp_path), engine).results["test"]
    second = run_pipeline(TEXT, tmp_path, engine).results["test"]
    installs = [s for call, s in engine.calls if call == "exec" and s == "install-deps"]
    assert first.cache is not None and second.cache is not None
    assert (first.cache.status, second.cache.status) == ("miss", "hit")
    assert first.cache.key == second.cache.key
    assert len(installs) == 1
    assert [c for c, _ in engine.calls].count("commit") == 1
    assert second.image == engine.present[f"dockstep-cache:{first.cache.key}"]


def test_no_cache_installs_again_and_replaces_the_layer(tmp_path: Path) -> None:
    engine = FakeEngine()
    run_pipeline(TEXT, workspace(tmp_path), engine)
    again = run_pipeline(TEXT, tmp_path, engine, use_cache=False).results["test"]
    assert again.cache is not None
    assert again.cache.status == "miss (--no-cache)"
    assert [c for c, _ in engine.calls].count("commit") == 2


def test_the_install_container_keeps_no_secret_and_cannot_write_the_workspace(
    tmp_path: Path,
) -> None:
    engine = FakeEngine()
    run_pipeline(TEXT, workspace(tmp_path), engine, secrets=(("TOKEN", "s3cret-value"),))
    spec = engine.created["dockstep-r1-test-install"]
    assert spec.env == ()  # a commit would bake container env (and secrets) into the layer
    assert spec.user is None  # the layer keeps the image's user; the install execs as root
    assert engine.exec_users[0] == "0:0"
    (workspace_mount,) = [m for m in spec.mounts if m.target == "/workspace"]
    assert workspace_mount.read_only
    install_env = engine.exec_envs[0]
    assert install_env["TOKEN"] == "s3cret-value"
    assert (install_env["MODE"], install_env["PIP_NO_CACHE_DIR"]) == ("ci", "1")


def test_cache_volumes_are_mounted_in_both_containers(tmp_path: Path) -> None:
    engine = FakeEngine()
    run_pipeline(TEXT, workspace(tmp_path), engine)
    (volume,) = engine.volumes
    for name in ("dockstep-r1-test-install", "dockstep-r1-test"):
        mounts = {m.target: m.source for m in engine.created[name].mounts}
        assert mounts["/root/.cache/pip"] == volume


def test_a_failed_install_fails_the_job_and_stores_nothing(tmp_path: Path) -> None:
    engine = FakeEngine(script=lambda c: (5, b"") if c == "install-deps" else (0, b""))
    result = run_pipeline(TEXT, workspace(tmp_path), engine).results["test"]
    assert result.status.value == "failed"
    assert result.reason == (
        "job 'test': install exited 5 (it runs with the workspace read-only: it must write "
        "outside it, or in the paths listed in install.outputs); no cache layer was stored"
    )
    assert "commit" not in [c for c, _ in engine.calls]
    assert not any(c == "exec" and s == "run-tests" for c, s in engine.calls)
    assert result.exit_code == 5
    row = report.table([result]).splitlines()[-1].split()
    assert row[:5] == ["test", "test", "failed", row[3], "5"]  # job, stage, status, duration, exit


TWO_JOBS = """
jobs:
  a:
    install: &deps {keys: [requirements.txt], run: install-deps}
    steps: [run-a]
  b:
    install: *deps
    steps: [run-b]
"""


def test_a_layer_installed_by_another_job_of_the_same_run_says_so(tmp_path: Path) -> None:
    engine = FakeEngine(durations={"install-deps": 0.3})
    outcome = run_pipeline(TWO_JOBS, workspace(tmp_path), engine)
    installs = [s for call, s in engine.calls if call == "exec" and s == "install-deps"]
    assert len(installs) == 1
    assert "another job of this run installed it" in outcome.output
    assert "another run" not in outcome.output


def test_cache_volumes_are_handed_to_the_steps_user_without_chown(tmp_path: Path) -> None:
    """One archive entry per volume, owned by the user: Docker's copy of the layer's
    root-owned mount point onto an empty volume is undone before the container starts."""
    engine = FakeEngine()
    settings = RunSettings(
        run_id="r1", workspace=tmp_path, network="n", labels=(), builtins=(), user="4242:42"
    )
    installer = Installer(engine, settings, LayerCache(engine, tmp_path))
    engine.create(
        ContainerSpec(image="i", name="c", command=(), labels=(), network="n", workdir="/")
    )
    installer.hand_over("c", (Mount(source="v", target="/root/.cache/pip"),))
    [(container, path, archive)] = engine.archives
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        [entry] = tar.getmembers()
    assert (container, path, entry.name, entry.isdir()) == ("c", "/", "root/.cache/pip", True)
    assert (entry.uid, entry.gid, entry.mode) == (4242, 42, 0o755)


def test_root_keeps_its_volumes_as_they_are(tmp_path: Path) -> None:
    engine = FakeEngine()
    settings = RunSettings(run_id="r1", workspace=tmp_path, network="n", labels=(), builtins=())
    installer = Installer(engine, settings, LayerCache(engine, tmp_path))
    installer.hand_over("c", (Mount(source="v", target="/cache"),))
    assert engine.archives == []


SWARM_CACHE = """
jobs:
  test:
    install: {keys: [requirements.txt], run: install-deps}
    cache:
      volumes: [/root/.cache/pip, {path: /downloads, restore: false}]
    steps: [run-tests]
"""


def test_a_swarm_node_gets_the_volumes_the_local_engine_would_make(tmp_path: Path) -> None:
    """Same names, same cache labels; only the local engine creates (and restores) them."""
    ws = workspace(tmp_path)
    (job,) = pipeline(SWARM_CACHE, ws).jobs
    settings = RunSettings(run_id="r1", workspace=ws, network="n", labels=(), builtins=())
    local = FakeEngine()
    Installer(local, settings, LayerCache(local, tmp_path / "here")).volumes(
        job, steps_of(job), ResolvedImage(id="i", pinned="i")
    )
    swarm = FakeEngine()
    installer = Installer(swarm, settings, LayerCache(swarm, tmp_path / "there"))
    notes: list[str] = []
    found = installer.node_volumes(job, steps_of(job), notes.append)
    assert {v.name: v.labels for v in found} == local.volumes
    assert [v.volume.path for v in found] == ["/root/.cache/pip", "/downloads"]
    assert swarm.volumes == {}  # the node that runs the task creates them
    assert notes == [
        "cache volume /root/.cache/pip: new key; on a swarm a new volume starts empty on the "
        "node that runs the job (restore: copies on one engine only)"
    ]
    installer.node_volumes(job, steps_of(job), notes.append)
    assert len(notes) == 1, "a key used before is not new"


def test_a_swarm_image_can_own_several_cache_directories() -> None:
    archive = owned_directories(("/cache", "/a/b/c"), "4242:42")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        entries = [(e.name, e.isdir(), e.uid, e.gid, e.mode) for e in tar.getmembers()]
    assert entries == [("cache", True, 4242, 42, 0o755), ("a/b/c", True, 4242, 42, 0o755)]
