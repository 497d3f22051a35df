"""Typed field readers of the pipeline format: durations, sizes, paths, images, retry, resources.

Each reader takes `(doc, node, path)`, reports what is wrong at the node, and returns
the model value or None.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from pathlib import PurePosixPath

import yaml

from runner.expr import conditions
from runner.expr.dockerfile import base_images
from runner.format.yamlnodes import (
    INT,
    STR,
    Doc,
    Fields,
    is_tag,
    number_value,
    read_env,
    read_fields,
    read_string,
    read_text,
    read_whole,
    sub,
    wrong,
)
from runner.model.pipeline import BuildSpec, ImageRef, PullPolicy, Resources, RetryPolicy
from runner.names import suggest

IMAGE_KEYS = frozenset({"build", "dockerfile", "args", "target"})
RETRY_KEYS = frozenset({"max", "delay", "backoff", "max_delay"})
RESOURCES_KEYS = frozenset({"memory", "cpus", "pids"})

MAX_RETRIES = 10
MIN_MEMORY = 6 * 1024 * 1024  # Docker refuses less
MAX_PORT = 65535
STEP_RETRY = RetryPolicy()  # what a step's retry fields default to

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REGISTRY = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?/)?"
_REFERENCE = rf"{_REGISTRY}{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
_DIGEST = r"sha256:[0-9a-f]{64}"
_PINNED = re.compile(rf"{_REFERENCE}@{_DIGEST}|{_DIGEST}")
_FLOATING = re.compile(_REFERENCE)
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_DURATION = re.compile(
    r"(?:(?P<h>[0-9]+(?:\.[0-9]+)?)h)?(?:(?P<m>[0-9]+(?:\.[0-9]+)?)m(?!s))?"
    r"(?:(?P<s>[0-9]+(?:\.[0-9]+)?)s)?(?:(?P<ms>[0-9]+(?:\.[0-9]+)?)ms)?"
)
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_MEMORY = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(?:([kmgt])(?:i?b)?|b)?", re.IGNORECASE)
_MEMORY_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def port_number(text: str) -> int | None:
    """A TCP port, 1 to 65535, written in digits without a leading zero; None if not one."""
    if not text.isascii() or not text.isdigit() or text.startswith("0"):
        return None
    number = int(text)
    return number if number <= MAX_PORT else None


def parse_duration(text: str) -> float | None:
    """Seconds in `90s`, `10m`, `1h30m`, `500ms`, `1.5s` or a bare `90`; None if not a duration."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    match = _DURATION.fullmatch(text)
    if match is None or not any(match.groups()):
        return None
    amounts = {unit: float(amount) for unit, amount in match.groupdict().items() if amount}
    return sum(amount * _DURATION_UNITS[unit] for unit, amount in amounts.items())


# ---------------------------------------------------------------- numbers, durations, sizes, paths


def _retries(doc: Doc, node: yaml.Node, path: str) -> int | None:
    return read_whole(doc, node, path, 0, MAX_RETRIES)


def _pids(doc: Doc, node: yaml.Node, path: str) -> int | None:
    return read_whole(doc, node, path, 1, None)


def _cpus(doc: Doc, node: yaml.Node, path: str) -> float | None:
    value = number_value(node)
    if value is not None and value > 0:
        return value
    wrong(doc, node, path, "a number of CPUs greater than 0, like 1.5")
    return None


def _backoff(doc: Doc, node: yaml.Node, path: str) -> float | None:
    value = number_value(node)
    if value is not None and value >= 1:
        return value
    wrong(doc, node, path, "a backoff factor of 1 or more")
    return None


def _seconds(node: yaml.Node) -> float | None:
    if is_tag(node, STR):
        return parse_duration(str(node.value))
    return number_value(node)


def read_duration(doc: Doc, node: yaml.Node, path: str) -> float | None:
    """A positive duration in seconds."""
    seconds = _seconds(node)
    if seconds is not None and seconds > 0:
        return seconds
    wrong(doc, node, path, "a duration like 90s, 10m or 1h30m")
    return None


