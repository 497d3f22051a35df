"""`${VAR}` expansion in env values and build args. Pure.

Only the braced form is ours: a bare `$NAME` is left for the step's shell, and `$$`
writes a literal `$` (so `$${HOME}` reaches the shell as `${HOME}`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from runner.errors import EXIT_INVALID, DockstepError
from runner.model.pipeline import Pairs
from runner.names import VARIABLE

_REFERENCE = re.compile(r"\$(?:(?P<dollar>\$)|\{(?P<body>[^}]*)(?P<close>\}?))")
_BODY = re.compile(rf"(?P<name>{VARIABLE})(?::-(?P<default>.*))?", re.DOTALL)


class InterpolationError(DockstepError):
    """A malformed `${...}`; the loader reports these at load time, so this is a safety net."""

    exit_code = EXIT_INVALID


class UndefinedVariable(DockstepError):
    """`${NAME}` with no value and no `:-default`: failing beats running with a blank."""

    exit_code = EXIT_INVALID

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"undefined variable ${{{name}}}")
        self.hint = (
            f"Define {name} in env:, pass --var {name}=VALUE, or write ${{{name}:-default}} "
            "to fall back."
        )


def expand(text: str, variables: Mapping[str, str]) -> str:
    """`text` with every `${NAME}`, `${NAME:-default}` and `$$` replaced."""
    return _REFERENCE.sub(lambda match: _replace(match, variables), text)


def check_syntax(text: str) -> str | None:
    """What is wrong with the `${...}` references in `text`, or None when nothing is."""
    for match in _REFERENCE.finditer(text):
        problem = _syntax_problem(match)
        if problem:
            return problem
    return None


def expand_layers(layers: Sequence[Pairs], variables: Mapping[str, str]) -> dict[str, str]:
    """Merge env layers in order (pipeline < job < step), expanding each value.

    A value sees `variables` (the built-ins), every earlier layer and the other names of
    its own layer; a name used inside its own definition (`PATH: ${PATH}:/x`) means its
    earlier value. The result holds the layers' names only, not `variables`.
    """
    merged: dict[str, str] = {}
    for layer in layers:
        scope = _Scope(dict(layer), {**variables, **merged})
        merged.update({name: scope[name] for name, _ in layer})
    return merged


def _replace(match: re.Match[str], variables: Mapping[str, str]) -> str:
    problem = _syntax_problem(match)
    if problem:
        raise InterpolationError(problem)
    if match["dollar"]:
        return "$"
    body = _BODY.fullmatch(match["body"])
    assert body is not None  # guaranteed by _syntax_problem
    return _lookup(body["name"], body["default"], variables)


def _lookup(name: str, default: str | None, variables: Mapping[str, str]) -> str:
    """Shell semantics: `:-default` applies when the name is unset or empty."""
    try:
        value = variables[name]
    except KeyError:
        value = None
    if default is not None and not value:
        return default
    if value is None:
        raise UndefinedVariable(name)
    return value


def _syntax_problem(match: re.Match[str]) -> str | None:
    if match["dollar"]:
        return None
    body = match["body"]
    if not match["close"]:
        return f"unterminated '${{{body}'; close it with '}}' (or write $$ for a literal $)"
    if not body:
        return "empty '${}'; write ${NAME}, or $$ for a literal $"
    if _BODY.fullmatch(body) is None:
        return (
            f"invalid reference '${{{body}}}'; write ${{NAME}} or ${{NAME:-default}} "
            "with NAME made of letters, digits and _"
        )
    return None


class _Scope(Mapping[str, str]):
    """One layer's values, expanded on first use so their order in the file does not matter."""

    def __init__(self, raw: dict[str, str], base: Mapping[str, str]) -> None:
        self._raw, self._base = raw, base
        self._done: dict[str, str] = {}
        self._busy: set[str] = set()

    def __getitem__(self, name: str) -> str:
        if name in self._done:
            return self._done[name]
        if name not in self._raw or name in self._busy:
            return self._base[name]
        self._busy.add(name)
        try:
            self._done[name] = expand(self._raw[name], self)
        finally:
            self._busy.discard(name)
        return self._done[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._base, **self._raw})

    def __len__(self) -> int:
        return len({**self._base, **self._raw})
