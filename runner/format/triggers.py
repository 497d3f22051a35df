"""The `on:` triggers of a pipeline.

`on: push`, `on: [push, manual]`, or a mapping whose keys are trigger kinds and whose
values are their filters or settings. Patterns are checked with `runner.expr.globs`, cron
expressions with `runner.expr.cron`, time zones against the zone database.
"""

from __future__ import annotations

import zoneinfo

import yaml

from runner.expr.cron import cron_problem
from runner.expr.globs import glob_problem, patterns_problem
from runner.format.cache import read_repository
from runner.format.yamlnodes import (
    NULL,
    STR,
    Doc,
    Fields,
    Reader,
    is_tag,
    read_fields,
    read_items,
    read_string_list,
    read_text,
)
from runner.model.triggers import (
    Filter,
    ImageTrigger,
    ManualTrigger,
    PipelinesTrigger,
    PullRequestTrigger,
    PushTrigger,
    ScheduleTrigger,
    TagTrigger,
    Trigger,
    TriggerKind,
    UpstreamStatus,
    WebhookTrigger,
)
from runner.names import suggest

TRIGGER_KEYS = frozenset(kind.value for kind in TriggerKind)
_NEEDS_SETTINGS = {
    "schedule": "schedule needs a time: on: {schedule: [{cron: '0 3 * * *'}]}",
    "pipelines": "pipelines needs names: on: {pipelines: {names: [api]}}",
    "image": "image needs a repository: on: {image: {repository: 127.0.0.1:5000/webapp}}",
}
TRIGGER_NAMES = TRIGGER_KEYS - set(_NEEDS_SETTINGS)  # the kinds `on: [a, b]` may list
BRANCH_FILTER_KEYS = frozenset({"branches", "branches-ignore", "paths", "paths-ignore"})
TAG_FILTER_KEYS = frozenset({"tags"})
SCHEDULE_KEYS = frozenset({"cron", "timezone"})
WEBHOOK_KEYS = frozenset({"name"})
PIPELINES_KEYS = frozenset({"names", "status"})
IMAGE_TRIGGER_KEYS = frozenset({"repository"})
UPSTREAM_STATUSES = tuple(status.value for status in UpstreamStatus)

_IMAGE_SHAPE = "a registry and repository a package job pushes to, like 127.0.0.1:5000/webapp"
_IMAGE_TAGGED = "an image trigger names a repository, not a tag or digest"


def read_triggers(doc: Doc, node: yaml.Node, path: str) -> tuple[Trigger, ...] | None:
    """`on: push`, `on: [push, manual]` or `on: {push: {branches: [main]}, ...}`."""
    if is_tag(node, STR) or isinstance(node, yaml.SequenceNode):
        return _trigger_names(doc, node, path)
    fields = read_fields(doc, node, path, TRIGGER_KEYS)
    if fields is None:
        return None
    found: list[Trigger] = []
    for name in fields.nodes:
        found += fields.get(name, _READERS[TriggerKind(name)], [])
    return tuple(found)


def _trigger_names(doc: Doc, node: yaml.Node, path: str) -> tuple[Trigger, ...] | None:
    items = [node] if isinstance(node, yaml.ScalarNode) else node.value
    found: list[Trigger] = []
    for index, item in enumerate(items):
        item_path = path if item is node else f"{path}[{index}]"
        name = read_text(doc, item, item_path)
        if name in _NEEDS_SETTINGS:
            doc.add(item, item_path, _NEEDS_SETTINGS[name])
        elif name in TRIGGER_NAMES:
            found.append(_BARE[TriggerKind(name)])
        elif name is not None:
            doc.add(item, item_path, f"unknown trigger {name!r}{suggest(name, TRIGGER_KEYS)}")
    return tuple(found)


# ---------------------------------------------------------------- push, pull_request, tag


def _branch_filters(doc: Doc, node: yaml.Node, path: str, kind: TriggerKind) -> list[Trigger]:
    if is_tag(node, NULL):
        return [PushTrigger() if kind is TriggerKind.PUSH else PullRequestTrigger()]
    fields = read_fields(doc, node, path, BRANCH_FILTER_KEYS)
    if fields is None:
        return []
    branches = _filter(doc, node, fields, "branches")
    paths = _filter(doc, node, fields, "paths")
    if kind is TriggerKind.PUSH:
        return [PushTrigger(branches=branches, paths=paths)]
    return [PullRequestTrigger(branches=branches, paths=paths)]


def _filter(doc: Doc, node: yaml.Node, fields: Fields, name: str) -> Filter | None:
    """`name` or `name-ignore` (GitHub refuses both: exclude with `!` patterns in `name`)."""
    ignore = f"{name}-ignore"
    if name in fields and ignore in fields:
        message = f"use {name} or {ignore}, not both; exclude with '!' patterns in {name}"
        doc.add(node, fields.path, message)
        return None
    if ignore in fields:
        patterns = fields.get(ignore, _patterns)
        return None if patterns is None else Filter(patterns=patterns, ignore=True)
    patterns = fields.get(name, _patterns)
    return None if patterns is None else Filter(patterns=patterns)