def read_delay(doc: Doc, node: yaml.Node, path: str) -> float | None:
    """A duration that may be zero: retry at once."""
    seconds = _seconds(node)
    if seconds is not None and seconds >= 0:
        return seconds
    wrong(doc, node, path, "a duration like 5s or 1m (or 0)")
    return None


def _memory(doc: Doc, node: yaml.Node, path: str) -> int | None:
    """Bytes from an int or a size like `512m`, `2g`, `1GiB` (binary units, as Docker)."""
    number = number_value(node) if is_tag(node, INT) else None
    match = _MEMORY.fullmatch(str(node.value).strip()) if is_tag(node, STR) else None
    if match:
        number = float(match[1]) * _MEMORY_UNITS[(match[2] or "").lower()]
    if number is not None and number >= MIN_MEMORY:
        return int(number)
    wrong(doc, node, path, "a memory size of at least 6m, like 512m or 2g")
    return None


def read_pull(doc: Doc, node: yaml.Node, path: str) -> PullPolicy | None:
    choices = [policy.value for policy in PullPolicy]
    value = read_string(doc, node, path)
    if value is None or value in choices:
        return None if value is None else PullPolicy(value)
    hint = suggest(value, choices)
    doc.add(node, path, f"expected one of {', '.join(choices)}, got {value!r}{hint}")
    return None


def read_workdir(doc: Doc, node: yaml.Node, path: str) -> str | None:
    value = read_text(doc, node, path)
    if value is None or value.startswith("/"):
        return None if value is None else posixpath.normpath(value)
    wrong(doc, node, path, "an absolute path like /workspace")
    return None


def read_relative(
    doc: Doc, node: yaml.Node, path: str, what: str = "a relative path inside the workspace"
) -> str | None:
    """A relative path that stays where it starts (no leading `/`, no `..`), normalised."""
    value = read_text(doc, node, path)
    if value is None:
        return None
    parts = PurePosixPath(value)
    if parts.is_absolute() or ".." in parts.parts:
        wrong(doc, node, path, f"{what}, without '..'")
        return None
    return str(parts)


# ---------------------------------------------------------------- conditions, images


def read_condition(doc: Doc, node: yaml.Node, path: str) -> str | None:
    """The `if:` text, checked by conditions.parse; errors point at the offending character."""
    text = read_text(doc, node, path)
    if text is None:
        return None
    try:
        conditions.parse(text)
    except conditions.ConditionError as error:
        doc.add(node, path, f"invalid condition: {error.message}", _offset(node, error.offset))
        return None
    return text


def _offset(node: yaml.Node, offset: int) -> int:
    """Columns from the node start to character `offset`, when the text is on one line."""
    style = getattr(node, "style", None)
    if node.start_mark.line != node.end_mark.line or style not in (None, "'", '"'):
        return 0
    return offset + (1 if style else 0)


def read_image(doc: Doc, node: yaml.Node, path: str) -> ImageRef | None:
    if isinstance(node, yaml.MappingNode):
        build = _build(doc, node, path)
        return None if build is None else ImageRef(build=build)
    if is_tag(node, STR):
        return _reference(doc, node, path, str(node.value).strip())
    wrong(doc, node, path, "a pinned image reference or a mapping {build: <dir>}")
    return None


def _reference(doc: Doc, node: yaml.Node, path: str, text: str) -> ImageRef | None:
    """Pinned references pass; floating tags only with allow_unpinned, as a warning."""
    if _PINNED.fullmatch(text):
        return ImageRef(reference=text)
    if not _FLOATING.fullmatch(text):
        wrong(doc, node, path, "an image reference like name:tag@sha256:<64 hex digits>")
        return None
    pin = f"pin it as {text}@sha256:<digest> or build it from a Dockerfile"
    if not doc.allow_unpinned:
        doc.add(node, path, f"floating tag {text!r}; {pin} with image: {{build: images/<dir>}}")
        return None
    doc.warn(node, path, f"floating tag {text!r} is not pinned, so runs may differ; {pin}")
    return ImageRef(reference=text, pinned=False)


