"""What the repository is at (commit, branch, tag; blanks outside a repo) and the events it
makes (changed paths included). Read with git."""

from __future__ import annotations

import dataclasses
import subprocess
from dataclasses import dataclass
from pathlib import Path

from runner.errors import UsageError
from runner.model.events import Event, EventKind, EventSource


@dataclass(frozen=True, slots=True, kw_only=True)
class Revision:
    commit: str = ""
    branch: str = ""
    tag: str = ""
    time: str = ""  # the commit's time, ISO 8601: what a reproducible build calls `created`


def _git(cwd: Path, *args: str) -> str:
    out = _git_raw(cwd, *args)
    return "" if out is None else out.strip()


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


# ---------------------------------------------------------------- events


class NotARepository(UsageError):
    hint = "Run dockstep inside a git repository (git init, or clone one)."

    def __init__(self, where: Path) -> None:
        super().__init__(f"{where} is not inside a git repository, so there is no event to build")


class UnknownRevision(UsageError):
    """A branch, tag or commit named for the event that the repository does not have."""

    hint = "Fetch it first (git fetch origin), or check its spelling with git branch -a / git tag."


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRequest:
    """What the caller knows about the event; git fills in the rest."""

    kind: EventKind
    commit: str = ""  # default: HEAD
    branch: str = ""  # default: the checked-out branch
    before: str = ""  # push: the commit the branch pointed at before; "" or zeros: a new branch
    base: str = ""  # pull_request: the branch it targets (required)
    tag: str = ""  # tag: default: the tag at the commit
    schedule: str = ""
    webhook: str = ""
    source: EventSource = EventSource.CLI


def event(workspace: Path, request: EventRequest) -> Event:
    """The event for `request` in the repository at `workspace`, its changed paths from git.

    Changed paths follow GitHub: a pull request is diffed from the merge-base of its base
    and head; a push from `before`; a new branch from its merge-base with the default
    branch (unknown, None, when there is none). Tags and other events carry no paths.
    """
    if _git(workspace, "rev-parse", "--show-toplevel") == "":
        raise NotARepository(workspace)
    if request.kind is EventKind.TAG:
        return _tag_event(workspace, request)
    if request.kind is EventKind.PIPELINE:
        raise UsageError("a pipeline event comes from an upstream pipeline, not from git")
    commit = _commit(workspace, request.commit or "HEAD")
    branch = request.branch or _current_branch(workspace)
    found = Event(
        kind=request.kind,
        source=request.source,
        commit=commit,
        ref=f"refs/heads/{branch}" if branch else "",
        branch=branch,
        schedule=request.schedule,
        webhook=request.webhook,
    )
    if request.kind is EventKind.PUSH:
        changed = _pushed(workspace, commit, branch, request.before)
        return dataclasses.replace(found, before=request.before, changed=changed)
    if request.kind is EventKind.PULL_REQUEST:
        base, changed = _pull_request(workspace, commit, request.base)
        return dataclasses.replace(found, ref="", base=base, changed=changed)
    return found


def default_branch(workspace: Path) -> str | None:
    """The ref new branches are compared to: origin/HEAD if set, else main, else master."""
    remote = _git(workspace, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
    if remote:
        return remote.removeprefix("refs/remotes/")
    for name in ("main", "master"):
        if _git(workspace, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}"):
            return name
    return None


def changed_paths(workspace: Path, old: str, new: str) -> tuple[str, ...]:
    """Paths that differ between two commits; a rename is a deletion and an addition."""
    out = _git_raw(workspace, "diff", "--name-only", "--no-renames", "-z", old, new, "--")
    if out is None:
        raise UnknownRevision(f"git cannot compare {old} with {new}")
    return tuple(path for path in out.split("\0") if path)


def _pushed(workspace: Path, commit: str, branch: str, before: str) -> tuple[str, ...] | None:
    if before and set(before) != {"0"}:
        return changed_paths(workspace, _commit(workspace, before), commit)
    default = default_branch(workspace)
    if default is None or default.split("/", 1)[-1] == branch:
        return None  # nothing to compare with: unknown, so path filters pass
    base = _git(workspace, "merge-base", default, commit)
    return changed_paths(workspace, base, commit) if base else None


def _pull_request(workspace: Path, commit: str, base: str) -> tuple[str, tuple[str, ...]]:
    if not base:
        raise UsageError("a pull_request event needs the branch it targets (its base)")
    target = _branch_ref(workspace, base)
    fork = _git(workspace, "merge-base", target, commit)
    if not fork:
        raise UsageError(f"{base!r} and {commit[:12]} share no history, so nothing can be diffed")
    return base, changed_paths(workspace, fork, commit)


def _tag_event(workspace: Path, request: EventRequest) -> Event:
    tag = request.tag or _git(workspace, "describe", "--tags", "--exact-match", "HEAD")
    if not tag:
        raise UsageError("a tag event needs a tag: name one, or check out a tagged commit")
    commit = _commit(workspace, request.commit or f"refs/tags/{tag}")
    return Event(
        kind=EventKind.TAG,
        source=request.source,
        commit=commit,
        ref=f"refs/tags/{tag}",
        branch=request.branch,
        tag=tag,
    )


def _branch_ref(workspace: Path, name: str) -> str:
    for ref in (f"refs/heads/{name}", f"refs/remotes/origin/{name}"):
        if _git(workspace, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"):
            return ref
    raise UnknownRevision(f"no branch {name!r} (nor origin/{name}) in this repository")


def _commit(workspace: Path, name: str) -> str:
    found = _git(workspace, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
    if not found:
        raise UnknownRevision(f"no commit {name!r} in this repository")
    return found


def _current_branch(workspace: Path) -> str:
    branch = _git(workspace, "rev-parse", "--abbrev-ref", "HEAD")
    return "" if branch == "HEAD" else branch


def _git_raw(cwd: Path, *args: str) -> str | None:
    """Standard output as is (no stripping: -z output), or None when git fails."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
