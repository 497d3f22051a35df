"""The delivery part of the format: `environments:`, and a job's `package:`, `deploy:`
(read by `runner.format.deploy`), `verify:` (by `runner.format.verify`) and `artifacts:`.

A job runs `steps`, or is exactly one of package, deploy or verify and has no steps. A
deploy names an environment and the package job whose image it deploys; a verify job
names the deploy it checks. Those jobs must be in the naming job's `needs`, which is
checked here once every job is read. What happens at run time lives in
`runner.delivery` and `runner.execute.artifacts`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import NamedTuple

import yaml

from runner.format.cache import read_repository
from runner.format.deploy import read_deploy
from runner.format.fields import check_build_files, read_relative, read_retry
from runner.format.verify import read_verify
from runner.format.yamlnodes import (
    NULL,
    STR,
    Doc,
    Entry,
    Fields,
    Ref,
    is_tag,
    read_entries,
    read_env,
    read_fields,
    read_items,
    read_string,
    read_string_list,
    read_text,
    sub,
    wrong,
)
from runner.model.pipeline import (
    Backend,
    Deploy,
    Environment,
    Job,
    Package,
    Pairs,
    Verify,
    pairs,
)
from runner.names import NAME, NAME_RULE, suggest

ENVIRONMENT_KEYS = frozenset({"env", "approval"})
PACKAGE_KEYS = frozenset(
    {"context", "dockerfile", "target", "args", "labels", "tags", "push", "retry"}
)
JOB_KINDS = ("package", "deploy", "verify")
TAG_SCHEMES = ("sha", "branch", "semver", "latest")
APPROVALS = {"required": True, "none": False}
BOTH_MESSAGE = "a job runs steps or is one of package/deploy/verify, not both"
STEPS_ONLY = (
    "image",
    "workdir",
    "pull",
    "install",
    "cache",
    "resources",
    "privileged",
    "docker_socket",
    "services",
)
WHOLE_WORKSPACE_MESSAGE = "an artifact is a file or directory in the workspace, not all of it"

_LABEL_NAME = re.compile(r"[^\s=]+")
_PACKAGE_DEFAULTS = Package(context=".")
_PUSH_SHAPE = (
    "a registry and repository like 127.0.0.1:5000/webapp or ghcr.io/team/webapp (a host "
    "with a dot, a port or localhost, then a lowercase repository path; no tag or digest, as "
    "the tags come from tags:)"
)
_PUSH_TAGGED = "a push repository takes no tag or digest (the tags come from tags:)"
_WHY_NEEDED = {
    "package": "a deploy runs after the package job whose image it deploys",
    "deploy": "a verify job runs after the deploy it verifies",
}


# ---------------------------------------------------------------- environments


def read_environments(doc: Doc, node: yaml.Node, path: str) -> tuple[Environment, ...] | None:
    """`environments: {NAME: {env: {...}, approval: required | none}}`; null is `{}`."""
    entries = read_entries(doc, node, path)
    if entries is None:
        return None
    return tuple(_environment(doc, name, entry, path) for name, entry in entries.items())


def _environment(doc: Doc, name: str, entry: Entry, path: str) -> Environment:
    """An environment; one with problems is still kept by name, so deploys to it read fine."""
    if not NAME.fullmatch(name):
        doc.add(entry.key, path, f"invalid environment name {name!r}; use {NAME_RULE}")
    if is_tag(entry.value, NULL):
        return Environment(name=name)
    fields = read_fields(doc, entry.value, sub(path, name), ENVIRONMENT_KEYS)
    if fields is None:
        return Environment(name=name)
    return Environment(
        name=name,
        env=fields.get("env", read_env, ()),
        approval=fields.get("approval", _approval, False),
    )


def _approval(doc: Doc, node: yaml.Node, path: str) -> bool | None:
    if not is_tag(node, STR):
        wrong(doc, node, path, "required or none")
        return None
    value = str(node.value)
    if value in APPROVALS:
        return APPROVALS[value]
    doc.add(node, path, f"expected required or none, got {value!r}{suggest(value, APPROVALS)}")
    return None


# ---------------------------------------------------------------- artifacts


def read_artifacts(doc: Doc, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    """Paths relative to the workspace (files or directories), normalised, each once."""
    items = read_items(doc, node, path, "a list of paths relative to the workspace")
    if items is None:
        return None
    found: list[str] = []
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        value = read_relative(doc, item, here)
        if value == ".":
            doc.add(item, here, WHOLE_WORKSPACE_MESSAGE)
        elif value in found:
            doc.add(item, here, f"{value!r} is listed twice")
        elif value is not None:
            found.append(value)
    return tuple(found)


# ---------------------------------------------------------------- package


def read_package(doc: Doc, node: yaml.Node, path: str) -> Package | None:
    fields = read_fields(doc, node, path, PACKAGE_KEYS, required=("context",))
    if fields is None:
        return None
    context = fields.get("context", read_relative)
    dockerfile = fields.get("dockerfile", read_relative)
    spec = Package(
        context=context or ".",
        dockerfile=dockerfile or _PACKAGE_DEFAULTS.dockerfile,
        target=fields.get("target", read_text),
        args=fields.get("args", read_env, ()),
        labels=fields.get("labels", _labels, ()),
        tags=fields.get("tags", _tags, _PACKAGE_DEFAULTS.tags),
        push=fields.get("push", _push, ()),
        retry=fields.get(
            "retry", lambda d, n, p: read_retry(d, n, p, _PACKAGE_DEFAULTS.retry),
            _PACKAGE_DEFAULTS.retry,
        ),
    )  # fmt: skip
    if context is not None and (dockerfile is not None or "dockerfile" not in fields):
        check_build_files(doc, fields, "context", spec.context, spec.dockerfile)
    return spec


def _labels(doc: Doc, node: yaml.Node, path: str) -> Pairs | None:
    """Image labels: names without spaces or '=', string values (which may be empty)."""
    entries = read_entries(doc, node, path)
    if entries is None:
        return None
    labels: dict[str, str] = {}
    for name, entry in entries.items():
        valid = bool(_LABEL_NAME.fullmatch(name))
        if not valid:
            doc.add(entry.key, path, f"invalid label name {name!r}; use no spaces and no '='")
        value = read_string(doc, entry.value, sub(path, name))
        if valid and value is not None:
            labels[name] = value
    return pairs(labels)


def _tags(doc: Doc, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    words = read_string_list(doc, node, path)
    if words is None:
        return None
    if not words:
        doc.add(node, path, f"expected at least one of {', '.join(TAG_SCHEMES)}")
        return None
    for index, word in enumerate(words):
        here, item = f"{path}[{index}]", node.value[index]
        if word not in TAG_SCHEMES:
            hint = suggest(word, TAG_SCHEMES)
            message = f"unknown tag scheme {word!r}{hint}; the schemes are {', '.join(TAG_SCHEMES)}"
            doc.add(item, here, message)
        elif word in words[:index]:
            doc.add(item, here, f"{word!r} is listed twice")
    return tuple(dict.fromkeys(words))


def _push(doc: Doc, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    items = read_items(doc, node, path, "a list of repositories like 127.0.0.1:5000/webapp")
    if items is None:
        return None
    found: list[str] = []
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        value = read_repository(doc, item, here, shape=_PUSH_SHAPE, tagged=_PUSH_TAGGED)
        if value in found:
            doc.add(item, here, f"{value!r} is listed twice")
        elif value is not None:
            found.append(value)
    return tuple(found)


# ---------------------------------------------------------------- job kinds, references


class KindFields(NamedTuple):
    """What makes a job a package, deploy or verify job, read from its fields."""

    kinds: tuple[str, ...]  # which of package, deploy, verify the job has (one, when valid)
    action: Package | Deploy | Verify | None = None  # None: a steps job, or unreadable
    wants: tuple[str, Ref] | None = None  # the kind of job named, and where


def read_delivery(
    doc: Doc,
    fields: Fields,
    node: yaml.Node,
    environments: Collection[str] | None,
    backend: Backend = Backend.LOCAL,
) -> KindFields:
    """A job's kind: `steps`, or one of package/deploy/verify; `node` is the job's mapping;
    `backend`: where the pipeline's steps jobs run (and its deploys go, unless told)."""
    path = fields.path
    kinds = tuple(kind for kind in JOB_KINDS if kind in fields)
    if not kinds and "steps" not in fields:
        doc.add(node, path, "missing key 'steps'")
    elif kinds and "steps" in fields:
        doc.add(node, path, BOTH_MESSAGE)
    if len(kinds) > 1:
        doc.add(node, path, "set only one of package:, deploy: or verify:")
    for key in STEPS_ONLY if kinds and "steps" not in fields else ():
        if key in fields:
            doc.add(fields.nodes[key], sub(path, key), f"{key} is only for jobs that run steps")
    action: Package | Deploy | Verify | None = None
    wants = None
    if "verify" in fields:
        action, named = read_verify(doc, fields.nodes["verify"], sub(path, "verify"))
        wants = None if named is None else ("deploy", named)
    if "deploy" in fields:
        where = sub(path, "deploy")
        action, named = read_deploy(doc, fields.nodes["deploy"], where, environments, backend)
        wants = None if named is None else ("package", named)
    if "package" in fields:
        action = fields.get("package", read_package)
    return KindFields(kinds, action, wants)


