"""YAML syntax errors point at the place a user has to fix, not where the parser gave up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.pipelines import problems

IMAGE = "busybox@sha256:" + "a" * 64


def steps(run: str) -> str:
    """A one-job pipeline whose single step is `run:` followed by `run` as written."""
    return (
        f"version: 1\ndefaults: {{image: '{IMAGE}'}}\njobs:\n  test:\n    steps:\n"
        f"      - run: {run}\n        name: greet\n  lint:\n    steps: [ruff]\n"
    )


@pytest.mark.parametrize("quote", ['"', "'"], ids=["double", "single"])
def test_an_unclosed_quote_is_reported_at_the_opening_quote(quote: str, tmp_path: Path) -> None:
    found = problems(steps(f"{quote}echo hi"), tmp_path)
    assert len(found) == 1, found
    assert found[0].startswith("pipelines/ci.yml:6:14: invalid YAML: "), found
    assert "never closed" in found[0]


def test_an_unclosed_quote_on_the_last_line_without_a_newline(tmp_path: Path) -> None:
    text = f"version: 1\ndefaults: {{image: '{IMAGE}'}}\njobs: {{t: {{steps: ['echo hi]}}}}"
    found = problems(text, tmp_path)
    assert [line.split(" invalid YAML")[0] for line in found] == ["pipelines/ci.yml:3:20:"]


def test_an_unclosed_list_at_the_end_is_reported_where_it_opens(tmp_path: Path) -> None:
    text = f"version: 1\ndefaults: {{image: '{IMAGE}'}}\njobs:\n  t:\n    steps: [a, b\n\n"
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:5:12: invalid YAML: while parsing a flow sequence, expected ',' or "
        "']', but got '<stream end>' (it opens here and is never closed)"
    ]


def test_an_error_in_the_middle_of_the_file_stays_at_the_parser_mark(tmp_path: Path) -> None:
    text = "version: 1\njobs:\n  test:\n    steps: [a, b\n    image: x\n"
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:5:10: invalid YAML: while parsing a flow sequence, "
        "expected ',' or ']', but got ':'"
    ]
