"""Service specs as the manager gets them: a job's limits and cache volumes, a deploy's command."""

from __future__ import annotations

from typing import Any

from runner.engine.swarm.api import DeploySpec, ServiceSpec, VolumeMount
from runner.engine.swarm.client import _spec
from runner.engine.swarm.deployments import _template

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


def test_a_deploy_command_replaces_the_images_cmd_and_keeps_its_entrypoint() -> None:
    """As `docker run IMAGE sh -c CMD` on the local engine: an image whose ENTRYPOINT sets
    things up before exec'ing its command keeps doing so on the swarm."""
    spec = DeploySpec(
        name="web",
        image="r/web@sha256:" + "a" * 64,
        command=("sh", "-c", "httpd -f"),
        env=(),
        labels=(),
        host_network=True,
    )
    container = _template(spec)["ContainerSpec"]
    assert container.get("Command") is None
    assert container["Args"] == ["sh", "-c", "httpd -f"]
