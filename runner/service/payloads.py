"""GitHub and GitLab webhook payloads → `Event`: which deliveries start a run, and with what.

Only names and commit ids are read. The payload's repository URLs (`clone_url`,
`git_http_url`, …) are never used: the service fetches the commit from its own
configured remote, so a payload cannot point it at another repository. Paths changed
are left unknown (`changed=None`): payloads truncate their commit lists, so the service
computes them from its clone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from runner.errors import DockstepError
from runner.model.events import Event, EventKind

ZERO_SHA = re.compile(r"0{40}|0{64}")
COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# What git check-ref-format refuses, and a leading '-' that a command line would take for
# an option: the branch names of a signed payload still reach git.
BAD_REF = re.compile(r"^-|\.\.|@\{|//|[\x00-\x20\x7f~^:?*\[\\]|\.lock$|/$|\.$")

Payload = dict[str, Any]
Parser = Callable[[Payload], Event]


class Refused(DockstepError):
    """A delivery that starts nothing, with the HTTP status to answer it with."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        super().__init__(reason)


def ignored(reason: str) -> Refused:
    return Refused(202, reason)


def malformed(reason: str) -> Refused:
    return Refused(400, reason)


def text(payload: Payload, *path: str) -> str:
    """The string at `path`, or a 400 naming what is missing."""
    found: Any = payload
    for key in path:
        found = found.get(key) if isinstance(found, dict) else None
    if not isinstance(found, str) or not found:
        raise malformed(f"the payload has no {'.'.join(path)}")
    return found


def optional_text(payload: Payload, *path: str) -> str:
    try:
        return text(payload, *path)
    except Refused:
        return ""


def commit(value: str, field: str) -> str:
    if not COMMIT.fullmatch(value):
        raise malformed(f"{field} is not a commit id: {value[:80]!r}")
    return value


def name(value: str, field: str) -> str:
    if BAD_REF.search(value) or len(value) > 255:
        raise malformed(f"{field} is not a valid git ref name: {value[:80]!r}")
    return value


def number(payload: Payload, *path: str) -> int:
    found: Any = payload
    for key in path:
        found = found.get(key) if isinstance(found, dict) else None
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise malformed(f"the payload has no {'.'.join(path)}")
    return found


def push_event(ref: str, *, commit_id: str, tag_commit: str, before: str) -> Event:
    """A push to a branch or a tag. A deletion (after = all zeros) starts nothing."""
    if ZERO_SHA.fullmatch(commit_id):
        raise ignored(f"{ref} was deleted")
    if ref.startswith("refs/tags/"):
        # An annotated tag's `after` is the tag object; the commit is what a run builds.
        built = commit(tag_commit or commit_id, "the tagged commit")
        tag = name(ref.removeprefix("refs/tags/"), "the tag")
        return Event(kind=EventKind.TAG, ref=ref, tag=tag, commit=built)
    if not ref.startswith("refs/heads/"):
        raise ignored(f"pushes to {name(ref, 'ref')} are not handled")
    previous = "" if ZERO_SHA.fullmatch(before) else before  # a new branch has no before
    return Event(
        kind=EventKind.PUSH,
        ref=ref,
        branch=name(ref.removeprefix("refs/heads/"), "the branch"),
        commit=commit(commit_id, "after"),
        before=commit(previous, "before") if previous else "",
    )


def review_event(ref: str, *, head: str, base: str, commit_id: str, before: str) -> Event:
    """A pull request (GitHub) or merge request (GitLab) whose code changed."""
    return Event(
        kind=EventKind.PULL_REQUEST,
        ref=ref,
        branch=name(head, "the head branch"),
        base=name(base, "the base branch"),
        commit=commit(commit_id, "the head commit"),
        before=commit(before, "before") if before else "",
    )


# ---------------------------------------------------------------- GitHub

GITHUB_PR_ACTIONS = frozenset({"opened", "synchronize", "reopened"})


def github_push(payload: Payload) -> Event:
    if payload.get("deleted") is True:
        raise ignored(f"{optional_text(payload, 'ref') or 'a ref'} was deleted")
    return push_event(
        text(payload, "ref"),
        commit_id=text(payload, "after"),
        tag_commit=optional_text(payload, "head_commit", "id"),
        before=optional_text(payload, "before"),
    )


def github_pull_request(payload: Payload) -> Event:
    action = text(payload, "action")
    if action not in GITHUB_PR_ACTIONS:
        raise ignored(f"pull_request {action!r} does not change the code")
    return review_event(
        f"refs/pull/{number(payload, 'number')}/head",
        head=text(payload, "pull_request", "head", "ref"),
        base=text(payload, "pull_request", "base", "ref"),
        commit_id=text(payload, "pull_request", "head", "sha"),
        before=optional_text(payload, "before"),  # synchronize: the head before the push
    )


def github_ping(payload: Payload) -> Event:
    raise ignored(f"ping: the hook works ({optional_text(payload, 'zen')})")


GITHUB: dict[str, Parser] = {
    "push": github_push,
    "pull_request": github_pull_request,
    "ping": github_ping,
}

# ---------------------------------------------------------------- GitLab

GITLAB_MR_ACTIONS = frozenset({"open", "update", "reopen"})


def gitlab_push(payload: Payload) -> Event:
    return push_event(
        text(payload, "ref"),
        commit_id=text(payload, "after"),
        tag_commit=optional_text(payload, "checkout_sha"),
        before=optional_text(payload, "before"),
    )


def gitlab_merge_request(payload: Payload) -> Event:
    attributes = payload.get("object_attributes")
    action = optional_text(payload, "object_attributes", "action")
    if action not in GITLAB_MR_ACTIONS:
        raise ignored(f"merge request {action or 'event'!r} does not change the code")
    oldrev = optional_text(payload, "object_attributes", "oldrev")
    if action == "update" and not oldrev:
        # GitLab sets oldrev only when the update pushed commits; a title or label edit
        # must not start a run.
        raise ignored("merge request update without new commits")
    assert isinstance(attributes, dict)
    return review_event(
        f"refs/merge-requests/{number(attributes, 'iid')}/head",
        head=text(attributes, "source_branch"),
        base=text(attributes, "target_branch"),
        commit_id=text(attributes, "last_commit", "id"),
        before=oldrev,
    )


GITLAB: dict[str, tuple[str, Parser]] = {  # X-Gitlab-Event → the body's object_kind, parser
    "Push Hook": ("push", gitlab_push),
    "Tag Push Hook": ("tag_push", gitlab_push),
    "Merge Request Hook": ("merge_request", gitlab_merge_request),
}
