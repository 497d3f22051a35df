"""Which images a Dockerfile starts from."""

from __future__ import annotations

from runner.expr.dockerfile import BaseImage, base_images

DIGEST = "sha256:" + "a" * 64


def test_from_lines_with_flags_stages_scratch_and_continuations() -> None:
    text = f"""\
# syntax comment
FROM --platform=linux/amd64 python:3.12 AS build
RUN make
FROM build AS test
FROM scratch
FROM \\
  debian@{DIGEST}
COPY --from=build /x /x
"""
    assert base_images(text, {}) == (
        BaseImage(line=2, written="python:3.12", reference="python:3.12"),
        BaseImage(line=6, written=f"debian@{DIGEST}", reference=f"debian@{DIGEST}"),
    )


def test_args_before_the_first_from_with_defaults_overridden_by_build_args() -> None:
    text = 'ARG BASE="python:3.11"\nARG TAG\nFROM ${BASE}\nFROM base:$TAG\nFROM x:${NONE:-1}\n'
    found = base_images(text, {})
    assert [b.reference for b in found] == ["python:3.11", None, "x:1"]
    found = base_images(text, {"BASE": "python:3.12", "TAG": "7"})
    assert [b.reference for b in found] == ["python:3.12", "base:7", "x:1"]


def test_an_arg_after_the_first_from_does_not_reach_a_later_from() -> None:
    text = "FROM a:1\nARG LATE=b:2\nFROM $LATE\n"
    assert [b.reference for b in base_images(text, {})] == ["a:1", None]
