"""Networks, volumes and the labelled sweep over the Docker SDK.

`labelled` and `remove_resource` are what cleanup and `dockstep clean` stand on.
"""

from __future__ import annotations

from collections.abc import Callable

import docker.errors

from runner.engine.api import Resource
from runner.engine.docker.client import Client, call, ignore_gone, timestamp
from runner.errors import EngineError
from runner.model.pipeline import Pairs


class DockerResources(Client):
    """`runner.engine.api.Resources` over the SDK's low-level API."""

    def create_network(self, name: str, labels: Pairs) -> str:
        with self.in_flight.create(dict(labels)):
            created = call(
                f"creating network {name}",
                lambda: self.api.create_network(name, driver="bridge", labels=dict(labels)),
            )
        return str(created["Id"])

    def remove_network(self, name: str) -> None:
        ignore_gone(f"removing network {name}", lambda: self.api.remove_network(name), 404)

    def network_endpoints(self, name: str) -> int | None:
        try:
            found = call(f"inspecting network {name}", lambda: self.api.inspect_network(name))
        except EngineError as error:
            if isinstance(error.__cause__, docker.errors.NotFound):
                return None
            raise
        if str(found.get("Name")) != name:
            return None  # the engine also matches a network whose id starts with `name`
        return len(found.get("Containers") or {})

    def ensure_volume(self, name: str, labels: Pairs) -> bool:
        try:
            self.api.inspect_volume(name)
            return False
        except docker.errors.NotFound:
            pass
        with self.in_flight.create(dict(labels)):
            call(
                f"creating volume {name}",
                lambda: self.api.create_volume(name, labels=dict(labels)),
            )
        return True

    def image_sizes(self) -> dict[str, int]:
        usage = call("reading disk usage", self.api.df)
        return {
            str(i["Id"]): max(0, int(i.get("Size") or 0) - max(0, int(i.get("SharedSize") or 0)))
            for i in usage.get("Images") or ()
        }

    def volume_sizes(self) -> dict[str, int]:
        usage = call("reading disk usage", self.api.df)
        return {
            str(v["Name"]): int((v.get("UsageData") or {}).get("Size") or 0)
            for v in usage.get("Volumes") or ()
        }

    def labelled(self, label: str) -> list[Resource]:
        filters = {"label": label}
        return [*self._containers(filters), *self._networks(filters), *self._volumes(filters)]

    def _containers(self, filters: dict[str, str]) -> list[Resource]:
        found = call("listing containers", lambda: self.api.containers(all=True, filters=filters))
        return [
            Resource(
                kind="container", id=c["Id"], name=c["Names"][0].lstrip("/"), labels=c["Labels"]
            )
            for c in found
        ]

    def _networks(self, filters: dict[str, str]) -> list[Resource]:
        found = call("listing networks", lambda: self.api.networks(filters=filters))
        return [
            Resource(kind="network", id=n["Id"], name=n["Name"], labels=n.get("Labels") or {})
            for n in found
        ]

    def _volumes(self, filters: dict[str, str]) -> list[Resource]:
        found = call("listing volumes", lambda: self.api.volumes(filters=filters))
        return [
            Resource(
                kind="volume",
                id=v["Name"],
                name=v["Name"],
                labels=v.get("Labels") or {},
                created=timestamp(v.get("CreatedAt")),
            )
            for v in (found.get("Volumes") or [])
        ]

    def remove_resource(self, resource: Resource) -> None:
        removers: dict[str, Callable[[], object]] = {
            "container": lambda: self.api.remove_container(resource.id, v=True, force=True),
            "network": lambda: self.api.remove_network(resource.id),
            "volume": lambda: self.api.remove_volume(resource.id, force=True),
        }
        ignore_gone(f"removing {resource.kind} {resource.name}", removers[resource.kind], 404)
