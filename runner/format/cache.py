"""A job's `install:` and `cache:`, and the `defaults.cache:` every job starts from.

`install` is the dependency install cached as an image layer keyed by its inputs;
`cache.volumes` are package managers' download caches kept in named volumes;
`cache.registry` is where cache layers are shared between machines. What the keys
mean at run time lives in `runner.cache.keys`; here they are only read and checked.
"""

from __future__ import annotations

import posixpath
import re

import yaml

from runner.format.fields import read_relative
from runner.format.yamlnodes import (
    STR,
    Doc,
    is_tag,
    read_bool,
    read_env,
    read_fields,
    read_items,
    read_text,
    wrong,
)
from runner.model.pipeline import CacheSpec, CacheVolume, Install, Pairs
from runner.paths import workspace_files

INSTALL_KEYS = frozenset({"run", "keys", "env", "outputs"})
CACHE_KEYS = frozenset({"volumes", "registry"})
CACHE_VOLUME_KEYS = frozenset({"path", "keys", "restore"})
DEFAULTS_CACHE_KEYS = frozenset({"registry"})

AUTO = "auto"
WORKSPACE_MOUNT_MESSAGE = "cache volumes cannot be inside the workspace mount"

_NOT_IN_DEFAULTS = {"volumes": "set cache volumes per job, in jobs.<name>.cache.volumes"}
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})+(?::[0-9]+)?|{_LABEL}:[0-9]+|localhost)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REGISTRY = re.compile(rf"{_HOST}/{_COMPONENT}(?:/{_COMPONENT})*")
_REGISTRY_SHAPE = (
    "a registry and repository like 127.0.0.1:5000/dockstep-cache or ghcr.io/team/cache "
    "(a host with a dot, a port or localhost, then a lowercase repository path; no tag or "
    "digest, as each cache key becomes a tag)"
)
_REGISTRY_TAGGED = "a cache registry takes no tag or digest (each cache key becomes the tag)"


# ---------------------------------------------------------------- install


def read_install(doc: Doc, node: yaml.Node, path: str) -> Install | None:
    """`install: {run: ..., keys: [globs] | auto, env: {...}}`; no `keys` means auto."""
    if not isinstance(node, yaml.MappingNode):
        wrong(doc, node, path, "a mapping with run: (and optional keys: and env:)")
        return None
    fields = read_fields(doc, node, path, INSTALL_KEYS, required=("run",))
    if fields is None:
        return None
    run = fields.get("run", read_text)
    keys: tuple[str, ...] = fields.get("keys", read_keys, ())
    env: Pairs = fields.get("env", read_env, ())
    outputs: tuple[str, ...] = fields.get("outputs", read_outputs, ())
    if run is None:
        return None
    return Install(
        run=run,
        keys=keys,
        auto_keys=not keys,
        env=env,
        outputs=outputs,
        position=doc.position(node),
    )


