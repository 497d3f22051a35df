"""Containers over the Docker SDK: create, start, stream, exec, inspect, stop, remove.

`auto_remove` races log reading, so containers are removed explicitly; output is read
from hijacked sockets that are closed once read (see `client.frames`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker.errors

from runner.engine.api import ContainerInfo, ContainerSpec, ContainerState, OutputSink
from runner.engine.docker import cgroup
from runner.engine.docker.client import Client, call, explain, frames, ignore_gone, is_local
from runner.errors import EngineError
from runner.model.pipeline import Pairs

OOM_PROBE = (
    "sh",
    "-c",
    "for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do"
    ' [ -r "$f" ] && while read -r k v; do [ "$k" = oom_kill ] && echo "$v"; done < "$f";'
    " done; true",
)


class DockerContainers(Client):
    """`runner.engine.api.Containers` over the SDK's low-level API."""

    def create(self, spec: ContainerSpec) -> str:
        host_config = self._host_config(spec)
        with self.in_flight.create(dict(spec.labels)):
            created = self._create(spec, host_config)
        return str(created["Id"])

    def _create(self, spec: ContainerSpec, host_config: dict[str, Any]) -> dict[str, Any]:
        return call(
            f"creating container {spec.name}",
            lambda: self.api.create_container(
                spec.image,
                command=list(spec.command) or None,
                name=spec.name,
                environment=dict(spec.env),
                working_dir=spec.workdir,
                user=spec.user or "",
                labels=dict(spec.labels),
                host_config=host_config,
                ports=[port for _, port in spec.ports] or None,
                networking_config=self._aliases(spec),
                detach=True,
            ),
        )

    def _aliases(self, spec: ContainerSpec) -> dict[str, Any] | None:
        """The container's host names on its network (a job's services)."""
        if not spec.aliases:
            return None
        endpoint = self.api.create_endpoint_config(aliases=list(spec.aliases))
        return {"EndpointsConfig": {spec.network: endpoint}}

    def _host_config(self, spec: ContainerSpec) -> dict[str, Any]:
        return self.api.create_host_config(
            binds=[f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}" for m in spec.mounts],
            tmpfs=dict.fromkeys(spec.tmpfs, "mode=1777"),
            network_mode=spec.network,
            mem_limit=spec.memory,
            nano_cpus=int(spec.cpus * 1e9) if spec.cpus else None,
            pids_limit=spec.pids,
            privileged=spec.privileged,
            security_opt=["no-new-privileges"] if spec.no_new_privileges else None,
            init=True,
            port_bindings={port: ("127.0.0.1", host) for host, port in spec.ports} or None,
        )

    def copy_in(self, container: str, path: str, archive: bytes) -> None:
        call("copying into container", lambda: self.api.put_archive(container, path, archive))

    def start(self, container: str) -> None:
        call("starting container", lambda: self.api.start(container))

    def attach(self, container: str) -> Iterator[bytes]:
        """The container's output from its start; attach before starting to miss nothing."""
        # No `logs`: replaying the log while streaming can repeat output the container
        # wrote as the attach began; attached before the start, the stream misses nothing.
        params = {"stdout": 1, "stderr": 1, "stream": 1}
        sock = call("attaching to container", lambda: self.api.attach_socket(container, params))
        return frames(sock)

    def wait(self, container: str) -> int:
        result = call("waiting for container", lambda: self.api.wait(container))
        return int(result.get("StatusCode", -1))

    def exec(
        self,
        container: str,
        command: tuple[str, ...],
        *,
        env: Pairs,
        workdir: str,
        user: str | None,
        output: OutputSink,
    ) -> int:
        created = call(
            "creating exec",
            lambda: self.api.exec_create(
                container, list(command), environment=dict(env), workdir=workdir, user=user or ""
            ),
        )
        exec_id = created["Id"]
        sock = call("starting exec", lambda: self.api.exec_start(exec_id, socket=True))
        for chunk in frames(sock):
            output(chunk)
        code = call("inspecting exec", lambda: self.api.exec_inspect(exec_id)).get("ExitCode")
        return -1 if code is None else int(code)

    def state(self, container: str) -> ContainerState:
        info = call("inspecting container", lambda: self.api.inspect_container(container))
        state = info["State"]
        return ContainerState(
            running=bool(state.get("Running")),
            exit_code=state.get("ExitCode"),
            oom_killed=bool(state.get("OOMKilled")),
            health=(state.get("Health") or {}).get("Status"),
        )

    def oom_kills(self, container: str) -> int | None:
        """Read from the host's cgroup files when the engine is local (no round trip),
        else counted by a probe exec'd into the container."""
        path = cgroup.counter_file(container) if is_local() else None
        found = cgroup.read_oom_kills(path) if path else None
        return found if found is not None else self._probed_oom_kills(container)

    def _probed_oom_kills(self, container: str) -> int | None:
        chunks: list[bytes] = []
        try:
            self.exec(container, OOM_PROBE, env=(), workdir="/", user=None, output=chunks.append)
        except EngineError as error:
            if _status(error) in (404, 409):  # gone, or not running
                return None
            raise
        text = b"".join(chunks).decode(errors="replace").split()
        return int(text[0]) if text and text[0].isdigit() else 0

    def find(self, name: str) -> ContainerInfo | None:
        try:
            info = self.api.inspect_container(name)
        except docker.errors.NotFound:
            return None
        except docker.errors.DockerException as error:
            raise EngineError(f"inspecting {name}: {explain(error)}") from error
        if str(info["Name"]).lstrip("/") != name:
            return None  # the engine also matches a container whose id starts with `name`
        return ContainerInfo(
            id=str(info["Id"]),
            name=str(info["Name"]).lstrip("/"),
            image=str(info["Image"]),
            running=bool(info["State"].get("Running")),
            labels=(info.get("Config") or {}).get("Labels") or {},
        )

    def rename(self, container: str, name: str) -> None:
        call(f"renaming to {name}", lambda: self.api.rename(container, name))

    def stop(self, container: str, timeout: float = 10) -> None:
        ignore_gone(
            "stopping container", lambda: self.api.stop(container, timeout=int(timeout)), 404, 304
        )

    def kill(self, container: str) -> None:
        ignore_gone("killing container", lambda: self.api.kill(container), 404, 409)

    def remove(self, container: str) -> None:
        ignore_gone(
            "removing container",
            lambda: self.api.remove_container(container, v=True, force=True),
            404,
            409,
        )


def _status(error: EngineError) -> int | None:
    cause = error.__cause__
    return cause.status_code if isinstance(cause, docker.errors.APIError) else None
