"""GitHub Actions filter patterns, for branches, tags and changed paths. Pure.

The syntax is GitHub's "filter pattern cheat sheet": `*` matches any characters but `/`;
`**` matches any characters, and `**/` zero or more whole directories (so `**/README.md`
matches `README.md`); `?` matches zero or one and `+` one or more of the preceding
character; `[...]` matches one letter or digit listed, or in a range within a-z, A-Z or
0-9; `\\` makes the next character literal. In a list of patterns a leading `!` excludes:
the last pattern that matches a name decides, so a later pattern overrides an earlier one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

NEGATION = "!"
_RANGES = (("a", "z"), ("A", "Z"), ("0", "9"))


class GlobError(ValueError):
    """A pattern GitHub would refuse; the message says what is wrong and where."""


def glob_problem(pattern: str) -> str | None:
    """What is wrong with one pattern (without its `!`), or None."""
    try:
        compile_glob(pattern)
    except GlobError as error:
        return str(error)
    return None


def patterns_problem(patterns: Sequence[str]) -> str | None:
    """What is wrong with a list of patterns, or None."""
    for pattern in patterns:
        body = pattern.removeprefix(NEGATION)
        problem = glob_problem(body) if body else f"{pattern!r} excludes nothing"
        if problem:
            return problem
    if patterns and all(pattern.startswith(NEGATION) for pattern in patterns):
        return "a list with !patterns needs at least one pattern without ! to select names first"
    return None


def matches(patterns: Sequence[str], name: str) -> bool:
    """Whether the list selects `name`: the last pattern matching it decides (`!` excludes)."""
    selected = False
    for pattern in patterns:
        negated = pattern.startswith(NEGATION)
        if compile_glob(pattern.removeprefix(NEGATION)).fullmatch(name):
            selected = not negated
    return selected


@functools.lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regular expression a pattern stands for; use it with `fullmatch`."""
    if not pattern:
        raise GlobError("a pattern must not be empty")
    parts: list[str] = []
    index, repeatable = 0, False  # repeatable: a character precedes, so ? or + may follow
    while index < len(pattern):
        piece, index, repeatable = _token(pattern, index, repeatable)
        parts.append(piece)
    return re.compile("".join(parts), re.DOTALL)


def _token(pattern: str, index: int, repeatable: bool) -> tuple[str, int, bool]:
    """The regex for the token at `index`, the index after it, and whether ?/+ may follow."""
    char = pattern[index]
    if pattern.startswith("**/", index):
        return "(?:.*/)?", index + 3, False
    if pattern.startswith("**", index):
        return ".*", index + 2, False
    if char == "*":
        return "[^/]*", index + 1, False
    if char in "?+":
        if not repeatable:
            raise GlobError(f"{pattern!r}: {char!r} at {index + 1} has no character to repeat")
        return char, index + 1, False
    if char == "[":
        return _brackets(pattern, index)
    if char == "\\":
        if index + 1 == len(pattern):
            raise GlobError(f"{pattern!r}: a trailing \\ escapes nothing")
        return re.escape(pattern[index + 1]), index + 2, True
    return re.escape(char), index + 1, True


def _brackets(pattern: str, start: int) -> tuple[str, int, bool]:
    end = pattern.find("]", start + 1)
    if end == -1:
        raise GlobError(f"{pattern!r}: '[' at {start + 1} is not closed by ']'")
    inside = pattern[start + 1 : end]
    if not inside:
        raise GlobError(f"{pattern!r}: '[]' lists no character")
    index = 0
    while index < len(inside):
        if index + 2 < len(inside) and inside[index + 1] == "-":
            _check_range(pattern, inside[index : index + 3])
            index += 3
        elif inside[index].isascii() and inside[index].isalnum():
            index += 1
        else:
            message = f"[...] lists only letters, digits and ranges like a-z, not {inside[index]!r}"
            raise GlobError(f"{pattern!r}: {message}")
    return f"[{inside}]", end + 1, True


def _check_range(pattern: str, span: str) -> None:
    low, high = span[0], span[2]
    if not any(a <= low <= high <= b for a, b in _RANGES):
        raise GlobError(f"{pattern!r}: range {span!r} is not within a-z, A-Z or 0-9, low to high")
