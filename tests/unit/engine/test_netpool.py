"""The pool of run networks: one run per network at a time, reused, swept when idle."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from runner.engine import netpool
from runner.engine.api import ContainerSpec
from runner.engine.labels import RUN
from runner.engine.netpool import SLOTS, NetworkPool
from tests.fake_engine import FakeEngine
from tests.unit.harness import run_pipeline

RUN_LABELS = ((RUN, "r1"),)


def _pool(engine: FakeEngine, tmp_path: Path) -> NetworkPool:
    return NetworkPool(engine, tmp_path / "state", "here")


def _attach(engine: FakeEngine, network: str) -> None:
    spec = ContainerSpec(image="i", name="c", command=(), labels=(), network=network, workdir="/")
    engine.create(spec)


def test_a_released_network_is_leased_again_without_a_create(tmp_path: Path) -> None:
    engine = FakeEngine()
    pool = _pool(engine, tmp_path)
    first = pool.lease("dockstep-r1", RUN_LABELS)
    pool.release(first)
    second = pool.lease("dockstep-r2", RUN_LABELS)
    assert second.network == first.network == pool.name(0)
    assert list(engine.networks) == [pool.name(0)]
    assert RUN not in dict(engine.networks[pool.name(0)])  # not swept with a run


def test_concurrent_runs_never_share_a_network(tmp_path: Path) -> None:
    engine = FakeEngine()
    leases = [_pool(engine, tmp_path).lease(f"dockstep-r{n}", RUN_LABELS) for n in range(3)]
    assert len({lease.network for lease in leases}) == 3


def test_above_the_pool_size_a_run_gets_a_network_of_its_own(tmp_path: Path) -> None:
    engine = FakeEngine()
    for n in range(SLOTS):
        _pool(engine, tmp_path).lease(f"dockstep-r{n}", RUN_LABELS)
    extra = _pool(engine, tmp_path).lease("dockstep-extra", RUN_LABELS)
    assert extra.network == "dockstep-extra"
    assert extra.fd is None
    assert engine.networks["dockstep-extra"] == RUN_LABELS  # swept with its run


def test_a_network_with_containers_of_a_killed_run_is_passed_over(tmp_path: Path) -> None:
    engine = FakeEngine()
    pool = _pool(engine, tmp_path)
    pool.release(pool.lease("dockstep-r1", RUN_LABELS))  # the killed run's lease ended
    _attach(engine, pool.name(0))  # ...but its container lives on
    assert pool.lease("dockstep-r2", RUN_LABELS).network == pool.name(1)


def test_another_state_folder_has_its_own_networks(tmp_path: Path) -> None:
    engine = FakeEngine()
    here = NetworkPool(engine, tmp_path / "a", "here").lease("dockstep-r1", RUN_LABELS)
    there = NetworkPool(engine, tmp_path / "b", "here").lease("dockstep-r2", RUN_LABELS)
    assert here.network != there.network


def test_clean_removes_idle_networks_and_keeps_leased_ones(tmp_path: Path) -> None:
    engine = FakeEngine()
    pool = _pool(engine, tmp_path)
    held = pool.lease("dockstep-r1", RUN_LABELS)
    pool.release(pool.lease("dockstep-r2", RUN_LABELS))
    removed, problems = netpool.sweep_idle(engine, "here")
    assert [r.name for r in removed] == [pool.name(1)]
    assert problems == []
    assert list(engine.networks) == [held.network]


def test_a_new_network_sweeps_those_of_state_folders_that_are_gone(tmp_path: Path) -> None:
    engine = FakeEngine()
    gone = NetworkPool(engine, tmp_path / "gone", "here")
    gone.release(gone.lease("dockstep-r1", RUN_LABELS))
    shutil.rmtree(tmp_path / "gone")
    fresh = _pool(engine, tmp_path).lease("dockstep-r2", RUN_LABELS)
    assert list(engine.networks) == [fresh.network]


def test_another_users_state_folder_is_never_judged_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-root user cannot look into root's state folder: its pool networks stay (and a
    run of that user must not fail for it)."""
    engine = FakeEngine()
    theirs = NetworkPool(engine, tmp_path / "root-only", "here")
    theirs.release(theirs.lease("dockstep-r1", RUN_LABELS))
    real_is_dir = Path.is_dir

    def closed(path: Path) -> bool:
        if "root-only" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_is_dir(path)

    monkeypatch.setattr(Path, "is_dir", closed)
    mine = _pool(engine, tmp_path).lease("dockstep-r2", RUN_LABELS)
    assert sorted(engine.networks) == sorted([theirs.name(0), mine.network])


def test_a_state_folder_that_cannot_be_written_gives_the_run_its_own_network(
    tmp_path: Path,
) -> None:
    engine = FakeEngine()
    (tmp_path / "state").write_text("a file where the folder should be")
    lease = _pool(engine, tmp_path).lease("dockstep-r1", RUN_LABELS)
    assert lease.network == "dockstep-r1"
    assert dict(engine.networks["dockstep-r1"]) == dict(RUN_LABELS)


def test_a_run_s_containers_use_a_pool_network_that_outlives_only_them(tmp_path: Path) -> None:
    engine = FakeEngine()
    run_pipeline("jobs:\n  a: {steps: ['true', 'true']}\n", tmp_path, engine)
    pool = NetworkPool(engine, tmp_path / "state", socket.gethostname())
    assert {spec.network for spec in engine.created.values()} == {pool.name(0)}
    assert list(engine.networks) == [pool.name(0)]
    assert engine.containers == {}
    assert pool.lease("dockstep-r2", RUN_LABELS).network == pool.name(0)  # released
