"""What the repository is at: commit, branch, tag. Read with git; blanks outside a repo."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Revision:
    commit: str = ""
    branch: str = ""
    tag: str = ""
    time: str = ""  # the commit's time, ISO 8601: what a reproducible build calls `created`


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def toplevel(start: Path) -> Path | None:
    found = _git(start, "rev-parse", "--show-toplevel")
    return Path(found) if found else None


def revision(workspace: Path) -> Revision:
    branch = _git(workspace, "rev-parse", "--abbrev-ref", "HEAD")
    commit, _, time = _git(workspace, "log", "-1", "--format=%H %cI").partition(" ")
    return Revision(
        commit=commit,
        time=time,
        branch="" if branch == "HEAD" else branch,  # detached
        tag=_git(workspace, "describe", "--tags", "--exact-match", "HEAD"),
    )


def source(workspace: Path) -> str:
    """Where the code comes from, for the OCI source label: the origin remote's URL."""
    return _git(workspace, "remote", "get-url", "origin")
