from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.engine import cleanup, labels
from runner.errors import UsageError
from runner.model.pipeline import Secret
from runner.secrets import Masker, read_secrets


def test_secrets_come_from_the_environment_or_a_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("file-value\n")
    secrets = [Secret(name="A", from_env="HOST_A"), Secret(name="B", from_file="key")]
    values = read_secrets(secrets, {"HOST_A": "env-value"}, tmp_path)
    assert values == {"A": "env-value", "B": "file-value"}


def test_a_missing_secret_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="secret TOKEN: the environment has no CI_TOKEN"):
        read_secrets([Secret(name="TOKEN", from_env="CI_TOKEN")], {}, tmp_path)


def test_masking_hides_whole_values_and_each_line_of_multiline_ones() -> None:
    mask = Masker.of(["hunter2-long", "-----BEGIN KEY-----\nabcdefgh\n-----END KEY-----"])
    assert mask("pw=hunter2-long!") == "pw=***!"
    assert mask("line abcdefgh") == "line ***"
    assert mask("short } stays") == "short } stays"


def test_a_longer_secret_containing_a_shorter_one_is_masked_whole() -> None:
    assert Masker.of(["abcdef", "abcdefghij"])("x abcdefghij y") == "x *** y"


def labels_of(pid: int, started: str, host: str = "here") -> dict[str, str]:
    return {labels.OWNER_HOST: host, labels.OWNER_PID: str(pid), labels.OWNER_STARTED: started}


def test_the_current_process_is_alive_and_a_recycled_pid_is_not() -> None:
    me = cleanup.Owner.current()
    assert cleanup.owner_alive(labels_of(os.getpid(), me.started), "here")
    assert not cleanup.owner_alive(labels_of(os.getpid(), "1"), "here")


def test_a_gone_pid_is_dead_and_another_hosts_run_is_left_alone() -> None:
    assert not cleanup.owner_alive(labels_of(2**22 + 7, "5"), "here")
    assert cleanup.owner_alive(labels_of(2**22 + 7, "5", host="elsewhere"), "here")


def test_owner_labels_carry_run_host_pid_and_start() -> None:
    made = dict(cleanup.Owner(host="h", pid=42, started="99").labels("run-1", "job-a"))
    assert made == {
        labels.RUN: "run-1",
        labels.JOB: "job-a",
        labels.OWNER_HOST: "h",
        labels.OWNER_PID: "42",
        labels.OWNER_STARTED: "99",
    }


def test_values_too_short_to_mask_safely_are_left_alone() -> None:
    assert Masker.of(["1", "ab"])("version 1.2 abc") == "version 1.2 abc"
