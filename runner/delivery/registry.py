"""Image tags by scheme, OCI labels, and pushes retried only when the error can pass."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from runner.engine.api import Images
from runner.errors import EngineError
from runner.git import Revision
from runner.model.pipeline import Package, RetryPolicy

if TYPE_CHECKING:
    import tenacity

SEMVER = re.compile(r"v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)")
TAG_LIMIT = 128
# What a registry says when retrying cannot help: auth, missing repository, bad manifest.
PERMANENT = re.compile(
    r"unauthori[sz]ed|authentication required|no basic auth credentials|denied|forbidden"
    r"|\b40[134]\b|not found|HTTP response to HTTPS client"
    r"|manifest[ _]invalid|manifest unknown|name[ _]invalid|tag[ _]invalid",
    re.IGNORECASE,
)
# What passes: the connection, the server's own errors, rate limits.
TRANSIENT = re.compile(
    r"connection refused|connection reset|broken pipe|i/o timeout|timeout|timed out|EOF"
    r"|no route to host|\b5\d\d\b|internal server error|bad gateway|service unavailable"
    r"|gateway timeout|\b429\b|too ?many ?requests|context deadline exceeded|GOAWAY",
    re.IGNORECASE,
)


def is_transient(message: str, reference: str = "") -> bool:
    """Whether a push error is worth retrying. Permanent signs win over transient ones.

    The image's own name is taken out first: a branch tag like `fix-404` must not read
    as an HTTP status.
    """
    repository, _, tag = reference.rpartition(":")
    for name, stand_in in ((reference, "<image>"), (repository, "<repository>"), (tag, "<tag>")):
        if len(name) >= 3:  # (a tag like `1` would blank digits everywhere)
            message = message.replace(name, stand_in)
    return not PERMANENT.search(message) and bool(TRANSIENT.search(message))


def slug(text: str) -> str:
    """A branch name as a valid image tag: lowercase, [a-z0-9_.-], no leading . or -."""
    cleaned = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).lstrip(".-")
    return cleaned[:TAG_LIMIT]


def image_tags(spec: Package, revision: Revision) -> list[str]:
    """The tags the scheme gives this revision; a word with nothing to say gives none."""
    tags: list[str] = []
    for word in spec.tags:
        if word == "sha" and revision.commit:
            tags.append(f"sha-{revision.commit[:12]}")
        elif word == "branch" and revision.branch:
            tags.append(slug(revision.branch))
        elif word == "semver" and (found := SEMVER.fullmatch(revision.tag)):
            tags.append(found.group(1).replace("+", "-"))
        elif word == "latest":
            tags.append("latest")
    return list(dict.fromkeys(t for t in tags if t))


def oci_labels(revision: Revision, source: str, now: datetime | None = None) -> dict[str, str]:
    """`created` is the commit's time when there is one, so that the same commit builds
    the same image (and an unchanged context is one build-cache hit), else now."""
    when = datetime.fromisoformat(revision.time) if revision.time else (now or datetime.now(UTC))
    created = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    labels = {"org.opencontainers.image.created": created}
    if revision.commit:
        labels["org.opencontainers.image.revision"] = revision.commit
    if source:
        labels["org.opencontainers.image.source"] = source
    if SEMVER.fullmatch(revision.tag):
        labels["org.opencontainers.image.version"] = revision.tag.lstrip("v")
    return labels


def push_retrying(
    policy: RetryPolicy,
    *,
    reference: str = "",
    sleep: Callable[[float], None],
    announce: Callable[[int, float, str], None],
) -> tenacity.Retrying:
    """Exponential backoff with jitter, only while `is_transient` says the error may pass."""
    import tenacity  # noqa: PLC0415 (lazy: `credentials` is read by every run, pushes are not)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        announce(state.attempt_number + 1, delay, str(error))

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=tenacity.wait_exponential_jitter(
            multiplier=policy.delay,
            exp_base=policy.backoff,
            max=policy.max_delay,
            jitter=policy.delay,
        ),
        retry=tenacity.retry_if_exception(
            lambda error: isinstance(error, EngineError) and is_transient(str(error), reference)
        ),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def push(
    engine: Images,
    reference: str,
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None],
    log: Callable[[str], None],
    auth: tuple[str, str] | None = None,
) -> str:
    """Push with retries; the digest the registry gave the image."""

    def announce(attempt: int, delay: float, error: str) -> None:
        log(
            f"push of {reference} failed ({error}); attempt {attempt}/{policy.attempts} "
            f"in {delay:.1f}s"
        )

    retrying = push_retrying(policy, reference=reference, sleep=sleep, announce=announce)
    digest: str = retrying(engine.push, reference, auth)
    return digest


def credentials(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """Registry credentials from DOCKSTEP_REGISTRY_USER/PASSWORD; None: the Docker config."""
    user, password = (
        environ.get("DOCKSTEP_REGISTRY_USER"),
        environ.get("DOCKSTEP_REGISTRY_PASSWORD"),
    )
    return (user, password) if user and password else None
