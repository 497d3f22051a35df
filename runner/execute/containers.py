"""What a job's container looks like: mounts, user, env, limits, labels. Pure.

Every job container is sandboxed by default (the README's "Safe defaults"): it cannot
gain privileges through setuid binaries (`no-new-privileges`), and it holds at most
`DEFAULT_PIDS` processes unless the job's `resources.pids` says otherwise, so a fork
bomb in a step stops at its container instead of taking the host's process table.
"""

from __future__ import annotations

from runner.engine.api import ContainerSpec, Mount
from runner.engine.labels import JOB
from runner.execute import environment
from runner.execute.settings import RunSettings
from runner.model.pipeline import Job, Steps, pairs

DOCKER_SOCKET = "/var/run/docker.sock"
DEFAULT_PIDS = 4096  # a job's `resources.pids` raises or lowers it
# Keeps the container alive between steps; every step is an exec into it. It ignores the
# SIGTERM a stop sends to every process (see TERMINATE): were it to end, the container's
# init would end and take the step with it before the step's trap could run.
IDLE_COMMAND = ("sh", "-c", "trap '' TERM INT HUP; while :; do sleep 3600; done")
# A graceful stop, run as root inside the container: SIGTERM to every process but the
# container's init (kill(-1) semantics), so the step's whole process tree hears it, an exec'd
# step included (a signal to the container itself reaches only its init's child).
TERMINATE = ("sh", "-c", "kill -s TERM -1 2>/dev/null; true")
ROOT = "0:0"


def shell(script: str) -> tuple[str, ...]:
    """How a step's or install's `run` is executed: `sh -e`, so a failing line fails it."""
    return ("sh", "-e", "-c", script)


def container_name(run_id: str, job: str) -> str:
    return f"dockstep-{run_id}-{job}"


def _mounts(
    settings: RunSettings, steps: Steps, volumes: tuple[Mount, ...], *, workspace_read_only: bool
) -> tuple[Mount, ...]:
    mounts = [
        Mount(source=str(settings.workspace), target=steps.workdir, read_only=workspace_read_only)
    ]
    if settings.ca_bundle:
        mounts.append(
            Mount(source=str(settings.ca_bundle), target=environment.CA_TARGET, read_only=True)
        )
    if steps.docker_socket:
        mounts.append(Mount(source=DOCKER_SOCKET, target=DOCKER_SOCKET))
    return (*mounts, *volumes)


def job_spec(
    settings: RunSettings,
    job: Job,
    steps: Steps,
    image: str,
    *,
    main_step: bool = False,
    volumes: tuple[Mount, ...] = (),
    network: str | None = None,
) -> ContainerSpec:
    """The job's container: idle between exec'd steps, or running its only step itself."""
    step = steps.steps[0] if main_step else None
    return ContainerSpec(
        image=image,
        name=container_name(settings.run_id, job.name),
        command=shell(step.run) if step else IDLE_COMMAND,
        labels=pairs({**dict(settings.labels), JOB: job.name}),
        network=network or settings.network,
        workdir=(step.workdir if step and step.workdir else steps.workdir),
        env=environment.container_env(settings, job, step),
        mounts=_mounts(settings, steps, volumes, workspace_read_only=False),
        tmpfs=(environment.HOME,) if settings.user else (),
        user=settings.user,
        memory=steps.resources.memory,
        cpus=steps.resources.cpus,
        pids=pids_limit(steps),
        privileged=steps.privileged,
        no_new_privileges=True,
    )


def install_spec(
    settings: RunSettings, job: Job, steps: Steps, image: str, volumes: tuple[Mount, ...]
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
        workdir=steps.workdir,
        mounts=_mounts(settings, steps, volumes, workspace_read_only=True),
        memory=steps.resources.memory,
        cpus=steps.resources.cpus,
        pids=pids_limit(steps),
        privileged=steps.privileged,
        no_new_privileges=True,
    )


def pids_limit(steps: Steps) -> int:
    return steps.resources.pids or DEFAULT_PIDS


def host_user(uid: int, gid: int) -> str | None:
    """Containers run as the invoking user so files they write stay the user's; root keeps root."""
    return None if uid == 0 else f"{uid}:{gid}"
