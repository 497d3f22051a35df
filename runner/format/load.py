"""Pipeline files -> `Pipeline`, with every problem in the file reported at once.

This module walks the document from the top: version, name, stages, env, `on:`,
secrets and environments, then hands `defaults:` and `jobs:` to `runner.format.jobs` (a
job's `install:` and `cache:` to `runner.format.cache`; its `artifacts:`, `package:`,
`deploy:` and `verify:` to `runner.format.delivery` and `runner.format.verify`, which also
read the top-level `environments:`). The YAML-with-positions layer is
`runner.format.yamlnodes`, the typed field readers `runner.format.fields` and the `on:` triggers
`runner.format.triggers`. No raw YAML value leaves these modules.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path, PurePosixPath

import yaml

from runner.errors import PipelineInvalid
from runner.format.delivery import (
    read_environments,
)
from runner.format.jobs import (
    Defaults,
    read_defaults,
    read_jobs,
)
from runner.format.triggers import (
    read_triggers,
)
from runner.format.yamlnodes import (
    CONSTRUCTOR,
    INT,
    Doc,
    Entry,
    check_variable_name,
    compose,
    is_tag,
    problem_at,
    read_entries,
    read_env,
    read_fields,
    read_string_list,
    read_text,
    sub,
    wrong,
)
from runner.model.pipeline import DEFAULT_STAGES, Backend, Pipeline, Secret
from runner.names import VARIABLE_NAME

TOP_LEVEL_KEYS = frozenset(
    {"version", "name", "on", "env", "secrets", "environments", "defaults", "stages", "jobs"}
)
SECRET_KEYS = frozenset({"env", "file"})

SECRET_VALUE_MESSAGE = "secrets are never written in the pipeline; read them with env: or file:"


# ---------------------------------------------------------------- entry points


def load_pipeline(
    path: Path, *, workspace: Path, allow_unpinned: bool = False, backend: Backend | None = None
) -> Pipeline:
    """Read and load a pipeline file; an unreadable file is reported like any other problem.

    `backend` (from --backend) replaces the file's `defaults.backend`.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise PipelineInvalid([problem_at(str(path), 1, 1, f"cannot read: {reason}")]) from None
    return load_pipeline_text(
        text, file=str(path), workspace=workspace, allow_unpinned=allow_unpinned, backend=backend
    )


def load_pipeline_text(
    text: str,
    *,
    file: str,
    workspace: Path,
    allow_unpinned: bool = False,
    backend: Backend | None = None,
) -> Pipeline:
    """Load a pipeline from its text; `file` is what problems and `Pipeline.path` show."""
    doc = Doc(file=file, workspace=workspace, allow_unpinned=allow_unpinned)
    root = compose(doc, text)
    pipeline = None if root is None else _pipeline(doc, root, backend)
    if doc.problems or pipeline is None:
        raise PipelineInvalid(sorted(doc.problems, key=lambda p: (p.line, p.column)))
    return pipeline


# ---------------------------------------------------------------- secrets


def _secrets(doc: Doc, node: yaml.Node, path: str) -> tuple[Secret, ...] | None:
    """`secrets: {NAME: {env: HOSTVAR} | {file: path}}`, or `[NAME, ...]` for `{env: NAME}`."""
    if isinstance(node, yaml.SequenceNode):
        names = read_string_list(doc, node, path) or ()
        for index, name in enumerate(names):
            check_variable_name(doc, node.value[index], path, name)
        return tuple(Secret(name=name, from_env=name) for name in names)
    entries = read_entries(doc, node, path)
    if entries is None:
        return None
    found = [_secret(doc, name, entry, path) for name, entry in entries.items()]
    return tuple(secret for secret in found if secret is not None)


def _secret(doc: Doc, name: str, entry: Entry, path: str) -> Secret | None:
    valid = check_variable_name(doc, entry.key, path, name)
    here = sub(path, name)
    forbidden = {"value": SECRET_VALUE_MESSAGE}
    fields = read_fields(doc, entry.value, here, SECRET_KEYS, forbidden=forbidden)
    if fields is None:
        return None
    if ("env" in fields) == ("file" in fields) and "value" not in _names(entry.value):
        doc.add(entry.value, here, "set exactly one of env: (a host variable) or file: (a path)")
        return None
    from_env = fields.get("env", _host_variable)
    from_file = fields.get("file", _secret_file)
    return Secret(name=name, from_env=from_env, from_file=from_file) if valid else None


def _secret_file(doc: Doc, node: yaml.Node, path: str) -> str | None:
    """A file that exists now (relative to the workspace, `~` allowed), as `read_secrets`
    reads it: a missing one stops the run before any container, at its place here."""
    value = read_text(doc, node, path)
    if value is None:
        return None
    where = doc.workspace / Path(value).expanduser()
    if not where.is_file():
        doc.add(node, path, f"no file {str(where)!r} to read the secret from")
        return None
    return value


def _names(node: yaml.Node) -> set[str]:
    if not isinstance(node, yaml.MappingNode):
        return set()
    return {str(key.value) for key, _ in node.value}


def _host_variable(doc: Doc, node: yaml.Node, path: str) -> str | None:
    value = read_text(doc, node, path)
    if value is None or VARIABLE_NAME.fullmatch(value):
        return value
    wrong(doc, node, path, "a variable name")
    return None


# ---------------------------------------------------------------- pipeline, stages


def _pipeline(doc: Doc, root: yaml.Node, backend: Backend | None) -> Pipeline | None:
    fields = read_fields(doc, root, "", TOP_LEVEL_KEYS, required=("version", "jobs"), hidden=True)
    if fields is None:
        return None
    stages = fields.get("stages", _stages, DEFAULT_STAGES)
    defaults = fields.get("defaults", read_defaults, Defaults())
    if backend is not None:
        defaults = dataclasses.replace(defaults, backend=backend)
    environments = fields.get("environments", read_environments)
    # unreadable environments (already reported) leave the deploys' environment names unchecked
    unreadable = environments is None and "environments" in fields
    names = None if unreadable else tuple(env.name for env in environments or ())
    pipeline = Pipeline(
        path=doc.file,
        name=fields.get("name", read_text, PurePosixPath(doc.file).stem),
        version=fields.get("version", _version, 1),
        stages=stages,
        jobs=fields.get(
            "jobs",
            lambda d, n, p: read_jobs(d, n, p, stages, defaults, environments=names),
            (),
        ),
        env=fields.get("env", read_env, ()),
        triggers=fields.get("on", read_triggers, ()),
        secrets=fields.get("secrets", _secrets, ()),
        environments=environments or (),
        backend=defaults.backend,
    )
    # warnings are gathered while everything else is read, so they are attached last
    return dataclasses.replace(pipeline, warnings=tuple(doc.warnings))


def _version(doc: Doc, node: yaml.Node, path: str) -> int | None:
    if is_tag(node, INT) and CONSTRUCTOR.construct_yaml_int(node) == 1:
        return 1
    if is_tag(node, INT):
        doc.add(node, path, f"unsupported version {node.value}; this dockstep reads version 1")
        return None
    wrong(doc, node, path, "version: 1")
    return None


def _stages(doc: Doc, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    names = read_string_list(doc, node, path)
    if names is None:
        return None
    if not names:
        doc.add(node, path, "expected at least one stage")
        return None
    for index, name in enumerate(names):
        if name in names[:index]:
            doc.add(node.value[index], f"{path}[{index}]", f"duplicate stage {name!r}")
    return tuple(dict.fromkeys(names))
