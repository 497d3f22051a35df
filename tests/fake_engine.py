"""A fake `ContainerEngine` answering chosen requests, for unit tests of what sits above it.

It records every call; a step's behaviour is scripted by the command it runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from runner.engine.api import (
    BuildRequest,
    ContainerInfo,
    ContainerSpec,
    ContainerState,
    ImageInfo,
    OutputSink,
    Resource,
)
from runner.engine.inflight import InFlight
from runner.errors import EngineError
from runner.execute.containers import TERMINATE
from runner.model.pipeline import Pairs

Script = Callable[[str], tuple[int, bytes]]  # step command -> (exit code, output)


@dataclass
class FakeEngine:
    present: dict[str, str] = field(default_factory=dict)  # image reference -> id
    pullable: set[str] = field(default_factory=set)
    script: Script = lambda _command: (0, b"")
    step_seconds: float = 0.0
    durations: dict[str, float] = field(default_factory=dict)  # per step command
    calls: list[tuple[str, str]] = field(default_factory=list)
    containers: dict[str, ContainerSpec] = field(default_factory=dict)  # still present
    created: dict[str, ContainerSpec] = field(default_factory=dict)  # ever created
    networks: dict[str, Pairs] = field(default_factory=dict)  # name -> labels
    started: set[str] = field(default_factory=set)
    killed: set[str] = field(default_factory=set)
    exec_envs: list[dict[str, str]] = field(default_factory=list)
    exec_users: list[str | None] = field(default_factory=list)
    exit_codes: dict[str, int] = field(default_factory=dict)
    volumes: dict[str, Pairs] = field(default_factory=dict)
    push_errors: list[str] = field(default_factory=list)  # raised by the next pushes, in order
    image_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    image_envs: dict[str, Pairs] = field(default_factory=dict)  # image id -> its config's env
    healthchecked: set[str] = field(default_factory=set)  # image ids with a HEALTHCHECK
    own_sizes: dict[str, int] = field(default_factory=dict)  # image id -> bytes of its own
    oom_steps: set[str] = field(default_factory=set)  # step commands that lose a child to OOM
    oom_counts: dict[str, int] = field(default_factory=dict)  # the cgroup counter, by container
    died: dict[str, int] = field(default_factory=dict)  # containers whose command ended: exit code
    in_flight: InFlight = field(default_factory=InFlight)
    archives: list[tuple[str, str, bytes]] = field(default_factory=list)  # copy_in calls
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, call: str, subject: str) -> None:
        with self._lock:
            self.calls.append((call, subject))

    def ping(self) -> None:
        self._record("ping", "")

    def image_id(self, reference: str) -> str | None:
        return self.present.get(reference)

    def image_env(self, image: str) -> Pairs:
        if image not in self.present.values():
            raise EngineError(f"no such image: {image}")
        return self.image_envs.get(image, ())

    def has_healthcheck(self, image: str) -> bool:
        return image in self.healthchecked

    def pull(self, reference: str) -> str:
        self._record("pull", reference)
        if reference not in self.pullable:
            raise EngineError(f"pull access denied for {reference}")
        self.present[reference] = f"sha256:{len(self.present):064d}"
        return self.present[reference]

    def build(self, request: BuildRequest, log: OutputSink) -> str:
        self._record("build", request.tag)
        self.present[request.tag] = f"sha256:{len(self.present):064d}"
        return self.present[request.tag]

    def create_network(self, name: str, labels: Pairs) -> str:
        with self.in_flight.create(dict(labels)):
            self.networks[name] = labels
        return name

    def remove_network(self, name: str) -> None:
        self.networks.pop(name, None)

    def network_endpoints(self, name: str) -> int | None:
        self._record("network_endpoints", name)
        if name not in self.networks:
            return None
        with self._lock:
            return sum(spec.network == name for spec in self.containers.values())

    def create(self, spec: ContainerSpec) -> str:
        self._record("create", spec.name)
        with self.in_flight.create(dict(spec.labels)), self._lock:
            self.containers[spec.name] = spec
            self.created[spec.name] = spec
        return spec.name

    def start(self, container: str) -> None:
        self._record("start", container)
        if container not in self.containers:
            raise EngineError(f"no such container: {container}")
        self.started.add(container)
        self.killed.discard(container)  # like the engine: a killed container starts again

    def attach(self, container: str) -> Iterator[bytes]:
        """Runs the container's command (its last word) as a step when iterated."""
        command = self.containers[container].command[-1]
        code, text = self._step(container, command)
        self.exit_codes[container] = code
        yield text

    def wait(self, container: str) -> int:
        return self.exit_codes.get(container, 137)  # an idle container ends only when killed

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
        if command == TERMINATE:  # a graceful stop: the fake's steps all obey SIGTERM
            self._record("terminate", container)
            self.killed.add(container)
            return 0
        self._record("exec", command[-1])
        if container in self.died or container not in self.started:
            raise EngineError(f"creating exec: Container {container} is not running")
        with self._lock:
            self.exec_envs.append(dict(env))
            self.exec_users.append(user)
        code, text = self._step(container, command[-1])
        output(text)
        return code

    def _step(self, container: str, command: str) -> tuple[int, bytes]:
        deadline = time.monotonic() + self.durations.get(command, self.step_seconds)
        while time.monotonic() < deadline and container not in self.killed:
            time.sleep(0.005)
        if container in self.killed:
            return 137, b""
        if command in self.oom_steps:
            self.oom_counts[container] = self.oom_counts.get(container, 0) + 1
        return self.script(command)

    def copy_in(self, container: str, path: str, archive: bytes) -> None:
        self._record("copy_in", f"{container}:{path}")
        if container not in self.containers:
            raise EngineError(f"no such container: {container}")
        with self._lock:
            self.archives.append((container, path, archive))

    def state(self, container: str) -> ContainerState:
        running = self._running(container)
        return ContainerState(running=running, exit_code=self.died.get(container), oom_killed=False)

    def oom_kills(self, container: str) -> int | None:
        return self.oom_counts.get(container, 0) if self._running(container) else None

    def _running(self, container: str) -> bool:
        alive = container not in self.killed and container not in self.died
        return container in self.started and alive

    def find(self, name: str) -> ContainerInfo | None:
        spec = self.containers.get(name)
        if spec is None:
            return None
        running = name in self.started and name not in self.killed
        return ContainerInfo(
            id=name, name=name, image=spec.image, running=running, labels=dict(spec.labels)
        )

    def rename(self, container: str, name: str) -> None:
        self._record("rename", f"{container}->{name}")
        with self._lock:
            self.containers[name] = self.containers.pop(container)
            if container in self.started:
                self.started.discard(container)
                self.started.add(name)

    def stop(self, container: str, timeout: float = 10) -> None:
        self._record("stop", container)
        self.started.discard(container)

    def kill(self, container: str) -> None:
        self._record("kill", container)
        self.killed.add(container)

    def remove(self, container: str) -> None:
        self._record("remove", container)
        with self._lock:
            self.containers.pop(container, None)

    def labelled(self, label: str) -> list[Resource]:
        key, _, value = label.partition("=")

        def matches(labels: Pairs) -> bool:
            found = dict(labels)
            return key in found and (not value or found[key] == value)

        found = [
            Resource(kind="container", id=name, name=name, labels=dict(spec.labels))
            for name, spec in self.containers.items()
            if matches(spec.labels)
        ]
        found += [
            Resource(kind="network", id=name, name=name, labels=dict(labels))
            for name, labels in self.networks.items()
            if matches(labels)
        ]
        return found + [
            Resource(kind="volume", id=name, name=name, labels=dict(labels))
            for name, labels in self.volumes.items()
            if matches(labels)
        ]

    def remove_resource(self, resource: Resource) -> None:
        self._record("remove_resource", resource.name)
        if resource.kind == "container":
            self.remove(resource.id)
        elif resource.kind == "network":
            self.remove_network(resource.id)
        else:
            self.volumes.pop(resource.id, None)

    def close_run(self, run_id: str, timeout: float) -> bool:
        return self.in_flight.close(run_id, timeout)

    def commit(self, container: str, *, tag: str, labels: Pairs, like: str) -> str:
        self._record("commit", tag)
        self.present[tag] = f"sha256:{len(self.present):064d}"
        self.image_labels[tag] = dict(labels)
        return self.present[tag]

    def tag(self, image: str, reference: str) -> None:
        self.present[reference] = image

    def push(self, reference: str, auth: tuple[str, str] | None = None) -> str:
        self._record("push", reference)
        if self.push_errors:
            raise EngineError(self.push_errors.pop(0))
        if reference not in self.present:
            raise EngineError(f"no such image {reference}")
        self.pullable.add(reference)
        return "sha256:" + "d" * 64

    def images(self, label: str) -> list[ImageInfo]:
        key, _, value = label.partition("=")
        return [
            ImageInfo(id=self.present[tag], tags=(tag,), labels=labels, size=0, created=0.0)
            for tag, labels in self.image_labels.items()
            if tag in self.present and key in labels and (not value or labels[key] == value)
        ]

    def remove_image(self, reference: str) -> None:
        self.present.pop(reference, None)

    def ensure_volume(self, name: str, labels: Pairs) -> bool:
        created = name not in self.volumes
        with self.in_flight.create(dict(labels)):
            self.volumes.setdefault(name, labels)
        return created

    def image_sizes(self) -> dict[str, int]:
        return {image: self.own_sizes.get(image, 0) for image in self.present.values()}

    def volume_sizes(self) -> dict[str, int]:
        return dict.fromkeys(self.volumes, 0)
