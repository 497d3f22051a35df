"""The service's own copy of the repository, and the clean work directories runs use.

The remote is the one the service was started with (`--repo`), never a URL from a
payload: a signed delivery names a commit, and that commit must be reachable from what
the configured remote has. Work directories are `git clone --shared` of the mirror (cheap:
the objects stay in the mirror), one per run, removed when the run ends; whatever a dead
service left under `work/` is removed at start-up.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import subprocess
import threading
from pathlib import Path

from runner import git
from runner.errors import EXIT_INFRASTRUCTURE, DockstepError
from runner.model.events import Event, EventKind

GIT_TIMEOUT = 300  # seconds; a fetch of a large repository over a slow link
REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


class MirrorError(DockstepError):
    exit_code = EXIT_INFRASTRUCTURE
    hint = "Check that --repo names a repository this user can fetch (a path or a URL)."


class Mirror:
    def __init__(self, remote: str, path: Path) -> None:
        self.remote = remote
        self.path = path
        self._lock = threading.Lock()  # one fetch at a time: ref updates would collide
        self.default_branch = ""

    def fetch(self) -> None:
        """Bring every branch and tag of the remote here (deleted ones go too)."""
        with self._lock:
            if not (self.path / "HEAD").exists():
                self.path.mkdir(parents=True, exist_ok=True)
                self._git("init", "--quiet", "--bare")
            self._git("fetch", "--quiet", "--prune", "--force", "--", self.remote, *REFSPECS)
            self.default_branch = self._remote_head()

    def has(self, commit: str) -> bool:
        """Whether `commit` is a commit that one of the remote's branches or tags reaches."""
        if not commit or not self._ok("cat-file", "-e", f"{commit}^{{commit}}"):
            return False
        refs = self._out("for-each-ref", "--count=1", "--contains", commit, "--format=%(refname)")
        return bool(refs)

    def head(self) -> str:
        """The commit at the tip of the remote's default branch ("" when it has none)."""
        branch = self.default_branch
        return (
            self._out("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}") if branch else ""
        )

    def with_changes(self, event: Event) -> Event:
        """The event with the paths it changed, computed here (payloads truncate theirs)."""
        if event.changed is not None or event.kind not in (EventKind.PUSH, EventKind.PULL_REQUEST):
            return event
        old = event.before if event.before and self.has(event.before) else ""
        if not old:
            target = event.base if event.kind is EventKind.PULL_REQUEST else self.default_branch
            if not target or (target == event.branch and event.kind is EventKind.PUSH):
                return event  # nothing to compare with: unknown, so path filters pass
            old = self._out("merge-base", f"refs/heads/{target}", event.commit)
        if not old:
            return event
        return dataclasses.replace(event, changed=git.changed_paths(self.path, old, event.commit))

    def checkout(self, commit: str, into: Path, *, branch: str = "") -> Path:
        """A clean work tree of `commit` at `into`, on `branch` when the event has one (so
        the run sees DOCKSTEP_BRANCH), with origin pointing at the configured remote."""
        _run(["git", "clone", "--quiet", "--shared", "--no-checkout", str(self.path), str(into)])
        switch = ["-B", branch] if branch else ["--detach"]
        _run(["git", "-C", str(into), "checkout", "--quiet", *switch, commit])
        _run(["git", "-C", str(into), "remote", "set-url", "origin", self.remote])
        return into

    def _remote_head(self) -> str:
        found = self._out("ls-remote", "--symref", "--", self.remote, "HEAD")
        for line in found.splitlines():
            if line.startswith("ref: refs/heads/"):
                return line.split()[1].removeprefix("refs/heads/")
        return ""

    def _git(self, *args: str) -> str:
        return _run(["git", "-C", str(self.path), *args])

    def _out(self, *args: str) -> str:
        try:
            return self._git(*args).strip()
        except MirrorError:
            return ""

    def _ok(self, *args: str) -> bool:
        done = subprocess.run(
            ["git", "-C", str(self.path), *args], capture_output=True, check=False, timeout=60
        )
        return done.returncode == 0


def _run(command: list[str]) -> str:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=GIT_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise MirrorError(f"{' '.join(command[:4])}: {error}") from None
    if done.returncode != 0:
        raise MirrorError(f"{' '.join(command[:4])} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


class Workdirs:
    """One fresh directory per run under `root`; all of them go at start-up."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._numbers = itertools.count(1)

    def make(self, name: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f"{name}-{next(self._numbers)}"

    @staticmethod
    def remove(path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)

    def sweep(self) -> list[Path]:
        """Remove what a dead service left; call it holding the service lock."""
        found = sorted(self.root.iterdir()) if self.root.is_dir() else []
        for path in found:
            self.remove(path)
        return found
