"""A webhook delivery → an `Event` to run, or the HTTP status the app answers with.

Pure over (hook, headers, raw body): the app hands over the bytes as received and sends
back `Rejected.status`, or 202 and queues `Accepted.event`. The checks run in this order,
each before anything it would trust:
  1. size: above MAX_BODY → 413 (the app also refuses a larger Content-Length unread);
  2. authenticity: GitHub's `X-Hub-Signature-256` (HMAC-SHA256 of the raw body) or
     GitLab's `X-Gitlab-Token`, compared in constant time → 401; the body is not parsed
     before this passes;
  3. the event header: kinds that start nothing (ping, a closed pull request, a branch
     deletion) → 202 with the reason;
  4. the body: not a JSON object, or missing what the kind needs → 400;
  5. replay: a delivery id or body the hook saw before → 409 (see
     `History.record_delivery`), so only deliveries that would run are remembered.
Repository URLs in the payload are never used (see `runner.service.payloads`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from runner.errors import UsageError
from runner.model.events import Event, EventSource
from runner.service import payloads
from runner.service.payloads import Payload, Refused, ignored, malformed

MAX_BODY = 1024 * 1024
MAX_DELIVERY_ID = 200


class HookKind(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


class WebhookInvalid(UsageError):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Hook:
    name: str
    kind: HookKind
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.secret:
            raise WebhookInvalid(f"webhook {self.name!r} has no secret: every delivery is checked")


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    event: Event  # source=webhook, with the hook's name and the delivery id
    delivery: str
    body_sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    status: int  # the HTTP status to answer with
    reason: str


Outcome = Accepted | Rejected
IsNew = Callable[[str, str], bool]  # (delivery id, body sha256) → first time seen


def receive(hook: Hook, headers: Mapping[str, str], body: bytes, *, is_new: IsNew) -> Outcome:
    """One delivery's outcome; `is_new` records it (e.g. `History.record_delivery`)."""
    try:
        accepted = _accept(hook, {k.lower(): v for k, v in headers.items()}, body)
    except Refused as refused:
        return Rejected(status=refused.status, reason=str(refused))
    if not is_new(accepted.delivery, accepted.body_sha256):
        return Rejected(status=409, reason=f"delivery {accepted.delivery} was seen before")
    return accepted


def _accept(hook: Hook, headers: dict[str, str], body: bytes) -> Accepted:
    if len(body) > MAX_BODY:
        raise Refused(413, f"the body is larger than {MAX_BODY} bytes")
    if hook.kind is HookKind.GITHUB:
        _check_signature(hook.secret, headers, body)
        kind, delivery = headers.get("x-github-event", ""), headers.get("x-github-delivery", "")
        parse = payloads.GITHUB.get(kind)
        if parse is None:
            raise ignored(f"{kind or 'unnamed'} events start no run")
        event = parse(_json(body))
    else:
        _check_token(hook.secret, headers)
        kind = headers.get("x-gitlab-event", "")
        delivery = headers.get("idempotency-key") or headers.get("x-gitlab-event-uuid", "")
        event = _gitlab(kind, body)
    digest = hashlib.sha256(body).hexdigest()
    if len(delivery) > MAX_DELIVERY_ID:
        raise malformed("the delivery id is too long")
    delivery = delivery or f"sha256:{digest}"  # none sent: the body stands for it
    event = replace(event, source=EventSource.WEBHOOK, webhook=hook.name, delivery=delivery)
    return Accepted(event=event, delivery=delivery, body_sha256=digest)


def signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check_signature(secret: str, headers: dict[str, str], body: bytes) -> None:
    given = headers.get("x-hub-signature-256", "")
    if not given:
        raise Refused(401, "unsigned: no X-Hub-Signature-256 header")
    # bytes, not str: compare_digest refuses non-ASCII text with a TypeError
    if not hmac.compare_digest(signature(secret, body).encode(), _bytes(given)):
        raise Refused(401, "the X-Hub-Signature-256 signature does not match")


def _check_token(secret: str, headers: dict[str, str]) -> None:
    given = headers.get("x-gitlab-token", "")
    if not given:
        raise Refused(401, "no X-Gitlab-Token header")
    if not hmac.compare_digest(secret.encode(), _bytes(given)):
        raise Refused(401, "the X-Gitlab-Token does not match")


def _bytes(header: str) -> bytes:
    return header.encode("utf-8", errors="replace")


def _gitlab(kind: str, body: bytes) -> Event:
    if kind not in payloads.GITLAB:
        raise ignored(f"{kind or 'unnamed'} events start no run")
    object_kind, parse = payloads.GITLAB[kind]
    payload = _json(body)
    if payload.get("object_kind") != object_kind:
        raise malformed(f"a {kind} whose object_kind is not {object_kind!r}")
    return parse(payload)


def _json(body: bytes) -> Payload:
    try:
        found = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise malformed(
            "the body is not JSON (set the webhook's content type to application/json)"
        ) from None
    if not isinstance(found, dict):
        raise malformed("the body is not a JSON object")
    return found