def _build(doc: Doc, node: yaml.Node, path: str) -> BuildSpec | None:
    fields = read_fields(doc, node, path, IMAGE_KEYS, required=("build",))
    if fields is None:
        return None
    context = fields.get("build", read_relative)
    dockerfile = fields.get("dockerfile", read_relative, "Dockerfile")
    spec = BuildSpec(
        context=context or ".",
        dockerfile=dockerfile,
        args=fields.get("args", read_env, ()),
        target=fields.get("target", read_text),
    )
    if context is None or not check_build_files(doc, fields, "build", spec.context, dockerfile):
        return None
    return spec if _check_bases(doc, fields, spec) else None


def _check_bases(doc: Doc, fields: Fields, spec: BuildSpec) -> bool:
    """A `FROM` naming a floating tag is refused like a floating `image:` (a warning with
    allow_unpinned). Build args holding `${}` are known only at run time: a `FROM` that
    needs one is not checked here."""
    path = (doc.workspace / spec.context / spec.dockerfile).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return True  # the build itself reports it
    known = {name: value for name, value in spec.args if "$" not in value}
    node, where = fields.nodes["build"], sub(fields.path, "build")
    floating = [
        b for b in base_images(text, known) if b.reference and not _PINNED.fullmatch(b.reference)
    ]
    for base in floating:
        at = f"{posixpath.join(spec.context, spec.dockerfile)}:{base.line}"
        pin = f"pin it as {base.reference}@sha256:<digest>"
        if doc.allow_unpinned:
            doc.warn(
                node,
                where,
                f"{at}: FROM {base.reference} is a floating tag, so builds may differ; {pin}",
            )
        else:
            doc.add(node, where, f"{at}: FROM {base.reference} is a floating tag; {pin}")
    return doc.allow_unpinned or not floating


def check_build_files(
    doc: Doc, fields: Fields, context_key: str, context: str, dockerfile: str
) -> bool:
    """The context (read from `context_key`) is a directory in the workspace with the Dockerfile."""
    workspace = doc.workspace.resolve()
    where = (workspace / context).resolve()
    if not where.is_relative_to(workspace) or not where.is_dir():
        message = f"no directory {context!r} in the workspace"
        doc.add(fields.nodes[context_key], sub(fields.path, context_key), message)
        return False
    if not (where / dockerfile).is_file():
        key = "dockerfile" if "dockerfile" in fields else context_key
        message = f"no {dockerfile} in {context!r}"
        doc.add(fields.nodes[key], sub(fields.path, key), message)
        return False
    return True


# ---------------------------------------------------------------- retry, resources


def read_retry(
    doc: Doc, node: yaml.Node, path: str, base: RetryPolicy = STEP_RETRY
) -> RetryPolicy | None:
    """`retry: 2` or `retry: {max: 2, delay: 5s, backoff: 2, max_delay: 1m}`.

    What is not written comes from `base`: the step defaults, unless the caller has its own.
    """
    if is_tag(node, INT):
        count = _retries(doc, node, path)
        return None if count is None else dataclasses.replace(base, max_retries=count)
    if not isinstance(node, yaml.MappingNode):
        wrong(doc, node, path, f"a number of retries (0 to {MAX_RETRIES}) or a mapping")
        return None
    fields = read_fields(doc, node, path, RETRY_KEYS, required=("max",))
    if fields is None:
        return None
    policy = RetryPolicy(
        max_retries=fields.get("max", _retries, 0),
        delay=fields.get("delay", read_delay, base.delay),
        backoff=fields.get("backoff", _backoff, base.backoff),
        max_delay=fields.get("max_delay", read_duration, base.max_delay),
    )
    if policy.max_delay < policy.delay:
        doc.add(node, path, "max_delay is shorter than delay")
    return policy


def read_resources(doc: Doc, node: yaml.Node, path: str) -> Resources | None:
    fields = read_fields(doc, node, path, RESOURCES_KEYS)
    if fields is None:
        return None
    return Resources(
        memory=fields.get("memory", _memory),
        cpus=fields.get("cpus", _cpus),
        pids=fields.get("pids", _pids),
    )
