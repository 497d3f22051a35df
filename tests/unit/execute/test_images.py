"""A build's content tag: a base rebuilt under the same tag makes a new one."""

from __future__ import annotations

from pathlib import Path

from runner.execute.images import ImageResolver
from runner.model.pipeline import BuildSpec, ImageRef, Pairs
from tests.fake_engine import FakeEngine
from tests.unit.harness import settings

DIGEST = "sha256:" + "b" * 64


def tag_of(tmp_path: Path, engine: FakeEngine, dockerfile: str, args: Pairs = ()) -> str:
    (tmp_path / "img").mkdir(exist_ok=True)
    (tmp_path / "img" / "Dockerfile").write_text(dockerfile)
    image = ImageRef(build=BuildSpec(context="img", args=args))
    return ImageResolver(engine, settings(tmp_path)).pinned(image)


def test_a_floating_from_is_hashed_by_the_image_it_names_now(tmp_path: Path) -> None:
    engine = FakeEngine(present={"base:1": "sha256:" + "1" * 64})
    before = tag_of(tmp_path, engine, "FROM base:1\n")
    assert tag_of(tmp_path, engine, "FROM base:1\n") == before
    engine.present["base:1"] = "sha256:" + "2" * 64  # rebuilt under the same tag
    assert tag_of(tmp_path, engine, "FROM base:1\n") != before


def test_a_base_named_by_a_build_arg_is_resolved_too(tmp_path: Path) -> None:
    engine = FakeEngine(present={"base:1": "sha256:" + "1" * 64})
    text = "ARG BASE\nFROM ${BASE}\n"
    before = tag_of(tmp_path, engine, text, (("BASE", "base:1"),))
    engine.present["base:1"] = "sha256:" + "2" * 64
    assert tag_of(tmp_path, engine, text, (("BASE", "base:1"),)) != before


def test_a_pinned_from_needs_no_engine_and_stays_portable(tmp_path: Path) -> None:
    engine = FakeEngine()
    before = tag_of(tmp_path, engine, f"FROM base@{DIGEST}\n")
    engine.present[f"base@{DIGEST}"] = "sha256:" + "3" * 64
    assert tag_of(tmp_path, engine, f"FROM base@{DIGEST}\n") == before
