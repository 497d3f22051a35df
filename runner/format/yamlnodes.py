"""The YAML-with-positions layer the pipeline loader reads through.

The YAML is composed into nodes, never constructed into dicts, so that each problem
carries the line and column it was found at, and so duplicate keys (which PyYAML
silently drops) can be caught. Here live the problem collector (`Doc`), mapping and
list access with unknown-key and did-you-mean reports, and the generic readers
(strings, booleans, whole numbers, string lists, env mappings) the typed ones build on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeGuard, TypeVar, overload

import yaml

from runner.errors import Problem
from runner.expr import interpolate
from runner.model.pipeline import Pairs, Position, pairs
from runner.names import VARIABLE_NAME, suggest_key

TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, MERGE = (
    TAG + name for name in ("str", "int", "float", "bool", "null", "merge")
)

CONSTRUCTOR = yaml.constructor.SafeConstructor()

T = TypeVar("T")


class PipelineYamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false, so `on:`, `yes` and `NO` stay strings."""


PipelineYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
PipelineYamlLoader.add_implicit_resolver(
    BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


# ---------------------------------------------------------------- document plumbing


@dataclass
class Doc:
    """Where problems and warnings are collected while one file is read."""

    file: str
    workspace: Path
    allow_unpinned: bool
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, node: yaml.Node, path: str, message: str, offset: int = 0) -> None:
        at = self.position(node)
        problem = Problem(
            file=self.file, line=at.line, column=at.column + offset, path=path, message=message
        )
        self.problems.append(problem)

    def warn(self, node: yaml.Node, path: str, message: str) -> None:
        self.warnings.append(f"{self.position(node)}: {path}: {message}")

    def position(self, node: yaml.Node) -> Position:
        mark = node.start_mark
        return Position(file=self.file, line=mark.line + 1, column=mark.column + 1)


Reader = Callable[[Doc, yaml.Node, str], T | None]


class Entry(NamedTuple):
    key: yaml.Node
    value: yaml.Node


class Ref(NamedTuple):
    """A name read at a node, checked once the rest of the document is read (a job named)."""

    name: str
    node: yaml.Node
    path: str


@dataclass
class Fields:
    """The known keys of one mapping, read on demand with typed readers."""

    doc: Doc
    nodes: dict[str, yaml.Node]
    path: str

    def __contains__(self, name: str) -> bool:
        return name in self.nodes

    @overload
    def get(self, name: str, read: Reader[T]) -> T | None: ...
    @overload
    def get(self, name: str, read: Reader[T], default: T) -> T: ...
    def get(self, name: str, read: Reader[T], default: T | None = None) -> T | None:
        """The value under `name`; `default` when absent or invalid (invalid is reported)."""
        node = self.nodes.get(name)
        value = None if node is None else read(self.doc, node, sub(self.path, name))
        return default if value is None else value


def compose(doc: Doc, text: str) -> yaml.Node | None:
    """The node tree, or None with the YAML error reported at the parser's mark."""
    try:
        root = yaml.compose(text, Loader=PipelineYamlLoader)
    except yaml.MarkedYAMLError as error:
        doc.problems.append(_yaml_problem(doc.file, text, error))
        return None
    except yaml.reader.ReaderError as error:  # a control character, found before any parsing
        line, column = _line_column(text, error.position)
        message = f"invalid YAML: unacceptable character #x{error.character:04x}: {error.reason}"
        doc.problems.append(problem_at(doc.file, line, column, message))
        return None
    if root is None:
        message = "the file is empty; a pipeline needs at least version: 1 and jobs:"
        doc.problems.append(problem_at(doc.file, 1, 1, message))
    return root


def _yaml_problem(file: str, text: str, error: yaml.MarkedYAMLError) -> Problem:
    """The parser's problem, placed where a user can fix it.

    Something left open (a quote, `[` or `{`) is only noticed at the end of the file, which
    points nowhere useful: it is reported where it was opened, the error's context mark.
    """
    mark = error.problem_mark or error.context_mark
    what = ", ".join(part for part in (error.context, error.problem) if part)
    if error.context_mark and (mark is None or mark.index >= len(text)):
        mark, what = error.context_mark, f"{what} (it opens here and is never closed)"
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return problem_at(file, line, column, f"invalid YAML: {what}")


def _line_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def problem_at(file: str, line: int, column: int, message: str) -> Problem:
    """A problem about the file as a whole, where there is no node to point at."""
    return Problem(file=file, line=line, column=column, path="", message=message)


