"""The one module that imports the Docker SDK.

SDK exceptions are translated here into dockstep's errors, and the SDK's traps are
absorbed here: build/pull report failures as in-band `{"error": …}` lines rather than
raising, and `auto_remove` races log reading (so containers are removed explicitly).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

import docker
import docker.errors
import requests.exceptions
from docker.utils import kwargs_from_env
from docker.utils.socket import frames_iter

from runner.engine.api import (
    BuildRequest,
    ContainerInfo,
    ContainerSpec,
    ContainerState,
    ImageInfo,
    OutputSink,
    Resource,
)
from runner.errors import EngineError, EngineUnavailable
from runner.model.pipeline import Pairs

T = TypeVar("T")
OOM_PROBE = (
    "sh",
    "-c",
    "for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do"
    ' [ -r "$f" ] && while read -r k v; do [ "$k" = oom_kill ] && echo "$v"; done < "$f";'
    " done; true",
)
API_VERSION = "1.41"  # Docker 20.10; pinning it saves a version round trip per client


def _call(what: str, action: Callable[[], T]) -> T:
    """Run an SDK call, translating its failures."""
    try:
        return action()
    except (requests.exceptions.ConnectionError, FileNotFoundError) as error:
        raise EngineUnavailable(f"no Docker engine answers at {_where()}: {error}") from error
    except docker.errors.DockerException as error:
        raise EngineError(f"{what}: {_explain(error)}") from error


def _timestamp(text: str | None) -> float:
    """An RFC 3339 time from the engine (e.g. a volume's CreatedAt) as epoch seconds."""
    if not text:
        return 0.0
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return 0.0


def _where() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def _explain(error: docker.errors.DockerException) -> str:
    if isinstance(error, docker.errors.APIError) and error.explanation:
        return str(error.explanation)
    return str(error)


def _in_band(stream: Iterator[dict[str, Any]], log: OutputSink | None) -> None:
    """Consume a build/pull progress stream, raising on its in-band error lines."""
    for chunk in stream:
        if "error" in chunk:
            raise EngineError(str(chunk.get("error")).strip())
        text = chunk.get("stream")
        if text and log is not None:
            log(str(text).encode())


def _frames(sock: Any) -> Iterator[bytes]:
    """The output frames of a hijacked attach/exec connection, then the connection closed.

    The SDK's `stream=True` forms leave closing to a caller that cannot reach the
    response, so every step would leak a socket.
    """
    try:
        for _stream, data in frames_iter(sock, tty=False):  # type: ignore[no-untyped-call]
            yield data
    finally:
        # the SDK parks the HTTP response on the socket; closing it closes the connection
        response = getattr(sock, "_response", None)
        (response or sock).close()


class DockerEngine:
    """`runner.engine.api.ContainerEngine` over the Docker SDK's low-level API."""

    def __init__(self, *, timeout: int = 120) -> None:
        self._timeout = timeout  # per API request; output streams have none

    @cached_property
    def api(self) -> docker.APIClient:
        def connect() -> docker.APIClient:
            kwargs = kwargs_from_env()
            return docker.APIClient(version=API_VERSION, timeout=self._timeout, **kwargs)

        return _call("connecting to Docker", connect)

    def ping(self) -> None:
        _call("ping", self.api.ping)

    def close(self) -> None:
        """Close the client's pooled connections."""
        if "api" in self.__dict__:
            self.api.close()

    def image_id(self, reference: str) -> str | None:
        try:
            found = self.api.inspect_image(reference)  # type: ignore[no-untyped-call]
            return str(found["Id"])
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as error:
            if error.status_code in (400, 404):  # malformed or unknown reference
                return None
            raise EngineError(f"inspecting {reference}: {_explain(error)}") from error
        except requests.exceptions.ConnectionError as error:
            raise EngineUnavailable("no Docker engine answers") from error

    def pull(self, reference: str) -> str:
        _call(
            f"pulling {reference}",
            lambda: _in_band(self.api.pull(reference, stream=True, decode=True), None),
        )
        found = self.image_id(reference)
        if found is None:
            raise EngineError(f"pulled {reference} but the engine does not list it")
        return found

    def build(self, request: BuildRequest, log: OutputSink) -> str:
        stream = _call(
            f"building {request.context}",
            lambda: self.api.build(
                path=request.context,
                dockerfile=request.dockerfile,
                tag=request.tag,
                buildargs=dict(request.args),
                target=request.target,
                labels=dict(request.labels),
                rm=True,
                forcerm=True,
                decode=True,
            ),
        )
        _call(f"building {request.context}", lambda: _in_band(stream, log))
        found = self.image_id(request.tag)
        if found is None:
            raise EngineError(f"built {request.tag} but the engine does not list it")
        return found

    def create_network(self, name: str, labels: Pairs) -> str:
        created = _call(
            f"creating network {name}",
            lambda: self.api.create_network(name, driver="bridge", labels=dict(labels)),
        )
        return str(created["Id"])

    def remove_network(self, name: str) -> None:
        self._ignore_gone(f"removing network {name}", lambda: self.api.remove_network(name), 404)

    def create(self, spec: ContainerSpec) -> str:
        host_config = self.api.create_host_config(
            binds=[f"{m.source}:{m.target}:{'ro' if m.read_only else 'rw'}" for m in spec.mounts],
            tmpfs=dict.fromkeys(spec.tmpfs, "mode=1777"),
            network_mode=spec.network,
            mem_limit=spec.memory,
            nano_cpus=int(spec.cpus * 1e9) if spec.cpus else None,
            pids_limit=spec.pids,
            privileged=spec.privileged,
            init=True,
            port_bindings={port: ("127.0.0.1", host) for host, port in spec.ports} or None,
        )
        created = _call(
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
                detach=True,
            ),
        )
        return str(created["Id"])

    def start(self, container: str) -> None:
        _call("starting container", lambda: self.api.start(container))

    def attach(self, container: str) -> Iterator[bytes]:
        """The container's output from its start; attach before starting to miss nothing."""
        # No `logs`: replaying the log while streaming can repeat output the container
        # wrote as the attach began; attached before the start, the stream misses nothing.
        params = {"stdout": 1, "stderr": 1, "stream": 1}
        sock = _call("attaching to container", lambda: self.api.attach_socket(container, params))
        return _frames(sock)

    def wait(self, container: str) -> int:
        result = _call("waiting for container", lambda: self.api.wait(container))
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
        created = _call(
            "creating exec",
            lambda: self.api.exec_create(
                container, list(command), environment=dict(env), workdir=workdir, user=user or ""
            ),
        )
        exec_id = created["Id"]
        sock = _call("starting exec", lambda: self.api.exec_start(exec_id, socket=True))
        for chunk in _frames(sock):
            output(chunk)
        code = _call("inspecting exec", lambda: self.api.exec_inspect(exec_id)).get("ExitCode")
        return -1 if code is None else int(code)

    def copy_in(self, container: str, path: str, archive: bytes) -> None:
        _call("copying into container", lambda: self.api.put_archive(container, path, archive))

    def state(self, container: str) -> ContainerState:
        info = _call("inspecting container", lambda: self.api.inspect_container(container))
        state = info["State"]
        running = bool(state.get("Running"))
        return ContainerState(
            running=running,
            exit_code=state.get("ExitCode"),
            oom_killed=bool(state.get("OOMKilled")),
            oom_kills=self._oom_kills(container) if running else 0,
        )

    def _oom_kills(self, container: str) -> int:
        """The kernel's OOM-kill count for the container's cgroup (v1 or v2).

        The engine marks OOMKilled only when the main process dies; a step run by exec
        can be OOM-killed while the container lives on, so ask the cgroup itself.
        """
        chunks: list[bytes] = []
        self.exec(container, OOM_PROBE, env=(), workdir="/", user=None, output=chunks.append)
        text = b"".join(chunks).decode(errors="replace").split()
        return int(text[0]) if text and text[0].isdigit() else 0

    def find(self, name: str) -> ContainerInfo | None:
        try:
            info = self.api.inspect_container(name)
        except docker.errors.NotFound:
            return None
        except docker.errors.DockerException as error:
            raise EngineError(f"inspecting {name}: {_explain(error)}") from error
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
        _call(f"renaming to {name}", lambda: self.api.rename(container, name))

    def stop(self, container: str, timeout: float = 10) -> None:
        self._ignore_gone(
            "stopping container", lambda: self.api.stop(container, timeout=int(timeout)), 404, 304
        )

    def kill(self, container: str) -> None:
        self._ignore_gone("killing container", lambda: self.api.kill(container), 404, 409)

    def remove(self, container: str) -> None:
        self._ignore_gone(
            "removing container",
            lambda: self.api.remove_container(container, v=True, force=True),
            404,
            409,
        )

    def labelled(self, label: str) -> list[Resource]:
        filters = {"label": label}
        found = [
            Resource(
                kind="container", id=c["Id"], name=c["Names"][0].lstrip("/"), labels=c["Labels"]
            )
            for c in _call(
                "listing containers", lambda: self.api.containers(all=True, filters=filters)
            )
        ]
        found += [
            Resource(kind="network", id=n["Id"], name=n["Name"], labels=n.get("Labels") or {})
            for n in _call("listing networks", lambda: self.api.networks(filters=filters))
        ]
        volumes = _call("listing volumes", lambda: self.api.volumes(filters=filters))
        found += [
            Resource(
                kind="volume",
                id=v["Name"],
                name=v["Name"],
                labels=v.get("Labels") or {},
                created=_timestamp(v.get("CreatedAt")),
            )
            for v in (volumes.get("Volumes") or [])
        ]
        return found

    def remove_resource(self, resource: Resource) -> None:
        removers: dict[str, Callable[[], object]] = {
            "container": lambda: self.api.remove_container(resource.id, v=True, force=True),
            "network": lambda: self.api.remove_network(resource.id),
            "volume": lambda: self.api.remove_volume(resource.id, force=True),
        }
        self._ignore_gone(f"removing {resource.kind} {resource.name}", removers[resource.kind], 404)

    @staticmethod
    def _ignore_gone(what: str, action: Callable[[], object], *statuses: int) -> None:
        """Run a removal, treating the given HTTP statuses as "already done".

        404 is "already gone"; 409 is "already being removed" or "not running" (for kill).
        """
        try:
            _call(what, action)
        except EngineError as error:
            cause = error.__cause__
            if isinstance(cause, docker.errors.APIError) and cause.status_code in statuses:
                return
            raise

    def commit(self, container: str, *, tag: str, labels: Pairs, like: str) -> str:
        base = _call("inspecting image", lambda: self.api.inspect_image(like))  # type: ignore[no-untyped-call]
        config = base.get("Config") or {}
        info = _call("inspecting container", lambda: self.api.inspect_container(container))
        # The engine merges the container's own labels into the image and a label cannot
        # be dropped, only emptied: blank the ones the image did not have (run, owner…).
        blanked = dict.fromkeys((info.get("Config") or {}).get("Labels") or {}, "")
        conf = {
            "Cmd": config.get("Cmd"),
            "Entrypoint": config.get("Entrypoint"),
            "User": config.get("User") or "0",  # empty would take the container's
            "WorkingDir": config.get("WorkingDir") or "/",
            "Labels": {**blanked, **(config.get("Labels") or {}), **dict(labels)},
        }
        repository, _, name = tag.rpartition(":")
        done = _call(
            f"committing {tag}",
            lambda: self.api.commit(container, repository=repository, tag=name, conf=conf),
        )
        return str(done["Id"])

    def tag(self, image: str, reference: str) -> None:
        repository, _, name = reference.rpartition(":")
        _call(f"tagging {reference}", lambda: self.api.tag(image, repository, name, force=True))

    def push(self, reference: str, auth: tuple[str, str] | None = None) -> str:
        repository, _, name = reference.rpartition(":")
        digest = ""
        config = {"username": auth[0], "password": auth[1]} if auth else None
        stream = _call(
            f"pushing {reference}",
            lambda: self.api.push(
                repository, tag=name, stream=True, decode=True, auth_config=config
            ),
        )
        for chunk in _call(f"pushing {reference}", lambda: list(stream)):
            if "error" in chunk:  # the SDK does not raise on in-band errors
                raise EngineError(f"pushing {reference}: {str(chunk['error']).strip()}")
            digest = str((chunk.get("aux") or {}).get("Digest") or digest)
        return digest

    def images(self, label: str) -> list[ImageInfo]:
        found = _call("listing images", lambda: self.api.images(filters={"label": label}))
        return [
            ImageInfo(
                id=str(i["Id"]),
                tags=tuple(t for t in (i.get("RepoTags") or ()) if t != "<none>:<none>"),
                labels=i.get("Labels") or {},
                size=int(i.get("Size") or 0),
                created=float(i.get("Created") or 0),
            )
            for i in found
        ]

    def remove_image(self, reference: str) -> None:
        self._ignore_gone(
            f"removing image {reference}", lambda: self.api.remove_image(reference), 404
        )

    def ensure_volume(self, name: str, labels: Pairs) -> bool:
        try:
            self.api.inspect_volume(name)
            return False
        except docker.errors.NotFound:
            pass
        _call(f"creating volume {name}", lambda: self.api.create_volume(name, labels=dict(labels)))
        return True

    def volume_sizes(self) -> dict[str, int]:
        usage = _call("reading disk usage", self.api.df)
        return {
            str(v["Name"]): int((v.get("UsageData") or {}).get("Size") or 0)
            for v in usage.get("Volumes") or ()
        }
