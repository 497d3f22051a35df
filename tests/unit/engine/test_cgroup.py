"""The OOM-kill counter read from a host's cgroup files, in each layout Docker uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engine.docker import cgroup

ID = "c2cb5de98aa07e8a071c78f91d8dd2008019932aeda9d36c53f15275aec8f358"
V1 = "oom_kill_disable 0\nunder_oom 0\noom_kill {n}\n"
V2 = "low 0\nhigh 0\nmax 12\noom 3\noom_kill {n}\noom_group_kill 0\n"


@pytest.mark.parametrize(
    ("layout", "text"),
    [
        ("memory/docker/{id}/memory.oom_control", V1),
        ("memory/system.slice/docker-{id}.scope/memory.oom_control", V1),
        ("system.slice/docker-{id}.scope/memory.events", V2),
        ("docker/{id}/memory.events", V2),
    ],
    ids=["v1-cgroupfs", "v1-systemd", "v2-systemd", "v2-cgroupfs"],
)
def test_the_counter_is_found_and_read_in_every_layout(
    tmp_path: Path, layout: str, text: str
) -> None:
    path = tmp_path / layout.format(id=ID)
    path.parent.mkdir(parents=True)
    path.write_text(text.format(n=2))
    assert cgroup.counter_file(ID, tmp_path) == path
    assert cgroup.read_oom_kills(path) == 2


def test_no_counter_for_a_container_without_a_cgroup_or_a_name(tmp_path: Path) -> None:
    assert cgroup.counter_file(ID, tmp_path) is None
    (tmp_path / "docker" / "web").mkdir(parents=True)
    (tmp_path / "docker" / "web" / "memory.events").write_text(V2.format(n=1))
    assert cgroup.counter_file("web", tmp_path) is None  # names are not cgroup paths


def test_a_file_without_the_counter_reads_as_unknown(tmp_path: Path) -> None:
    path = tmp_path / "memory.events"
    path.write_text("low 0\nhigh 0\n")
    assert cgroup.read_oom_kills(path) is None
