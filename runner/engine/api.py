"""The container engine as dockstep needs it, in dockstep's own value types.

One Protocol per role (`Containers`, `Images`, `Resources`), `ContainerEngine` the union
of them; each consumer is typed by the roles it uses, so a fake (or another backend)
for one role need not pretend to be the others. `engine/docker/` implements them with
the Docker SDK; unit tests use a fake. Nothing above this line imports `docker`.
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
    no_new_privileges: bool = False  # setuid/file capabilities cannot raise a process's rights
    ports: tuple[tuple[int, int], ...] = ()  # (host port, container port), on 127.0.0.1 only
    aliases: tuple[str, ...] = ()  # host names of the container on `network`


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerState:
    running: bool
    exit_code: int | None
    oom_killed: bool  # the engine saw an OOM kill in the container
    health: str | None = None  # starting | healthy | unhealthy; None: the image has no check


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
    files: Pairs = ()  # (path, text) added to the context; `dockerfile` may name one


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


class Images(Protocol):
    """Images: found, pulled, built, committed, tagged, pushed, listed, removed."""

    def image_id(self, reference: str) -> str | None:
        """The local image id for a reference, or None when it is not present."""

    def image_env(self, image: str) -> Pairs:
        """The env an image's config gives its containers (`PATH`, ...), as sorted pairs."""

    def has_healthcheck(self, image: str) -> bool:
        """Whether the image's config has a HEALTHCHECK (one that is not `NONE`)."""

    def pull(self, reference: str) -> str:
        """Pull an image and return its id; raise ImageUnavailable-ready RuntimeError text."""

    def build(self, request: BuildRequest, log: OutputSink) -> str:
        """Build an image, streaming its output, and return its id."""

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


class Containers(Protocol):
    """Containers: created, started, streamed, exec'd into, inspected, stopped, removed."""

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

    def oom_kills(self, container: str) -> int | None:
        """The kernel's OOM-kill count of a running container's cgroup so far, exec'd
        processes included; None when the container is not running."""

    def find(self, name: str) -> ContainerInfo | None:
        """The container with this name, running or not; None when there is none."""

    def rename(self, container: str, name: str) -> None: ...

    def stop(self, container: str, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds; a no-op when not running."""

    def kill(self, container: str) -> None:
        """Stop a container now; a no-op when it is already gone."""

    def remove(self, container: str) -> None:
        """Remove a container (and its anonymous volumes); a no-op when it is gone."""


class Resources(Protocol):
    """What a run creates besides containers (networks, volumes), and the labelled sweep."""

    def create_network(self, name: str, labels: Pairs) -> str: ...

    def remove_network(self, name: str) -> None: ...

    def network_endpoints(self, name: str) -> int | None:
        """How many containers are attached to a network; None when there is no such one."""

    def ensure_volume(self, name: str, labels: Pairs) -> bool:
        """Create a named volume unless it exists; True when it was created now."""

    def image_sizes(self) -> dict[str, int]:
        """Bytes each image holds that no other image shares (its own layers), by id."""

    def volume_sizes(self) -> dict[str, int]:
        """Bytes used by each volume, by name (as far as the engine knows)."""

    def labelled(self, label: str) -> list[Resource]:
        """Every container, network and volume carrying `label`."""

    def remove_resource(self, resource: Resource) -> None: ...

    def close_run(self, run_id: str, timeout: float) -> bool:
        """Refuse any further create labelled with this run, and wait (at most `timeout`
        seconds) for those in flight to land, so a sweep after it misses nothing."""


class CacheStore(Images, Resources, Protocol):
    """What the dependency cache keeps on the engine: layers (images) and volumes."""


class ContainerEngine(Containers, Images, Resources, Protocol):
    """The whole engine: every role, and whether it answers at all."""

    def ping(self) -> None:
        """Raise EngineUnavailable when no engine answers."""