def _patterns(doc: Doc, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    patterns = read_string_list(doc, node, path)
    if patterns is None:
        return None
    if not patterns:
        doc.add(node, path, "expected at least one pattern; leave the key out to match all")
        return None
    for index, pattern in enumerate(patterns):
        body = pattern.removeprefix("!")
        problem = glob_problem(body) if body else "'!' alone excludes nothing"
        if problem:
            doc.add(node.value[index], f"{path}[{index}]", f"invalid pattern: {problem}")
            return None
    problem = patterns_problem(patterns)
    if problem:
        doc.add(node, path, problem)
        return None
    return patterns


def _tags(doc: Doc, node: yaml.Node, path: str) -> list[Trigger]:
    if is_tag(node, NULL):
        return [TagTrigger()]
    fields = read_fields(doc, node, path, TAG_FILTER_KEYS)
    return [] if fields is None else [TagTrigger(tags=fields.get("tags", _patterns, ()))]


# ---------------------------------------------------------------- schedule, manual, webhook


def _schedule(doc: Doc, node: yaml.Node, path: str) -> list[Trigger] | None:
    items = read_items(doc, node, path, "a list of {cron: '<minute hour day month weekday>'}")
    if items is None:
        return None
    found: list[Trigger] = []
    for index, item in enumerate(items):
        fields = read_fields(doc, item, f"{path}[{index}]", SCHEDULE_KEYS, required=("cron",))
        cron = fields.get("cron", _cron) if fields else None
        if fields is not None and cron is not None:
            found.append(ScheduleTrigger(cron=cron, timezone=fields.get("timezone", _timezone)))
    return found


def _cron(doc: Doc, node: yaml.Node, path: str) -> str | None:
    text = read_text(doc, node, path)
    problem = cron_problem(text) if text is not None else None
    if problem:
        doc.add(node, path, problem)
        return None
    return text


def _timezone(doc: Doc, node: yaml.Node, path: str) -> str | None:
    name = read_text(doc, node, path)
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        hint = suggest(name, zoneinfo.available_timezones())
        doc.add(node, path, f"unknown time zone {name!r}{hint}; use an IANA name like Europe/Paris")
        return None
    return name


def _manual(doc: Doc, node: yaml.Node, path: str) -> list[Trigger] | None:
    if not is_tag(node, NULL) and read_fields(doc, node, path, ()) is None:
        return None
    return [ManualTrigger()]


def _webhook(doc: Doc, node: yaml.Node, path: str) -> list[Trigger] | None:
    if is_tag(node, NULL):
        return [WebhookTrigger()]
    fields = read_fields(doc, node, path, WEBHOOK_KEYS)
    if fields is None:
        return None
    return [WebhookTrigger(name=fields.get("name", read_text))]


# ---------------------------------------------------------------- pipelines, image


def _pipelines(doc: Doc, node: yaml.Node, path: str) -> list[Trigger] | None:
    fields = read_fields(doc, node, path, PIPELINES_KEYS, required=("names",))
    if fields is None:
        return None
    names = fields.get("names", _names)
    status = fields.get("status", _status, UpstreamStatus.PASSED)
    if names is None:
        return None
    return [PipelinesTrigger(names=names, status=status, position=doc.position(node))]


def _names(doc: Doc, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    names = read_string_list(doc, node, path)
    if names is None:
        return None
    if not names:
        doc.add(node, path, "expected at least one pipeline name")
        return None
    for index, name in enumerate(names):
        if name in names[:index]:
            doc.add(node.value[index], f"{path}[{index}]", f"{name!r} is listed twice")
            return None
    return names


def _status(doc: Doc, node: yaml.Node, path: str) -> UpstreamStatus | None:
    value = read_text(doc, node, path)
    if value in UPSTREAM_STATUSES:
        return UpstreamStatus(value)
    if value is not None:
        choices = " or ".join(UPSTREAM_STATUSES)
        doc.add(node, path, f"expected {choices}, got {value!r}{suggest(value, UPSTREAM_STATUSES)}")
    return None


def _image(doc: Doc, node: yaml.Node, path: str) -> list[Trigger] | None:
    fields = read_fields(doc, node, path, IMAGE_TRIGGER_KEYS, required=("repository",))
    if fields is None:
        return None
    repository = fields.get("repository", _repository)
    if repository is None:
        return None
    return [ImageTrigger(repository=repository, position=doc.position(node))]


def _repository(doc: Doc, node: yaml.Node, path: str) -> str | None:
    return read_repository(doc, node, path, shape=_IMAGE_SHAPE, tagged=_IMAGE_TAGGED)


_BARE: dict[TriggerKind, Trigger] = {
    TriggerKind.PUSH: PushTrigger(),
    TriggerKind.PULL_REQUEST: PullRequestTrigger(),
    TriggerKind.TAG: TagTrigger(),
    TriggerKind.MANUAL: ManualTrigger(),
    TriggerKind.WEBHOOK: WebhookTrigger(),
}
_READERS: dict[TriggerKind, Reader[list[Trigger]]] = {
    TriggerKind.PUSH: lambda doc, node, path: _branch_filters(doc, node, path, TriggerKind.PUSH),
    TriggerKind.PULL_REQUEST: lambda d, n, p: _branch_filters(d, n, p, TriggerKind.PULL_REQUEST),
    TriggerKind.TAG: _tags,
    TriggerKind.SCHEDULE: _schedule,
    TriggerKind.MANUAL: _manual,
    TriggerKind.WEBHOOK: _webhook,
    TriggerKind.PIPELINES: _pipelines,
    TriggerKind.IMAGE: _image,
}
