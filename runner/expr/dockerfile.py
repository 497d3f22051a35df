"""The base images a Dockerfile's `FROM` lines name, with `ARG` values substituted. Pure.

Only what decides the base is read: `ARG`s before the first `FROM` (the only ones a
`FROM` may use), overridden by the build's args, and each `FROM [--flag...] IMAGE [AS
name]`. `scratch` and earlier stages are not images; a reference still naming an
unknown `$ARG` is returned with `reference=None`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

_ARG = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseImage:
    line: int  # 1-based, where the FROM starts
    written: str  # as in the file
    reference: str | None  # with ARGs substituted; None when one has no value


def base_images(text: str, args: Mapping[str, str]) -> tuple[BaseImage, ...]:
    """The images the build starts from, in file order."""
    declared: dict[str, str | None] = {}
    stages: set[str] = set()
    found: list[BaseImage] = []
    seen_from = False  # ARGs after the first FROM are a stage's own
    for line, instruction, rest in _instructions(text):
        if instruction == "ARG" and not seen_from:
            name, sep, default = rest.strip().partition("=")
            declared[name.strip()] = args.get(name.strip(), _unquote(default) if sep else None)
        elif instruction == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            if not words:
                continue
            written = words[0]
            reference = _substitute(written, declared)
            if reference is None or (reference.lower() not in stages and reference != "scratch"):
                found.append(BaseImage(line=line, written=written, reference=reference))
            seen_from = True
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(words[2].lower())
    return tuple(found)


def _instructions(text: str) -> Iterator[tuple[int, str, str]]:
    """(line, INSTRUCTION, arguments) with `\\` continuations joined, comments skipped."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        start = start if pending else number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole, pending = pending + stripped, ""
        instruction, _, rest = whole.partition(" ")
        yield start, instruction.upper(), rest


def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def _substitute(text: str, values: Mapping[str, str | None]) -> str | None:
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        name = match["braced"] or match["bare"]
        value = values.get(name)
        if not value and match["default"] is not None:
            return match["default"]
        if value is None:
            missing = True
            return ""
        return value

    result = _ARG.sub(replace, text)
    return None if missing else result
