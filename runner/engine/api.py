"""The container engine as dockstep needs it, in dockstep's own value types.

`docker_engine.py` implements this with the Docker SDK; unit tests use a fake.
Nothing above this line imports `docker`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from runner.model.pipeline import Pairs

OutputSink = Callable[[bytes], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Mount:
    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerSpec:
    image: str
    name: str
    command: tuple[str, ...]
    labels: Pairs
    network: str
    workdir: str
    env: Pairs = ()
    mounts: tuple[Mount, ...] = ()
    tmpfs: tuple[str, ...] = ()  # writable in-memory directories (HOME for non-root users)
    user: str | None = None
    memory: int | None = None
    cpus: float | None = None
    pids: int | None = None
    privileged: bool = False
    ports: tuple[tuple[int, int], ...] = ()  # (host port, container port), on 127.0.0.1 only


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerState:
    running: bool
    exit_code: int | None
    oom_killed: bool  # the engine saw the main process OOM-killed
    oom_kills: int = 0  # OOM kills in the container's cgroup so far (steps run by exec)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerInfo:
    id: str
    name: str
    image: str  # the image id it runs
    running: bool
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildRequest:
    context: str  # absolute path
    dockerfile: str  # relative to context
    tag: str
    args: Pairs = ()
    target: str | None = None
    labels: Pairs = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """Something dockstep created, as found by its labels."""

    kind: str  # container | network | volume
    id: str
    name: str
    labels: Mapping[str, str]
    created: float = 0.0  # seconds since the epoch, when the engine says


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageInfo:
    id: str
    tags: tuple[str, ...]
    labels: Mapping[str, str]
    size: int  # bytes
    created: float  # seconds since the epoch


class ContainerEngine(Protocol):
    def ping(self) -> None:
        """Raise EngineUnavailable when no engine answers."""

    def image_id(self, reference: str) -> str | None:
        """The local image id for a reference, or None when it is not present."""

    def pull(self, reference: str) -> str:
        """Pull an image and return its id; raise ImageUnavailable-ready RuntimeError text."""

    def build(self, request: BuildRequest, log: OutputSink) -> str:
        """Build an image, streaming its output, and return its id."""

    def create_network(self, name: str, labels: Pairs) -> str: ...

    def remove_network(self, name: str) -> None: ...

    def create(self, spec: ContainerSpec) -> str:
        """Create a container (not started); return its id."""

    def start(self, container: str) -> None: ...

    def attach(self, container: str) -> Iterator[bytes]:
        """A created container's output stream, ending when its command ends."""

    def wait(self, container: str) -> int:
        """The exit code of a container's command, once it has ended."""

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
        """Run a command inside a running container, streaming its output; its exit code."""

    def copy_in(self, container: str, path: str, archive: bytes) -> None:
        """Unpack a tar archive at `path` in a container (created or running), keeping the
        owners its entries name; a path under a mount point lands in the mounted volume."""

    def state(self, container: str) -> ContainerState: ...

    def find(self, name: str) -> ContainerInfo | None:
        """The container with this name, running or not; None when there is none."""

    def rename(self, container: str, name: str) -> None: ...

    def stop(self, container: str, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds; a no-op when not running."""

    def kill(self, container: str) -> None:
        """Stop a container now; a no-op when it is already gone."""

    def remove(self, container: str) -> None:
        """Remove a container (and its anonymous volumes); a no-op when it is gone."""

    def labelled(self, label: str) -> list[Resource]:
        """Every container, network and volume carrying `label`."""

    def remove_resource(self, resource: Resource) -> None: ...

    def commit(self, container: str, *, tag: str, labels: Pairs, like: str) -> str:
        """Snapshot a container's filesystem as an image tagged `tag`; return its id.

        The image keeps the command and entrypoint of `like` (the image the container
        came from), not the container's own, and gains `labels`.
        """

    def tag(self, image: str, reference: str) -> None: ...

    def push(self, reference: str, auth: tuple[str, str] | None = None) -> str:
        """Push a tagged image (with user/password, else the Docker config's credentials);
        return the digest the registry gave it."""

    def images(self, label: str) -> list[ImageInfo]:
        """Every image carrying `label` (NAME or NAME=VALUE)."""

    def remove_image(self, reference: str) -> None:
        """Remove an image; a no-op when it is gone."""

    def ensure_volume(self, name: str, labels: Pairs) -> bool:
        """Create a named volume unless it exists; True when it was created now."""

    def volume_sizes(self) -> dict[str, int]:
        """Bytes used by each volume, by name (as far as the engine knows)."""