def read_outputs(doc: Doc, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    """Workspace paths the install may write (`.venv`, `node_modules`): distinct, not nested."""
    items = read_items(doc, node, path, "a list of paths relative to the workspace")
    if items is None:
        return None
    found: list[str] = []
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        where = read_relative(doc, item, here, "a path relative to the workspace, like .venv")
        if where in (None, "."):
            if where == ".":
                doc.add(item, here, "the whole workspace cannot be an install output")
            continue
        clash = next((o for o in found if _nested(o, where)), None)
        if clash is not None:
            doc.add(item, here, f"{where!r} overlaps {clash!r}; list each output once")
        else:
            found.append(where)
    return tuple(found)


def _nested(one: str, other: str) -> bool:
    return one == other or other.startswith(one + "/") or one.startswith(other + "/")


def read_keys(doc: Doc, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    """A non-empty list of globs relative to the workspace, or `auto`, read as `()`."""
    if is_tag(node, STR) and node.value == AUTO:
        return ()
    if not isinstance(node, yaml.SequenceNode):
        wrong(doc, node, path, "a list of file globs relative to the workspace, or auto")
        return None
    if not node.value:
        doc.add(node, path, "expected at least one file glob (or auto for the usual lockfiles)")
        return None
    globs = [_glob(doc, item, f"{path}[{index}]") for index, item in enumerate(node.value)]
    found = tuple(glob for glob in globs if glob is not None)
    return found if len(found) == len(globs) else None


def _glob(doc: Doc, node: yaml.Node, path: str) -> str | None:
    """A relative glob that stays in the workspace (no leading `/`, no `..`), normalised,
    and matches a file there: a typo must stop the run before any container, not mid-way."""
    glob = read_relative(doc, node, path, "a glob relative to the workspace")
    if glob is not None and not workspace_files(doc.workspace, glob):
        doc.add(node, path, f"no file in the workspace matches {glob!r}")
        return None
    return glob


# ---------------------------------------------------------------- cache


def read_cache(
    doc: Doc, node: yaml.Node, path: str, workdir: str, default: CacheSpec
) -> CacheSpec | None:
    """`cache: {volumes: [...], registry: ...}`; an unset registry is the default's."""
    fields = read_fields(doc, node, path, CACHE_KEYS)
    if fields is None:
        return None
    return CacheSpec(
        volumes=fields.get("volumes", lambda d, n, p: _volumes(d, n, p, workdir), ()),
        registry=fields.get("registry", read_registry, default.registry),
    )


def read_defaults_cache(doc: Doc, node: yaml.Node, path: str) -> CacheSpec | None:
    """`defaults.cache`: only the registry; volumes belong to the job that uses them."""
    fields = read_fields(doc, node, path, DEFAULTS_CACHE_KEYS, forbidden=_NOT_IN_DEFAULTS)
    if fields is None:
        return None
    return CacheSpec(registry=fields.get("registry", read_registry))


def read_registry(doc: Doc, node: yaml.Node, path: str) -> str | None:
    """The cache registry: REGISTRY/REPOSITORY, each cache key becoming a tag."""
    return read_repository(doc, node, path, shape=_REGISTRY_SHAPE, tagged=_REGISTRY_TAGGED)


def read_repository(doc: Doc, node: yaml.Node, path: str, *, shape: str, tagged: str) -> str | None:
    """REGISTRY/REPOSITORY; a tag or digest is refused with the value to write instead.

    `shape` is what was expected when the value is no repository at all, `tagged` what is
    said of one with a tag or digest (before the value to write).
    """
    value = read_text(doc, node, path)
    if value is None or _REGISTRY.fullmatch(value):
        return value
    base = _without_tag(value)
    if base != value and _REGISTRY.fullmatch(base):
        doc.add(node, path, f"{tagged}; write {base!r}")
    else:
        wrong(doc, node, path, shape)
    return None


def _without_tag(value: str) -> str:
    """The reference without `@digest` and without a `:tag` after the last `/`."""
    value = value.split("@", 1)[0]
    head, slash, last = value.rpartition("/")
    return f"{head}{slash}{last.split(':', 1)[0]}" if slash else value


def _volumes(doc: Doc, node: yaml.Node, path: str, workdir: str) -> tuple[CacheVolume, ...] | None:
    items = read_items(doc, node, path, "a list of cache volumes")
    if items is None:
        return None
    volumes: dict[str, CacheVolume] = {}
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        volume = _volume(doc, item, here, workdir)
        if volume is not None and volume.path in volumes:
            doc.add(item, here, f"duplicate cache volume {volume.path!r}")
        elif volume is not None:
            volumes[volume.path] = volume
    return tuple(volumes.values())


def _volume(doc: Doc, node: yaml.Node, path: str, workdir: str) -> CacheVolume | None:
    """An absolute path (shorthand for `{path: <path>}`) or `{path: ..., keys: ...}`."""
    if is_tag(node, STR):
        where = _container_path(doc, node, path, workdir)
        return None if where is None else CacheVolume(path=where)
    if not isinstance(node, yaml.MappingNode):
        wrong(doc, node, path, "an absolute path or a mapping with path:")
        return None
    fields = read_fields(doc, node, path, CACHE_VOLUME_KEYS, required=("path",))
    if fields is None:
        return None
    where = fields.get("path", lambda d, n, p: _container_path(d, n, p, workdir))
    keys: tuple[str, ...] = fields.get("keys", read_keys, ())
    restore = fields.get("restore", read_bool, True)
    if where is None:
        return None
    return CacheVolume(path=where, keys=keys or None, restore=restore)


def _container_path(doc: Doc, node: yaml.Node, path: str, workdir: str) -> str | None:
    """An absolute path in the container, normalised, outside the workspace mount."""
    value = read_text(doc, node, path)
    if value is None:
        return None
    if not value.startswith("/"):
        wrong(doc, node, path, "an absolute path in the container like /root/.cache/pip")
        return None
    if ":" in value:
        doc.add(node, path, "a cache volume path cannot contain ':'")
        return None
    where = posixpath.normpath("/" + value.lstrip("/"))
    if where == "/":
        doc.add(node, path, "a cache volume cannot be mounted at /")
        return None
    if where == workdir or where.startswith(workdir.rstrip("/") + "/"):
        doc.add(node, path, f"{WORKSPACE_MOUNT_MESSAGE} (the job's workdir, {workdir})")
        return None
    return where
