"""The pipeline model: immutable records built once by the loader.

No raw dict travels past `loader.py`; everything downstream reads these.
Mappings are stored as sorted tuples of pairs so records stay hashable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from runner.model.triggers import Trigger

if TYPE_CHECKING:  # services.py builds on ImageRef and Position from here
    from runner.model.services import Service

Pairs = tuple[tuple[str, str], ...]

DEFAULT_STAGES: tuple[str, ...] = ("build", "test", "package", "deploy", "verify")
DEFAULT_WORKDIR = "/workspace"
# Seconds a stopped step gets between SIGTERM and SIGKILL: Docker's own `docker stop` default.
DEFAULT_STOP_GRACE = 10.0


def pairs(mapping: Mapping[str, str]) -> Pairs:
    """A mapping as the sorted tuple of pairs the model stores."""
    return tuple(sorted(mapping.items()))


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Backend(StrEnum):
    """Where a pipeline's steps jobs run: this machine's engine, or a Docker Swarm."""

    LOCAL = "local"
    SWARM = "swarm"


class PullPolicy(StrEnum):
    IF_NOT_PRESENT = "if-not-present"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildSpec:
    """An image built from a Dockerfile in the repository, tagged by its content hash."""

    context: str  # relative to the workspace
    dockerfile: str = "Dockerfile"  # relative to the context
    args: Pairs = ()
    target: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageRef:
    """Exactly one of `reference` (a pinned name@sha256:… or image id) or `build`."""

    reference: str | None = None
    build: BuildSpec | None = None
    pinned: bool = True  # False only for floating tags let through by --allow-unpinned

    def __str__(self) -> str:
        if self.build is not None:
            return f"build:{self.build.context}"
        return self.reference or "?"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """GitLab semantics: `max_retries` extra attempts after the first failure."""

    max_retries: int = 0
    delay: float = 0.0  # seconds before the first retry
    backoff: float = 2.0  # multiplier applied to the delay after each retry
    max_delay: float = 60.0

    @property
    def attempts(self) -> int:
        return self.max_retries + 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Resources:
    memory: int | None = None  # bytes
    cpus: float | None = None
    pids: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Install:
    """A job's dependency install, cached as an image layer keyed by its inputs."""

    run: str
    keys: tuple[str, ...] = ()  # globs relative to the workspace whose contents key the cache
    auto_keys: bool = False  # `keys: auto`: the well-known lockfiles at the workspace root
    env: Pairs = ()
    outputs: tuple[str, ...] = ()  # workspace paths the install writes (.venv, node_modules)
    position: Position | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheVolume:
    """A package manager's download cache kept in a named volume keyed by lockfile hash."""

    path: str  # absolute path inside the container
    keys: tuple[str, ...] | None = None  # None: the job's install keys (or auto)
    restore: bool = True  # a new key starts from a copy of the job's newest volume at `path`


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheSpec:
    volumes: tuple[CacheVolume, ...] = ()
    registry: str | None = None  # REGISTRY/REPO sharing cache layers between machines


@dataclass(frozen=True, slots=True, kw_only=True)
class Package:
    """Build an image from the repository, tag it by the scheme, push it with retries."""

    context: str  # relative to the workspace
    dockerfile: str = "Dockerfile"  # relative to the context
    target: str | None = None
    args: Pairs = ()
    labels: Pairs = ()  # added to the OCI org.opencontainers.image.* labels
    tags: tuple[str, ...] = ("sha", "branch", "semver")  # sha | branch | semver | latest
    push: tuple[str, ...] = ()  # repositories: REGISTRY/REPO
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(max_retries=4, delay=1.0, backoff=2.0, max_delay=30.0)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    name: str
    env: Pairs = ()
    approval: bool = False  # deploys wait for `dockstep approve RUN JOB`


@dataclass(frozen=True, slots=True, kw_only=True)
class Deploy:
    """Replace a named service container on the local engine with a package job's image,
    or (`target: swarm`) update a Swarm service to it, by digest."""

    environment: str
    package: str  # the package job whose pushed digest is deployed ("" when `image` is set)
    service: str  # the container's name
    ports: tuple[tuple[int, int], ...] = ()  # (host port on 127.0.0.1, container port)
    env: Pairs = ()
    command: str | None = None  # run with sh -c; None keeps the image's command
    # instead of a package job: an image reference, with ${VARIABLES} such as the
    # DOCKSTEP_UPSTREAM_IMAGE a chained pipeline receives
    image: str | None = None
    host_network: bool = False  # `network: host`: the service shares the host's 127.0.0.1
    target: Backend = Backend.LOCAL  # `target:`, else the pipeline's backend


