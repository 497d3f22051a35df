"""The validator's hints for users coming from GitHub Actions."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.names import suggest_key
from tests.unit.pipelines import IMAGE, problems


def job_with(key: str) -> str:
    return f"version: 1\njobs:\n  test:\n    image: '{IMAGE}'\n    {key}\n    steps: [x]\n"


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("working-directory: /src", "(dockstep's key is workdir:"),
        ("timeout-minutes: 10", "(dockstep's key is timeout:, a duration like 10m)"),
        ("continue-on-error: true", "(dockstep's key is allow_failure: true)"),
        ("strategy: {matrix: {PY: [a]}}", "(write matrix: directly on the job"),
        ("uses: actions/checkout@v4", "(dockstep has no actions: run the tool in a step"),
        ("runs-on: ubuntu-latest", "(dockstep runs every job in its image"),
    ],
)
def test_github_actions_keys_get_what_dockstep_does_instead(
    tmp_path: Path, key: str, hint: str
) -> None:
    found = problems(job_with(key), tmp_path)
    name = key.partition(":")[0]
    assert len(found) == 1
    assert found[0].startswith(f"pipelines/ci.yml:5:5: jobs.test: unknown key '{name}' {hint}")


def test_a_step_gets_them_too(tmp_path: Path) -> None:
    text = (
        f"version: 1\njobs:\n  test:\n    image: '{IMAGE}'\n"
        "    steps:\n      - {run: x, working-directory: src}\n"
    )
    assert (
        "unknown key 'working-directory' (dockstep's key is workdir:" in problems(text, tmp_path)[0]
    )


def test_a_hint_naming_a_key_is_given_only_where_that_key_is_allowed() -> None:
    assert suggest_key("services", {"services", "image"}).startswith(" (dockstep's key is services")
    assert suggest_key("timeout-minutes", {"install"}) == ""
    assert suggest_key("uses", {"install"}).startswith(" (dockstep has no actions")
    assert suggest_key("setps", {"steps"}) == " (did you mean 'steps'?)"
