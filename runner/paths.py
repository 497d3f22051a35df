"""Where dockstep keeps things on disk: the per-user state folder and each run's folders."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

STATE_ENV = "DOCKSTEP_CACHE_DIR"  # overrides the state folder (tests, CI, shared runners)
WORKSPACE_STATE = ".dockstep"  # in the workspace: run logs and reports
IGNORED = (WORKSPACE_STATE, ".git")  # never hashed into a build's content tag or a cache key


def workspace_files(workspace: Path, pattern: str) -> list[Path]:
    """The files a glob matches in the workspace, leaving out dockstep's and git's own."""
    return [
        path
        for path in workspace.glob(pattern)
        if path.is_file() and path.relative_to(workspace).parts[0] not in IGNORED
    ]


def state_dir(environ: Mapping[str, str]) -> Path:
    """Per-user state shared by every run on this machine: cache usage, locks, approvals."""
    if environ.get(STATE_ENV):
        return Path(environ[STATE_ENV])
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dockstep"


def run_dir(workspace: Path, run_id: str) -> Path:
    """A run's logs, artifacts and report, beside the code it ran."""
    return workspace / WORKSPACE_STATE / "runs" / run_id


def approvals_root(state: Path) -> Path:
    """Outside the workspace, which every job can write: a job must not approve itself."""
    return state / "runs"


def approvals_dir(state: Path, run_id: str) -> Path:
    return approvals_root(state) / run_id