def check_references(
    doc: Doc, names: Collection[str], jobs: Sequence[tuple[Job, KindFields]]
) -> None:
    """`deploy.package` names a package job, `verify.deployment` a deploy job, both in needs.

    `names` are every job of the file; `jobs` the ones read (a job whose mapping could not
    be read at all is already reported, so naming it is not reported again).
    """
    kinds = {job.name: delivery.kinds for job, delivery in jobs}
    for job, delivery in jobs:
        if delivery.wants is None or len(delivery.kinds) != 1:
            continue
        wanted, named = delivery.wants
        message = _reference_problem(job, wanted, named.name, names, kinds)
        if message:
            doc.add(named.node, named.path, message)


def _reference_problem(
    job: Job, wanted: str, name: str, names: Collection[str], kinds: dict[str, tuple[str, ...]]
) -> str | None:
    of_kind = [other for other, has in kinds.items() if wanted in has]
    if name not in names:
        return f"unknown job {name!r}{suggest(name, of_kind or names)}"
    if name not in kinds:
        return None
    if wanted not in kinds[name]:
        return f"{name!r} is not a {wanted} job{suggest(name, of_kind)}"
    if name not in (job.needs or ()):
        return f"add {name!r} to this job's needs; {_WHY_NEEDED[wanted]}"
    return None