class CheckKind(StrEnum):
    HTTP = "http"
    TCP = "tcp"
    COMMAND = "command"


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthCheck:
    """Retried until it passes or its deadline passes."""

    kind: CheckKind
    target: str  # the URL (http), host:port (tcp) or shell command (command)
    status: int = 200
    body: str | None = None  # a regex the body must match
    latency: float | None = None  # seconds a response may take
    deadline: float = 30.0
    interval: float = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Baseline:
    """A short load: N requests, p50/p95 latency and error rate into the report."""

    url: str
    requests: int = 50
    p50: float | None = None  # budgets in seconds; None: recorded only
    p95: float | None = None
    error_rate: float = 0.0  # the largest share of failed requests allowed


@dataclass(frozen=True, slots=True, kw_only=True)
class Verify:
    deployment: str  # the deploy job verified (and rolled back when verification fails)
    checks: tuple[HealthCheck, ...] = ()
    baseline: Baseline | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    name: str
    run: str
    env: Pairs = ()
    timeout: float | None = None  # seconds
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    allow_failure: bool = False
    workdir: str | None = None
    position: Position | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Steps:
    """A job that runs shell steps in a container of its image."""

    image: ImageRef
    steps: tuple[Step, ...]
    workdir: str = DEFAULT_WORKDIR
    pull: PullPolicy = PullPolicy.IF_NOT_PRESENT
    install: Install | None = None
    cache: CacheSpec = field(default_factory=CacheSpec)
    resources: Resources = field(default_factory=Resources)
    privileged: bool = False
    docker_socket: bool = False
    services: tuple[Service, ...] = ()


Action = Steps | Package | Deploy | Verify  # what a job does: its kind


@dataclass(frozen=True, slots=True, kw_only=True)
class Cell:
    """A job's place in its `matrix:`: each cell of a matrix job is a job of its own."""

    family: str  # the job's name as written: what `needs:` and `--job` name for every cell
    values: tuple[tuple[str, str], ...]  # variable -> value, in the order of the axes
    fail_fast: bool = True  # a failing cell cancels its siblings

    @property
    def label(self) -> str:
        """How people read the cell: `test [PY=3.12, OS=debian]`."""
        return f"{self.family} [{', '.join(f'{k}={v}' for k, v in self.values)}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """A job with the pipeline's defaults already applied."""

    name: str
    stage: str
    action: Action
    needs: tuple[str, ...] | None = None  # None: every job of the earlier stages
    env: Pairs = ()
    timeout: float | None = None
    stop_grace: float = DEFAULT_STOP_GRACE  # SIGTERM, this long, then SIGKILL
    allow_failure: bool = False
    condition: str | None = None  # the `if:` expression, checked by conditions.parse
    artifacts: tuple[str, ...] = ()  # workspace paths archived after the job, for its needers
    manual: bool = False  # `when: manual`: waits for `dockstep approve RUN JOB` before it starts
    cell: Cell | None = None  # set on each job a `matrix:` expanded into
    position: Position | None = None

    @property
    def family(self) -> str:
        """The name as written in the file: a matrix cell's job, else the job's own name."""
        return self.cell.family if self.cell else self.name

    @property
    def kind(self) -> str:
        """steps, package, deploy or verify."""
        return type(self.action).__name__.lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Secret:
    """A value read on the host at run time and masked in every printed or saved line."""

    name: str  # the variable the steps see
    from_env: str | None = None
    from_file: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Pipeline:
    path: str
    name: str
    version: int
    stages: tuple[str, ...]
    jobs: tuple[Job, ...]
    env: Pairs = ()
    triggers: tuple[Trigger, ...] = ()
    secrets: tuple[Secret, ...] = ()
    environments: tuple[Environment, ...] = ()
    warnings: tuple[str, ...] = ()
    backend: Backend = Backend.LOCAL

    @property
    def needs_swarm(self) -> bool:
        """Its steps jobs run on a swarm, or one of its deploys goes to one."""
        return self.backend is Backend.SWARM or any(
            isinstance(job.action, Deploy) and job.action.target is Backend.SWARM
            for job in self.jobs
        )

    def job(self, name: str) -> Job:
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(name)
