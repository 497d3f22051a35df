"""Tags by scheme, OCI labels, and which push errors are retried."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runner.delivery import registry
from runner.errors import EngineError
from runner.git import Revision
from runner.model.pipeline import Package, RetryPolicy
from tests.fake_engine import FakeEngine


@pytest.mark.parametrize(
    ("message", "transient"),
    [
        ("received unexpected HTTP status: 500 Internal Server Error", True),
        ("received unexpected HTTP status: 503 Service Unavailable", True),
        ("toomanyrequests: rate limit exceeded (429)", True),
        (
            'Put "http://127.0.0.1:5000/v2/x/manifests/1": dial tcp 127.0.0.1:5000: '
            "connect: connection refused",
            True,
        ),
        ("net/http: TLS handshake timeout", True),
        ("unauthorized: authentication required", False),
        ("denied: requested access to the resource is denied", False),
        ("received unexpected HTTP status: 401 Unauthorized", False),
        ("received unexpected HTTP status: 404 Not Found", False),
        ("manifest invalid: manifest invalid", False),
        ("something odd happened", False),
    ],
)
def test_only_errors_that_can_pass_are_transient(message: str, transient: bool) -> None:
    assert registry.is_transient(message) is transient


REVISION = Revision(
    commit="0123456789abcdef" * 2 + "01234567", branch="Feature/Login_Page", tag="v1.4.2"
)


def test_the_tag_scheme_gives_sha_branch_semver_and_latest_only_when_asked() -> None:
    spec = Package(context="app", tags=("sha", "branch", "semver", "latest"))
    assert registry.image_tags(spec, REVISION) == [
        "sha-0123456789ab",
        "feature-login_page",
        "1.4.2",
        "latest",
    ]
    assert "latest" not in registry.image_tags(Package(context="app"), REVISION)


def test_a_word_with_nothing_to_say_gives_no_tag() -> None:
    spec = Package(context="app", tags=("sha", "branch", "semver"))
    assert registry.image_tags(spec, Revision(commit="", branch="", tag="nightly")) == []


def test_oci_labels_name_source_revision_created_and_version() -> None:
    labels = registry.oci_labels(
        REVISION, "https://example.test/app.git", datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    )
    assert labels == {
        "org.opencontainers.image.created": "2026-11-25T12:00:00Z",
        "org.opencontainers.image.revision": REVISION.commit,
        "org.opencontainers.image.source": "https://example.test/app.git",
        "org.opencontainers.image.version": "1.4.2",
    }


POLICY = RetryPolicy(max_retries=3, delay=1.0, backoff=2.0, max_delay=10.0)


def test_a_push_failing_twice_with_500_succeeds_on_the_third_try_and_says_so() -> None:
    engine = FakeEngine(
        present={"r/app:1": "sha256:1"}, push_errors=["received unexpected HTTP status: 500"] * 2
    )
    slept: list[float] = []
    said: list[str] = []
    digest = registry.push(engine, "r/app:1", POLICY, sleep=slept.append, log=said.append)
    assert digest.startswith("sha256:")
    assert [c for c, _ in engine.calls].count("push") == 3
    assert len(slept) == 2
    assert all(0 < s <= 10.0 for s in slept)
    assert said[0].startswith(
        "push of r/app:1 failed (received unexpected HTTP status: 500); attempt 2/4 in "
    )


def test_a_401_fails_at_once_without_retrying() -> None:
    engine = FakeEngine(
        present={"r/app:1": "sha256:1"}, push_errors=["unauthorized: authentication required"]
    )
    slept: list[float] = []
    with pytest.raises(EngineError, match="unauthorized"):
        registry.push(engine, "r/app:1", POLICY, sleep=slept.append, log=lambda _: None)
    assert [c for c, _ in engine.calls].count("push") == 1
    assert slept == []


def test_attempts_run_out_and_the_last_error_is_raised() -> None:
    engine = FakeEngine(present={"r/app:1": "sha256:1"}, push_errors=["502 Bad Gateway"] * 10)
    with pytest.raises(EngineError, match="502"):
        registry.push(engine, "r/app:1", POLICY, sleep=lambda _: None, log=lambda _: None)
    assert [c for c, _ in engine.calls].count("push") == POLICY.attempts


def test_the_images_own_name_is_not_read_as_an_http_status() -> None:
    reference = "127.0.0.1:5000/app:fix-404-page"
    message = "Put http://127.0.0.1:5000/v2/app/manifests/fix-404-page: connection refused"
    assert registry.is_transient(f"pushing {reference}: {message}", reference)
    assert not registry.is_transient(
        f"pushing {reference}: server gave HTTP response to HTTPS client", reference
    )
