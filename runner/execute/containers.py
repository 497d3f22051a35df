"""What a job's container looks like: mounts, user, env, limits, labels. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.engine.api import ContainerSpec, Mount
from runner.engine.labels import JOB
from runner.expr.interpolate import expand_layers
from runner.model.pipeline import Job, Pairs, Step, pairs

CA_TARGET = "/etc/ssl/certs/ca-certificates.crt"
CA_VARIABLES = (
    "SSL_CERT_FILE",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
)
HOME = "/home/dockstep"
DOCKER_SOCKET = "/var/run/docker.sock"
# Keeps the container alive between steps; every step is an exec into it.
IDLE_COMMAND = ("sh", "-c", "while :; do sleep 3600; done")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSettings:
    """Everything about a run that shapes its containers."""

    run_id: str
    workspace: Path
    network: str
    labels: Pairs  # the owner labels; the job label is added per job
    builtins: Pairs  # DOCKSTEP_* variables, CI=true
    variables: Pairs = ()  # --var overrides, above every env layer
    secrets: Pairs = ()
    pipeline_env: Pairs = ()
    user: str | None = None  # uid:gid, or None to keep the image's user
    ca_bundle: Path | None = None


def shell(script: str) -> tuple[str, ...]:
    """How a step's or install's `run` is executed: `sh -e`, so a failing line fails it."""
    return ("sh", "-e", "-c", script)


def container_name(run_id: str, job: str) -> str:
    return f"dockstep-{run_id}-{job}"


def expansion_base(settings: RunSettings) -> dict[str, str]:
    """What `${NAME}` can name before any env layer: the built-ins, then --var values."""
    return {**dict(settings.builtins), **dict(settings.variables)}


def run_variables(settings: RunSettings) -> dict[str, str]:
    """Built-ins, the pipeline's env (expanded) and --var: what build args can name."""
    base = expansion_base(settings)
    return {**base, **expand_layers([settings.pipeline_env, settings.variables], base)}


def step_env(settings: RunSettings, job: Job, step: Step | None = None) -> Pairs:
    """Env merged pipeline < job < step < --var, expanded against the built-ins and --var."""
    builtins = {**dict(settings.builtins), "DOCKSTEP_JOB": job.name}
    base = {**expansion_base(settings), "DOCKSTEP_JOB": job.name}
    layers = [settings.pipeline_env, job.env, step.env if step else (), settings.variables]
    merged = {**builtins, **expand_layers(layers, base), **dict(settings.secrets)}
    if settings.user:
        merged.setdefault("HOME", HOME)
    if settings.ca_bundle:
        merged.update({name: CA_TARGET for name in CA_VARIABLES if name not in merged})
    return pairs(merged)


def _mounts(
    settings: RunSettings, job: Job, volumes: tuple[Mount, ...], *, workspace_read_only: bool
) -> tuple[Mount, ...]:
    mounts = [
        Mount(source=str(settings.workspace), target=job.workdir, read_only=workspace_read_only)
    ]
    if settings.ca_bundle:
        mounts.append(Mount(source=str(settings.ca_bundle), target=CA_TARGET, read_only=True))
    if job.docker_socket:
        mounts.append(Mount(source=DOCKER_SOCKET, target=DOCKER_SOCKET))
    return (*mounts, *volumes)


def job_spec(
    settings: RunSettings,
    job: Job,
    image: str,
    *,
    main_step: bool = False,
    volumes: tuple[Mount, ...] = (),
) -> ContainerSpec:
    """The job's container: idle between exec'd steps, or running its only step itself."""
    step = job.steps[0] if main_step else None
    return ContainerSpec(
        image=image,
        name=container_name(settings.run_id, job.name),
        command=shell(step.run) if step else IDLE_COMMAND,
        labels=pairs({**dict(settings.labels), JOB: job.name}),
        network=settings.network,
        workdir=(step.workdir if step and step.workdir else job.workdir),
        env=step_env(settings, job, step),
        mounts=_mounts(settings, job, volumes, workspace_read_only=False),
        tmpfs=(HOME,) if settings.user else (),
        user=settings.user,
        memory=job.resources.memory,
        cpus=job.resources.cpus,
        pids=job.resources.pids,
        privileged=job.privileged,
    )


def install_spec(
    settings: RunSettings, job: Job, image: str, volumes: tuple[Mount, ...]
) -> ContainerSpec:
    """The container a cache miss installs in, to be committed as the layer.

    No env is set on the container itself (the install gets it per exec), because a
    commit keeps the container's env in the image, secrets included. The workspace is
    read-only: a layer cannot hold what an install writes there, so it fails loudly.
    """
    return ContainerSpec(
        image=image,
        name=f"{container_name(settings.run_id, job.name)}-install",
        command=IDLE_COMMAND,
        labels=pairs({**dict(settings.labels), JOB: job.name}),
        network=settings.network,
        workdir=job.workdir,
        mounts=_mounts(settings, job, volumes, workspace_read_only=True),
        memory=job.resources.memory,
        cpus=job.resources.cpus,
        pids=job.resources.pids,
        privileged=job.privileged,
    )


def host_user(uid: int, gid: int) -> str | None:
    """Containers run as the invoking user so files they write stay the user's; root keeps root."""
    return None if uid == 0 else f"{uid}:{gid}"