def sub(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def is_tag(node: yaml.Node, tag: str) -> TypeGuard[yaml.ScalarNode]:
    return isinstance(node, yaml.ScalarNode) and node.tag == tag


def _got(node: yaml.Node) -> str:
    """How a value reads in an error message: quoted when it is a string."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == NULL:
        return "nothing" if node.value == "" else "null"
    if not node.tag.startswith(TAG):
        return f"a value tagged {node.tag} (quote values that start with !)"
    text = str(node.value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return repr(text) if node.tag == STR else text


def wrong(doc: Doc, node: yaml.Node, path: str, expected: str) -> None:
    """Report a value of the wrong shape, saying what was expected and what was found."""
    doc.add(node, path, f"expected {expected}, got {_got(node)}")


def read_entries(doc: Doc, node: yaml.Node, path: str) -> dict[str, Entry] | None:
    """A mapping's entries in file order, `<<` merges applied, duplicate keys reported."""
    if not isinstance(node, yaml.MappingNode):
        wrong(doc, node, path, "a mapping")
        return None
    entries: dict[str, Entry] = {}
    for key, value in node.value:
        name = _key(doc, key, path)
        if name is None or key.tag == MERGE:
            continue
        if name in entries:
            doc.add(key, path, f"duplicate key {name!r}")
        else:
            entries[name] = Entry(key, value)
    for key, value in _merged(doc, node, path):
        entries.setdefault(str(key.value), Entry(key, value))
    return entries


def _key(doc: Doc, key: yaml.Node, path: str) -> str | None:
    if isinstance(key, yaml.ScalarNode):
        return str(key.value)
    wrong(doc, key, path, "a plain key")
    return None


def _merged(doc: Doc, node: yaml.MappingNode, path: str) -> list[tuple[yaml.Node, yaml.Node]]:
    """The entries `<<: *anchor` brings in; explicit keys win, so callers add these last."""
    found: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in node.value:
        if key.tag != MERGE:
            continue
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                wrong(doc, source, path, "a mapping to merge with <<")
                continue
            found += [(k, v) for k, v in source.value if k.tag != MERGE]
            found += _merged(doc, source, path)
    return found


def read_fields(
    doc: Doc,
    node: yaml.Node,
    path: str,
    allowed: Collection[str],
    *,
    required: Collection[str] = (),
    forbidden: Mapping[str, str] | None = None,
    hidden: bool = False,
) -> Fields | None:
    """A mapping's known keys; unknown (with did-you-mean), forbidden and missing ones reported.

    With `hidden`, keys starting with "." are ignored: GitLab's hidden keys, which hold
    YAML anchors for reuse (`.deps: &deps …`, then `install: *deps`).
    """
    entries = read_entries(doc, node, path)
    if entries is None:
        return None
    for name, entry in entries.items():
        if hidden and name.startswith("."):
            continue
        if forbidden and name in forbidden:
            doc.add(entry.key, path, forbidden[name])
        elif name not in allowed:
            doc.add(entry.key, path, f"unknown key {name!r}{suggest_key(name, allowed)}")
    for name in sorted(set(required) - set(entries)):
        doc.add(node, path, f"missing key {name!r}")
    return Fields(doc, {k: e.value for k, e in entries.items() if k in allowed}, path)


def read_items(doc: Doc, node: yaml.Node, path: str, expected: str) -> list[yaml.Node] | None:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    wrong(doc, node, path, expected)
    return None


# ---------------------------------------------------------------- scalar and list readers


def read_string(doc: Doc, node: yaml.Node, path: str) -> str | None:
    if is_tag(node, STR):
        return str(node.value)
    wrong(doc, node, path, "a string")
    return None


def read_text(doc: Doc, node: yaml.Node, path: str) -> str | None:
    """A non-empty string."""
    value = read_string(doc, node, path)
    if value is not None and not value.strip():
        doc.add(node, path, "must not be empty")
        return None
    return value


def read_bool(doc: Doc, node: yaml.Node, path: str) -> bool | None:
    if is_tag(node, BOOL):
        return str(node.value).lower() == "true"
    wrong(doc, node, path, "true or false")
    return None


def number_value(node: yaml.Node) -> float | None:
    """An int or float scalar's value (finite), else None."""
    if is_tag(node, INT):
        return float(CONSTRUCTOR.construct_yaml_int(node))
    if is_tag(node, FLOAT):
        value = CONSTRUCTOR.construct_yaml_float(node)
        return value if math.isfinite(value) else None
    return None


def read_whole(doc: Doc, node: yaml.Node, path: str, low: int, high: int | None) -> int | None:
    """An int in [low, high]."""
    value = CONSTRUCTOR.construct_yaml_int(node) if is_tag(node, INT) else None
    if value is not None and value >= low and (high is None or value <= high):
        return value
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
    wrong(doc, node, path, f"a whole number {bounds}")
    return None


def read_string_list(doc: Doc, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    items = read_items(doc, node, path, "a list of strings")
    if items is None:
        return None
    values = [read_text(doc, item, f"{path}[{index}]") for index, item in enumerate(items)]
    strings = tuple(value for value in values if value is not None)
    return strings if len(strings) == len(values) else None


# ---------------------------------------------------------------- env


def read_env(doc: Doc, node: yaml.Node, path: str) -> Pairs | None:
    """Variables as sorted pairs; values are stringified as written, `${...}` syntax checked."""
    entries = read_entries(doc, node, path)
    if entries is None:
        return None
    values: dict[str, str] = {}
    for name, entry in entries.items():
        valid = check_variable_name(doc, entry.key, path, name)
        value = _env_value(doc, entry.value, sub(path, name))
        if valid and value is not None:
            values[name] = value
    return pairs(values)


def check_variable_name(doc: Doc, key: yaml.Node, path: str, name: str) -> bool:
    if VARIABLE_NAME.fullmatch(name):
        return True
    rule = "use letters, digits and _, not starting with a digit"
    doc.add(key, path, f"invalid variable name {name!r}; {rule}")
    return False


def _env_value(doc: Doc, node: yaml.Node, path: str) -> str | None:
    """Numbers keep their spelling (`3.10` stays `3.10`); booleans become true/false."""
    if not isinstance(node, yaml.ScalarNode) or node.tag == NULL:
        wrong(doc, node, path, "a string, number or boolean (write '' for empty)")
        return None
    value = str(node.value).lower() if node.tag == BOOL else str(node.value)
    problem = interpolate.check_syntax(value)
    if problem:
        doc.add(node, path, problem)
        return None
    return value
