"""The `on:` triggers of a pipeline, and the cron expressions of `on.schedule`."""

from __future__ import annotations

import re

import yaml

from runner.format.yamlnodes import (
    NULL,
    STR,
    Doc,
    Reader,
    is_tag,
    read_fields,
    read_items,
    read_string_list,
    read_text,
)
from runner.model.pipeline import Trigger, TriggerKind
from runner.names import suggest

TRIGGER_KEYS = frozenset(kind.value for kind in TriggerKind)
BRANCH_FILTER_KEYS = frozenset({"branches", "paths"})  # on.push and on.pull_request
TAG_FILTER_KEYS = frozenset({"tags"})
SCHEDULE_KEYS = frozenset({"cron"})
WEBHOOK_KEYS = frozenset({"name"})

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)
_CRON_PART = re.compile(r"(?:\*|(?P<start>\w+)(?:-(?P<end>\w+))?)(?:/(?P<step>[0-9]+))?")


def cron_problem(text: str) -> str | None:
    """What is wrong with a 5-field cron expression, or None."""
    fields = text.split()
    if len(fields) != len(_CRON_FIELDS):
        return (
            f"expected a cron expression with 5 fields (minute hour day-of-month month "
            f"day-of-week), got {text!r}"
        )
    for value, spec in zip(fields, _CRON_FIELDS, strict=True):
        problem = _cron_field(value, *spec)
        if problem:
            return problem
    return None


# ---------------------------------------------------------------- triggers


def read_triggers(doc: Doc, node: yaml.Node, path: str) -> tuple[Trigger, ...] | None:
    """`on: push`, `on: [push, manual]` or `on: {push: {branches: [main]}, ...}`."""
    if is_tag(node, STR) or isinstance(node, yaml.SequenceNode):
        return _trigger_names(doc, node, path)
    fields = read_fields(doc, node, path, TRIGGER_KEYS)
    if fields is None:
        return None
    found: list[Trigger] = []
    for name in fields.nodes:
        found += fields.get(name, _TRIGGER_READERS[TriggerKind(name)], [])
    return tuple(found)


def _trigger_names(doc: Doc, node: yaml.Node, path: str) -> tuple[Trigger, ...] | None:
    items = [node] if isinstance(node, yaml.ScalarNode) else node.value
    found: list[Trigger] = []
    for index, item in enumerate(items):
        item_path = path if item is node else f"{path}[{index}]"
        name = read_text(doc, item, item_path)
        if name == "schedule":
            doc.add(item, item_path, "schedule needs a time: on: {schedule: [{cron: '0 3 * * *'}]}")
        elif name in TRIGGER_KEYS:
            found.append(Trigger(kind=TriggerKind(name)))
        elif name is not None:
            doc.add(item, item_path, f"unknown trigger {name!r}{suggest(name, TRIGGER_KEYS)}")
    return tuple(found)


def _filters(doc: Doc, node: yaml.Node, path: str, kind: TriggerKind) -> list[Trigger] | None:
    """push / pull_request / tag: null for any, or glob filters."""
    if is_tag(node, NULL):
        return [Trigger(kind=kind)]
    keys = TAG_FILTER_KEYS if kind is TriggerKind.TAG else BRANCH_FILTER_KEYS
    fields = read_fields(doc, node, path, keys)
    if fields is None:
        return None
    return [
        Trigger(
            kind=kind,
            branches=fields.get("branches", read_string_list, ()),
            paths=fields.get("paths", read_string_list, ()),
            tags=fields.get("tags", read_string_list, ()),
        )
    ]


def _schedule(doc: Doc, node: yaml.Node, path: str) -> list[Trigger] | None:
    items = read_items(doc, node, path, "a list of {cron: '<minute hour day month weekday>'}")
    if items is None:
        return None
    found = []
    for index, item in enumerate(items):
        fields = read_fields(doc, item, f"{path}[{index}]", SCHEDULE_KEYS, required=("cron",))
        cron = fields.get("cron", _cron) if fields else None
        if cron is not None:
            found.append(Trigger(kind=TriggerKind.SCHEDULE, cron=cron))
    return found


def _cron(doc: Doc, node: yaml.Node, path: str) -> str | None:
    text = read_text(doc, node, path)
    problem = cron_problem(text) if text is not None else None
    if problem:
        doc.add(node, path, problem)
        return None
    return text


def _cron_field(value: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    for part in value.split(","):
        match = _CRON_PART.fullmatch(part)
        if match is None or match["step"] == "0":
            return f"invalid cron {name} field {value!r}"
        for bound in (match["start"], match["end"]):
            number = _cron_number(bound, names) if bound else low
            if number is None or not low <= number <= high:
                return f"cron {name} field {value!r}: {bound!r} is not in {low}-{high}"
    return None


def _cron_number(text: str, names: tuple[str, ...]) -> int | None:
    if text.isdigit():
        return int(text)
    lowered = text.lower()
    if lowered not in names:
        return None
    return names.index(lowered) + (1 if names is _MONTHS else 0)


def _manual(doc: Doc, node: yaml.Node, path: str) -> list[Trigger] | None:
    if not is_tag(node, NULL) and read_fields(doc, node, path, ()) is None:
        return None
    return [Trigger(kind=TriggerKind.MANUAL)]


def _webhook(doc: Doc, node: yaml.Node, path: str) -> list[Trigger] | None:
    if is_tag(node, NULL):
        return [Trigger(kind=TriggerKind.WEBHOOK)]
    fields = read_fields(doc, node, path, WEBHOOK_KEYS)
    if fields is None:
        return None
    return [Trigger(kind=TriggerKind.WEBHOOK, name=fields.get("name", read_text))]


_TRIGGER_READERS: dict[TriggerKind, Reader[list[Trigger]]] = {
    TriggerKind.PUSH: lambda doc, node, path: _filters(doc, node, path, TriggerKind.PUSH),
    TriggerKind.PULL_REQUEST: lambda d, n, p: _filters(d, n, p, TriggerKind.PULL_REQUEST),
    TriggerKind.TAG: lambda doc, node, path: _filters(doc, node, path, TriggerKind.TAG),
    TriggerKind.SCHEDULE: _schedule,
    TriggerKind.MANUAL: _manual,
    TriggerKind.WEBHOOK: _webhook,
}
