"""A local container's OOM-kill counter, read from the host's cgroup files.

The engine flags OOMKilled only for a container's main process; a step run by exec can
lose a child to the OOM killer while the container lives on, so the kernel's counter is
read before and after each exec'd step. Read here from the host's files it costs no
engine round trip; `DockerContainers.oom_kills` falls back to an exec'd probe when no file
is readable (a remote engine, another cgroup layout).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
# Where Docker puts a container's memory cgroup, by cgroup version and driver; a v1
# `memory.oom_control` and a v2 `memory.events` both carry an `oom_kill N` line.
LAYOUTS = (
    "memory/docker/{id}/memory.oom_control",  # v1, cgroupfs driver
    "memory/system.slice/docker-{id}.scope/memory.oom_control",  # v1, systemd driver
    "system.slice/docker-{id}.scope/memory.events",  # v2, systemd driver
    "docker/{id}/memory.events",  # v2, cgroupfs driver
)


def counter_file(container_id: str, root: Path = ROOT) -> Path | None:
    """The file holding a running container's OOM-kill count; None when none is readable."""
    if len(container_id) != 64 or not container_id.isalnum():  # a name, not a full id
        return None
    for layout in LAYOUTS:
        path = root / layout.format(id=container_id)
        if read_oom_kills(path) is not None:
            return path
    return None


def read_oom_kills(path: Path) -> int | None:
    """The `oom_kill` count in a cgroup memory file; None when it cannot be read."""
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None
