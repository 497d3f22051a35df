"""Events built from real git repositories: branches, tags, pull requests, new branches."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner import git
from runner.errors import UsageError
from runner.format.load import load_pipeline_text
from runner.git import EventRequest, NotARepository, UnknownRevision
from runner.model.events import Event, EventKind
from runner.plan.triggers import match

ZEROS = "0" * 40
JOB = "jobs: {t: {image: 'busybox@sha256:" + "a" * 64 + "', steps: [x]}}"


class Repo:
    """A git repository in a temporary directory, driven the way a developer would."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        path.mkdir(exist_ok=True)
        self.git("init", "--quiet", f"--initial-branch={branch}")

    def git(self, *args: str) -> str:
        config = ["-c", "user.name=dockstep tests", "-c", "user.email=tests@dockstep.invalid"]
        config += ["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"]
        done = subprocess.run(
            ["git", *config, *args], cwd=self.path, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, text in files.items():
            (self.path / name).parent.mkdir(parents=True, exist_ok=True)
            (self.path / name).write_text(text)
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")

    def event(
        self,
        kind: EventKind,
        *,
        commit: str = "",
        branch: str = "",
        before: str = "",
        base: str = "",
        tag: str = "",
        schedule: str = "",
    ) -> Event:
        request = EventRequest(
            kind=kind,
            commit=commit,
            branch=branch,
            before=before,
            base=base,
            tag=tag,
            schedule=schedule,
        )
        return git.event(self.path, request)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """main with api/, web/ and a README."""
    found = Repo(tmp_path / "repo")
    found.commit({"api/app.py": "1", "web/index.html": "1", "README.md": "1"}, "start")
    return found


def test_push_with_before_lists_what_the_push_brought(repo: Repo) -> None:
    before = repo.git("rev-parse", "HEAD")
    repo.commit({"api/app.py": "2"})
    after = repo.commit({"api/models/user.py": "1", "docs/my notes.md": "1"})
    event = repo.event(EventKind.PUSH, before=before)
    assert (event.branch, event.ref, event.commit, event.before) == (
        "main",
        "refs/heads/main",
        after,
        before,
    )
    assert event.changed == ("api/app.py", "api/models/user.py", "docs/my notes.md")


def test_a_pull_request_is_diffed_from_where_it_left_its_base(repo: Repo) -> None:
    repo.git("switch", "--quiet", "-c", "feature/web")
    head = repo.commit({"web/index.html": "2", "web/app.js": "1"})
    repo.git("switch", "--quiet", "main")
    repo.commit({"api/app.py": "moved on"})  # the base moved on after the fork
    repo.git("switch", "--quiet", "feature/web")
    event = repo.event(EventKind.PULL_REQUEST, base="main")
    assert (event.branch, event.base, event.commit) == ("feature/web", "main", head)
    assert event.changed == ("web/app.js", "web/index.html")


def test_only_the_pipelines_of_the_changed_directory_run(repo: Repo) -> None:
    repo.git("switch", "--quiet", "-c", "feature/web")
    repo.commit({"web/index.html": "2"})
    event = repo.event(EventKind.PULL_REQUEST, base="main")

    def runs(paths: str) -> bool:
        text = f"version: 1\non: {{pull_request: {{paths: [{paths}]}}}}\n{JOB}\n"
        pipeline = load_pipeline_text(text, file="p.yml", workspace=repo.path)
        return match(event, pipeline.triggers).runs

    assert runs("'web/**'")
    assert not runs("'api/**'")


def test_a_new_branch_is_compared_with_the_default_branch(repo: Repo) -> None:
    repo.commit({"api/app.py": "2"})  # on main before the branch: not part of the push
    repo.git("switch", "--quiet", "-c", "docs")
    repo.commit({"docs/guide.md": "1"})
    repo.commit({"docs/guide.md": "2", "README.md": "2"})
    for before in ("", ZEROS):
        event = repo.event(EventKind.PUSH, before=before)
        assert event.changed == ("README.md", "docs/guide.md")


def test_origin_head_names_the_default_branch(repo: Repo) -> None:
    start = repo.git("rev-parse", "HEAD")
    repo.commit({"api/app.py": "2"})
    repo.git("update-ref", "refs/remotes/origin/trunk", start)
    repo.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    assert git.default_branch(repo.path) == "origin/trunk"
    repo.git("switch", "--quiet", "-c", "topic")
    repo.commit({"web/index.html": "2"})
    assert repo.event(EventKind.PUSH).changed == ("api/app.py", "web/index.html")


def test_master_is_the_default_without_main(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "old", branch="master")
    repo.commit({"a.txt": "1"})
    repo.git("switch", "--quiet", "-c", "topic")
    repo.commit({"b.txt": "1"})
    assert git.default_branch(repo.path) == "master"
    assert repo.event(EventKind.PUSH).changed == ("b.txt",)


def test_without_a_default_branch_the_changes_are_unknown(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "odd", branch="trunk")
    repo.commit({"a.txt": "1"})
    repo.git("switch", "--quiet", "-c", "topic")
    repo.commit({"b.txt": "1"})
    assert git.default_branch(repo.path) is None
    event = repo.event(EventKind.PUSH)
    assert (event.branch, event.changed) == ("topic", None)


def test_a_push_to_the_default_branch_without_before_is_unknown(repo: Repo) -> None:
    repo.commit({"api/app.py": "2"})
    assert repo.event(EventKind.PUSH).changed is None


def test_a_rename_is_a_deletion_and_an_addition(repo: Repo) -> None:
    before = repo.git("rev-parse", "HEAD")
    repo.git("mv", "api/app.py", "api/main.py")
    repo.git("commit", "--quiet", "-m", "rename")
    assert repo.event(EventKind.PUSH, before=before).changed == ("api/app.py", "api/main.py")


def test_tags_carry_no_paths(repo: Repo) -> None:
    tagged = repo.git("rev-parse", "HEAD")
    repo.git("tag", "-a", "v1.0.0", "-m", "release")
    repo.commit({"api/app.py": "2"})
    event = repo.event(EventKind.TAG, tag="v1.0.0")
    assert (event.tag, event.ref, event.commit, event.changed) == (
        "v1.0.0",
        "refs/tags/v1.0.0",
        tagged,
        None,
    )
    repo.git("tag", "v1.1.0")
    assert repo.event(EventKind.TAG).tag == "v1.1.0"  # the tag at HEAD


def test_overrides_win_over_what_git_says(repo: Repo) -> None:
    first = repo.git("rev-parse", "HEAD")
    second = repo.commit({"web/index.html": "2"})
    repo.commit({"api/app.py": "2"})
    event = repo.event(EventKind.PUSH, commit=second, branch="release/1", before=first)
    assert (event.commit, event.branch, event.ref) == (second, "release/1", "refs/heads/release/1")
    assert event.changed == ("web/index.html",)


def test_manual_and_schedule_events(repo: Repo) -> None:
    head = repo.git("rev-parse", "HEAD")
    manual = repo.event(EventKind.MANUAL)
    assert (manual.kind, manual.commit, manual.branch, manual.changed) == (
        EventKind.MANUAL,
        head,
        "main",
        None,
    )
    scheduled = repo.event(EventKind.SCHEDULE, schedule="0 3 * * *")
    assert (scheduled.schedule, scheduled.commit) == ("0 3 * * *", head)


def test_errors_say_what_is_missing(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(NotARepository, match="is not inside a git repository"):
        git.event(outside, EventRequest(kind=EventKind.PUSH))
    with pytest.raises(UnknownRevision, match=r"no branch 'develop' \(nor origin/develop\)"):
        repo.event(EventKind.PULL_REQUEST, base="develop")
    with pytest.raises(UsageError, match="needs the branch it targets"):
        repo.event(EventKind.PULL_REQUEST)
    with pytest.raises(UnknownRevision, match="no commit 'deadbeef'"):
        repo.event(EventKind.PUSH, before="deadbeef")
    with pytest.raises(UsageError, match="a tag event needs a tag"):
        repo.event(EventKind.TAG)
    with pytest.raises(UnknownRevision, match="no commit 'refs/tags/v9'"):
        repo.event(EventKind.TAG, tag="v9")
