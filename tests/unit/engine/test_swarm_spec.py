"""A job's service spec as the manager receives it: limits and cache volumes."""

from __future__ import annotations

from typing import Any

from runner.engine.swarm.api import ServiceSpec, VolumeMount
from runner.engine.swarm.client import _spec

LABELS = (("io.dockstep.cache.kind", "volume"), ("io.dockstep.cache.path", "/cache"))


def template(**fields: Any) -> dict[str, Any]:
    spec = ServiceSpec(
        name="s", image="i", command=("sh",), labels=(), workdir="/workspace", **fields
    )
    return dict(_spec(spec))


def test_the_pids_limit_is_set_beside_memory_and_cpus() -> None:
    limits = template(memory=64 << 20, cpus=0.5, pids=77)["Resources"]["Limits"]
    assert limits == {"MemoryBytes": 64 << 20, "NanoCPUs": 500_000_000, "Pids": 77}


def test_a_pids_limit_alone_is_a_limit_too() -> None:
    assert template(pids=64)["Resources"] == {"Limits": {"Pids": 64}}
    assert "Pids" not in str(template(memory=1 << 20)["Resources"])


def test_a_cache_volume_is_a_labelled_named_volume_beside_the_tmpfs() -> None:
    volume = VolumeMount(name="dockstep-cache-0123456789abcdef", target="/cache", labels=LABELS)
    mounts = template(tmpfs=("/home/dockstep",), volumes=(volume,))["ContainerSpec"]["Mounts"]
    assert mounts == [
        {"Target": "/home/dockstep", "Source": None, "Type": "tmpfs", "ReadOnly": False},
        {
            "Target": "/cache",
            "Source": "dockstep-cache-0123456789abcdef",
            "Type": "volume",
            "ReadOnly": False,
            "VolumeOptions": {"Labels": dict(LABELS)},
        },
    ]
