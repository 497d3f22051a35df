"""`dockstep serve`'s options: where it listens, its secret (never from the command line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.commands.serve import SECRET_ENV, listen_address, remote_of, webhook_secret
from runner.errors import UsageError


@pytest.mark.parametrize(
    ("value", "expected"),
    [("127.0.0.1:8470", ("127.0.0.1", 8470)), ("[::1]:80", ("[::1]", 80))],
)
def test_listen_addresses(value: str, expected: tuple[str, int]) -> None:
    assert listen_address(value) == expected


@pytest.mark.parametrize("value", ["8470", "127.0.0.1", ":8470", "host:port"])
def test_bad_listen_addresses_are_refused(value: str) -> None:
    with pytest.raises(UsageError, match="HOST:PORT"):
        listen_address(value)


def test_the_secret_comes_from_its_file_first_then_the_environment(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    assert webhook_secret(secret_file, {SECRET_ENV: "from-env"}) == "from-file"
    assert webhook_secret(None, {SECRET_ENV: "from-env"}) == "from-env"
    with pytest.raises(UsageError, match="needs a webhook secret"):
        webhook_secret(None, {})
    with pytest.raises(UsageError, match="--webhook-secret-file"):
        webhook_secret(tmp_path / "missing", {})


def test_a_repository_path_becomes_absolute_and_a_url_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path)
    assert remote_of("repo", tmp_path) == str(tmp_path / "repo")
    assert remote_of("https://git.example/x.git", tmp_path) == "https://git.example/x.git"
