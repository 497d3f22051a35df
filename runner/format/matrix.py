"""A job's `matrix:` -> its cells, by GitHub Actions' rules.

`matrix:` maps each axis (a variable name) to a list of values; every combination is a
cell, `exclude` entries remove the cells they match, then each `include` entry is added
to every cell whose axis values it does not change, or becomes a cell of its own when it
fits none. Each cell becomes a job named `<job>.<AXIS>-<value>...` (see `cell_name`), a
name valid wherever a job name is used: container names, log files and `--job`.
"""

from __future__ import annotations

import itertools
import re
from typing import NamedTuple

import yaml

from runner.format.yamlnodes import (
    BOOL,
    NULL,
    Doc,
    check_variable_name,
    read_entries,
    read_items,
    sub,
    wrong,
)
from runner.names import suggest

Values = tuple[tuple[str, str], ...]  # variable -> value, in the order of the axes


class MatrixCell(NamedTuple):
    named: Values  # what its job's name shows: the axes' values (all, for a cell include added)
    values: Values  # every variable of the cell


MAX_CELLS = 256
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def cell_name(family: str, values: Values) -> str:
    """`test.PY-3.12.OS-debian`: what a value has outside `[A-Za-z0-9_.-]` becomes `_`."""
    return ".".join([family, *(f"{name}-{_UNSAFE.sub('_', value)}" for name, value in values)])


def read_matrix(doc: Doc, node: yaml.Node, path: str) -> tuple[MatrixCell, ...] | None:
    """The cells, in the order of the axes' values, then the cells `include` adds."""
    entries = read_entries(doc, node, path)
    if entries is None:
        return None
    axes: dict[str, tuple[str, ...]] = {}
    combos: dict[str, list[dict[str, str]]] = {"include": [], "exclude": []}
    readable = True  # what is unreadable is reported once: no "no cells" after it
    for name, entry in entries.items():
        if name in combos:
            found = _combinations(doc, entry.value, sub(path, name))
            combos[name], readable = found or [], readable and found is not None
        elif check_variable_name(doc, entry.key, path, name):
            values = _axis(doc, entry.value, sub(path, name))
            axes[name], readable = values or (), readable and values is not None
        else:
            readable = False
    exclude = entries["exclude"].value if "exclude" in entries else None
    _check_excludes(doc, exclude, path, combos["exclude"], set(axes))
    kept = [
        dict(zip(axes, combo, strict=True))
        for combo in itertools.product(*axes.values())
        if axes and not _excluded(dict(zip(axes, combo, strict=True)), combos["exclude"])
    ]
    cells = _included(kept, combos["include"], set(axes))
    return _checked(doc, node, path, cells, tuple(axes)) if readable else None


def _checked(
    doc: Doc, node: yaml.Node, path: str, cells: list[dict[str, str]], axes: tuple[str, ...]
) -> tuple[MatrixCell, ...] | None:
    if not cells:
        doc.add(node, path, "the matrix has no cells: give each axis a list of values")
        return None
    if len(cells) > MAX_CELLS:
        doc.add(node, path, f"the matrix has {len(cells)} cells; at most {MAX_CELLS} are allowed")
        return None
    return tuple(
        MatrixCell(
            named=tuple((a, cell[a]) for a in axes if a in cell)
            if all(a in cell for a in axes)
            else tuple(cell.items()),
            values=tuple(cell.items()),
        )
        for cell in cells
    )


def _axis(doc: Doc, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    items = read_items(doc, node, path, "a list of values")
    if items is None:
        return None
    if not items:
        doc.add(node, path, "expected at least one value")
        return None
    values = [_value(doc, item, f"{path}[{index}]") for index, item in enumerate(items)]
    twice = [i for i, value in enumerate(values) if value is not None and value in values[:i]]
    for index in twice:
        doc.add(items[index], f"{path}[{index}]", f"{values[index]!r} is listed twice")
    found = tuple(value for value in values if value is not None)
    return found if len(found) == len(values) and not twice else None


def _value(doc: Doc, node: yaml.Node, path: str) -> str | None:
    """A string, number or boolean, kept as written (`3.10` stays `3.10`)."""
    if not isinstance(node, yaml.ScalarNode) or node.tag == NULL or not str(node.value):
        wrong(doc, node, path, "a string, number or boolean")
        return None
    return str(node.value).lower() if node.tag == BOOL else str(node.value)


def _combinations(doc: Doc, node: yaml.Node, path: str) -> list[dict[str, str]] | None:
    """`include:` or `exclude:`: a list of mappings of variable -> value."""
    items = read_items(doc, node, path, "a list of mappings of variable: value")
    if items is None:
        return None
    found = []
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        entries = read_entries(doc, item, here)
        if entries is None:
            continue
        if not entries:
            doc.add(item, here, "expected at least one variable: value")
        values = {
            name: _value(doc, entry.value, sub(here, name))
            for name, entry in entries.items()
            if check_variable_name(doc, entry.key, here, name)
        }
        found.append({name: value for name, value in values.items() if value is not None})
    return found


def _check_excludes(
    doc: Doc, node: yaml.Node | None, path: str, excludes: list[dict[str, str]], axes: set[str]
) -> None:
    """An exclude naming what is not an axis would never match: most likely a typo."""
    for index, exclude in enumerate(excludes):
        unknown = sorted(set(exclude) - axes)
        if unknown and node is not None:
            here = f"{sub(path, 'exclude')}[{index}]"
            message = f"{unknown[0]!r} is not an axis of the matrix{suggest(unknown[0], axes)}"
            doc.add(
                node.value[index] if isinstance(node, yaml.SequenceNode) else node, here, message
            )


def _excluded(cell: dict[str, str], excludes: list[dict[str, str]]) -> bool:
    return any(
        exclude and all(cell.get(name) == value for name, value in exclude.items())
        for exclude in excludes
    )


def _included(
    cells: list[dict[str, str]], includes: list[dict[str, str]], axes: set[str]
) -> list[dict[str, str]]:
    """GitHub's rule: an include extends every cell whose axis values it keeps (what
    earlier includes added may be overwritten), else it is a new cell."""
    originals = [dict(cell) for cell in cells]  # a cell an include added takes no other
    for include in includes:
        fits = [
            index
            for index, original in enumerate(originals)
            if all(original[name] == value for name, value in include.items() if name in axes)
        ]
        for index in fits:
            cells[index].update(include)
        if not fits and include:
            cells.append(dict(include))
    return cells
