"""Webhook deliveries: GitHub and GitLab payloads to events, and every way to refuse one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from runner.model.events import Event, EventKind, EventSource
from runner.service import webhooks
from runner.service.webhooks import (
    MAX_BODY,
    Accepted,
    Hook,
    HookKind,
    Outcome,
    Rejected,
    WebhookInvalid,
    receive,
    signature,
)

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "It's a Secret to Everybody"
GITHUB = Hook(name="github", kind=HookKind.GITHUB, secret=SECRET)
GITLAB = Hook(name="gitlab", kind=HookKind.GITLAB, secret=SECRET)
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def body(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def always_new(delivery: str, digest: str) -> bool:
    return True


def from_github(name: str, event: str, **headers: str) -> Outcome:
    raw = body(name)
    sent = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": DELIVERY,
        "X-Hub-Signature-256": signature(SECRET, raw),
        "Content-Type": "application/json",
        **headers,
    }
    return receive(GITHUB, sent, raw, is_new=always_new)


def from_gitlab(name: str, event: str, **headers: str) -> Outcome:
    sent = {"X-Gitlab-Event": event, "X-Gitlab-Token": SECRET, **headers}
    return receive(GITLAB, sent, body(name), is_new=always_new)


def accepted(outcome: Outcome) -> Event:
    assert isinstance(outcome, Accepted), outcome
    assert outcome.event.source is EventSource.WEBHOOK
    return outcome.event


def rejected(outcome: Outcome, status: int) -> str:
    assert isinstance(outcome, Rejected), outcome
    assert outcome.status == status, outcome
    return outcome.reason


def test_the_signature_is_githubs_documented_hmac_sha256() -> None:
    # the example in GitHub's "Validating webhook deliveries"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature(SECRET, b"Hello, World!") == expected


# ---------------------------------------------------------------- GitHub


def test_a_github_push_to_a_branch() -> None:
    outcome = from_github("github_push", "push")
    event = accepted(outcome)
    assert event == Event(
        kind=EventKind.PUSH,
        source=EventSource.WEBHOOK,
        ref="refs/heads/main",
        branch="main",
        commit="0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        before="6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        webhook="github",
        delivery=DELIVERY,
    )
    assert isinstance(outcome, Accepted)
    assert outcome.delivery == DELIVERY
    assert outcome.body_sha256 == hashlib.sha256(body("github_push")).hexdigest()


def test_a_new_github_branch_has_no_before() -> None:
    event = accepted(from_github("github_push_new_branch", "push"))
    assert (event.branch, event.before) == ("feature/login", "")


def test_a_github_tag_push_builds_the_tagged_commit_not_the_tag_object() -> None:
    event = accepted(from_github("github_push_tag", "push"))
    assert (event.kind, event.tag, event.ref) == (EventKind.TAG, "v1.2.0", "refs/tags/v1.2.0")
    assert event.commit == "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
    assert event.branch == ""


@pytest.mark.parametrize(
    ("payload", "before"),
    [
        ("github_pull_request_opened", ""),
        ("github_pull_request_synchronize", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"),
    ],
)
def test_a_github_pull_request_whose_code_changed(payload: str, before: str) -> None:
    event = accepted(from_github(payload, "pull_request"))
    raw = json.loads(body(payload))
    assert event.kind is EventKind.PULL_REQUEST
    assert (event.ref, event.branch, event.base) == ("refs/pull/2/head", "changes", "main")
    assert (event.commit, event.before) == (raw["pull_request"]["head"]["sha"], before)


@pytest.mark.parametrize(
    ("payload", "event", "reason"),
    [
        ("github_ping", "ping", "ping: the hook works (Design for failure.)"),
        ("github_pull_request_closed", "pull_request", "pull_request 'closed'"),
        ("github_push_branch_deleted", "push", "refs/heads/feature/login was deleted"),
        ("github_push", "issues", "issues events start no run"),
    ],
)
def test_github_deliveries_that_start_nothing_get_202(
    payload: str, event: str, reason: str
) -> None:
    assert reason in rejected(from_github(payload, event), 202)


def test_an_unsigned_github_delivery_gets_401() -> None:
    raw = body("github_push")
    outcome = receive(GITHUB, {"X-GitHub-Event": "push"}, raw, is_new=always_new)
    assert "unsigned" in rejected(outcome, 401)


@pytest.mark.parametrize(
    "given",
    [
        signature("another secret", body("github_push")),
        signature(SECRET, body("github_push") + b" "),
        signature(SECRET, body("github_push")).removeprefix("sha256="),
        "sha256=é",  # not ASCII: compared as bytes, never a TypeError
    ],
)
def test_a_github_delivery_with_a_wrong_signature_gets_401(given: str) -> None:
    outcome = from_github("github_push", "push", **{"X-Hub-Signature-256": given})
    assert "does not match" in rejected(outcome, 401)


def test_the_signature_is_checked_before_the_body_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def parse(_body: bytes) -> object:
        raise AssertionError("parsed an unauthenticated body")

    monkeypatch.setattr(webhooks, "_json", parse)
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=00"}
    rejected(receive(GITHUB, headers, b"{not json", is_new=always_new), 401)
    headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "guess"}
    rejected(receive(GITLAB, headers, b"{not json", is_new=always_new), 401)


def test_header_names_are_case_insensitive() -> None:
    raw = body("github_push")
    headers = {
        "x-github-event": "push",
        "x-github-delivery": DELIVERY,
        "x-hub-signature-256": signature(SECRET, raw),
    }
    accepted(receive(GITHUB, headers, raw, is_new=always_new))


def test_a_body_over_the_limit_gets_413_before_anything_else() -> None:
    outcome = receive(GITHUB, {}, b" " * (MAX_BODY + 1), is_new=always_new)
    rejected(outcome, 413)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"payload=%7B%22ref%22%3A%22x%22%7D", "not JSON (set the webhook's content type"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"ref": "refs/heads/main"}', "the payload has no after"),
        (b'{"ref": "refs/heads/main", "after": "HEAD"}', "after is not a commit id"),
        (b'{"ref": "refs/heads/-x", "after": "' + b"a" * 40 + b'"}', "not a valid git ref"),
        (b'{"ref": "refs/heads/a..b", "after": "' + b"a" * 40 + b'"}', "not a valid git ref"),
    ],
)
def test_a_malformed_signed_github_body_gets_400(raw: bytes, reason: str) -> None:
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(SECRET, raw)}
    assert reason in rejected(receive(GITHUB, headers, raw, is_new=always_new), 400)


def test_a_replayed_delivery_gets_409() -> None:
    seen: set[str] = set()

    def is_new(delivery: str, digest: str) -> bool:
        new = not {delivery, digest} & seen
        seen.update((delivery, digest))
        return new

    raw = body("github_push")
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": DELIVERY,
        "X-Hub-Signature-256": signature(SECRET, raw),
    }
    accepted(receive(GITHUB, headers, raw, is_new=is_new))
    assert DELIVERY in rejected(receive(GITHUB, headers, raw, is_new=is_new), 409)
    renamed = {**headers, "X-GitHub-Delivery": "another-id"}  # the id is not signed
    rejected(receive(GITHUB, renamed, raw, is_new=is_new), 409)


def test_deliveries_that_start_nothing_are_not_remembered() -> None:
    def is_new(delivery: str, digest: str) -> bool:
        raise AssertionError("an ignored delivery was recorded")

    raw = body("github_ping")
    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": signature(SECRET, raw)}
    rejected(receive(GITHUB, headers, raw, is_new=is_new), 202)


def test_without_a_delivery_id_the_body_stands_for_it() -> None:
    outcome = from_github("github_push", "push", **{"X-GitHub-Delivery": ""})
    assert isinstance(outcome, Accepted)
    assert outcome.delivery == f"sha256:{outcome.body_sha256}"


def test_a_hook_without_a_secret_is_refused() -> None:
    with pytest.raises(WebhookInvalid, match="'open' has no secret"):
        Hook(name="open", kind=HookKind.GITHUB, secret="")


def test_the_secret_is_not_in_the_hooks_repr() -> None:
    assert SECRET not in repr(GITHUB)


# ---------------------------------------------------------------- GitLab


def test_a_gitlab_push_with_its_idempotency_key() -> None:
    outcome = from_gitlab("gitlab_push", "Push Hook", **{"Idempotency-Key": "f1d5c7e2"})
    event = accepted(outcome)
    assert (event.kind, event.ref, event.branch) == (EventKind.PUSH, "refs/heads/master", "master")
    assert event.commit == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert event.before == "95790bf891e76fee5e1747ab589903a6a1f80f22"
    assert (event.webhook, event.delivery) == ("gitlab", "f1d5c7e2")


def test_a_gitlab_delivery_id_can_come_from_the_event_uuid() -> None:
    outcome = from_gitlab("gitlab_push", "Push Hook", **{"X-Gitlab-Event-UUID": "9cdbb2ab"})
    assert isinstance(outcome, Accepted)
    assert outcome.delivery == "9cdbb2ab"


def test_a_gitlab_tag_push_builds_the_checked_out_commit() -> None:
    event = accepted(from_gitlab("gitlab_tag_push", "Tag Push Hook"))
    assert (event.kind, event.tag) == (EventKind.TAG, "v1.0.0")
    assert event.commit == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"


@pytest.mark.parametrize(
    ("payload", "before"),
    [
        ("gitlab_merge_request_open", ""),
        ("gitlab_merge_request_update", "95790bf891e76fee5e1747ab589903a6a1f80f22"),
    ],
)
def test_a_gitlab_merge_request_whose_code_changed(payload: str, before: str) -> None:
    event = accepted(from_gitlab(payload, "Merge Request Hook"))
    assert event.kind is EventKind.PULL_REQUEST
    assert (event.ref, event.branch, event.base) == (
        "refs/merge-requests/1/head",
        "ms-viewport",
        "master",
    )
    assert (event.commit, event.before) == ("da1560886d4f094c3e6c9ef40349f7d38b5d27d7", before)


@pytest.mark.parametrize(
    ("payload", "event", "reason"),
    [
        ("gitlab_merge_request_retitled", "Merge Request Hook", "without new commits"),
        ("gitlab_push_branch_deleted", "Push Hook", "refs/heads/old-feature was deleted"),
        ("gitlab_push", "Pipeline Hook", "Pipeline Hook events start no run"),
    ],
)
def test_gitlab_deliveries_that_start_nothing_get_202(
    payload: str, event: str, reason: str
) -> None:
    assert reason in rejected(from_gitlab(payload, event), 202)


def test_a_closed_gitlab_merge_request_starts_nothing() -> None:
    raw = json.loads(body("gitlab_merge_request_open"))
    raw["object_attributes"]["action"] = "close"
    headers = {"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": SECRET}
    outcome = receive(GITLAB, headers, json.dumps(raw).encode(), is_new=always_new)
    assert "'close' does not change the code" in rejected(outcome, 202)


@pytest.mark.parametrize("token", [None, "", "wrong", SECRET + "x"])
def test_a_gitlab_delivery_without_the_token_gets_401(token: str | None) -> None:
    headers = {"X-Gitlab-Event": "Push Hook"}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    rejected(receive(GITLAB, headers, body("gitlab_push"), is_new=always_new), 401)


def test_a_gitlab_event_header_must_match_the_body() -> None:
    outcome = from_gitlab("gitlab_push", "Merge Request Hook")
    assert "object_kind is not 'merge_request'" in rejected(outcome, 400)
