"""A job's `install:` and `cache:`, and `defaults.cache`: the model built and the problems shown."""

from __future__ import annotations

import json
import textwrap
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from runner.errors import PipelineInvalid
from runner.format.load import load_pipeline_text
from runner.model.pipeline import CacheSpec, CacheVolume, Install, Position
from tests.unit.pipelines import FILE, load, problems, steps_of

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"python:3.12@{DIGEST}"
REGISTRY = "127.0.0.1:5000/dockstep-cache"


def one_job(body: str, *, top: str = "") -> str:
    """A pipeline with the given top-level keys and one job `test` whose keys are `body`.

    The job's keys start on line 4 (line 5 with one line of `top`), at column 5.
    """
    job = textwrap.indent(textwrap.dedent(body), "    ")
    return f"version: 1\n{textwrap.dedent(top)}jobs:\n  test:\n{job}"


KEY_FILES = (
    "requirements.lock", "pyproject.toml", "package-lock.json", "requirements.txt",
    "requirements-dev.txt", "services/api/go.sum", "lock/uv.lock", "a/b/Cargo.lock",
    "Gemfile.lock", "gems/x.lock", "ok.lock", "uv.lock",
)  # fmt: skip


@pytest.fixture(autouse=True)
def key_files(tmp_path: Path) -> None:
    """The files the pipelines below name as keys: a key that matches none is a problem."""
    for name in KEY_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)


# ---------------------------------------------------------------- what is read


def test_the_documented_example(tmp_path: Path) -> None:
    (tmp_path / "images" / "python").mkdir(parents=True)
    (tmp_path / "images" / "python" / "Dockerfile").write_text("FROM scratch\n")
    pipeline = load(
        f"""\
        version: 1
        defaults:
          cache:
            registry: {REGISTRY}
        jobs:
          test:
            image: {{build: images/python}}
            install:
              keys: [requirements.lock, pyproject.toml]
              run: python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.lock
              env: {{PIP_NO_CACHE_DIR: "1"}}
            cache:
              volumes:
                - /root/.cache/pip
                - {{path: /root/.npm, keys: [package-lock.json]}}
              registry: ghcr.io/team/ci-cache
            steps:
              - run: /opt/venv/bin/pytest -q
        """,
        tmp_path,
    )
    job = pipeline.job("test")
    assert steps_of(job).install == Install(
        run="python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.lock",
        keys=("requirements.lock", "pyproject.toml"),
        auto_keys=False,
        env=(("PIP_NO_CACHE_DIR", "1"),),
        position=Position(file=FILE, line=9, column=7),
    )
    assert steps_of(job).cache == CacheSpec(
        volumes=(
            CacheVolume(path="/root/.cache/pip"),
            CacheVolume(path="/root/.npm", keys=("package-lock.json",)),
        ),
        registry="ghcr.io/team/ci-cache",
    )


def test_without_install_or_cache(tmp_path: Path) -> None:
    job = load(one_job(f"image: {IMAGE}\nsteps: [x]\n"), tmp_path).job("test")
    assert (steps_of(job).install, steps_of(job).cache) == (None, CacheSpec())


@pytest.mark.parametrize("install", ["{run: make deps}", "{run: make deps, keys: auto}"])
def test_install_keys_default_to_auto(tmp_path: Path, install: str) -> None:
    text = one_job(f"image: {IMAGE}\ninstall: {install}\nsteps: [x]\n")
    assert steps_of(load(text, tmp_path).job("test")).install == Install(
        run="make deps", keys=(), auto_keys=True, position=Position(file=FILE, line=5, column=14)
    )


def test_key_globs_are_normalised_and_kept_in_order(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        install:
          run: make deps
          keys: [./requirements*.txt, "services/*/go.sum", lock//uv.lock, "**/Cargo.lock"]
        steps: [x]
        """
    )
    install = steps_of(load(text, tmp_path).job("test")).install
    assert install is not None
    assert install.keys == (
        "requirements*.txt",
        "services/*/go.sum",
        "lock/uv.lock",
        "**/Cargo.lock",
    )
    assert not install.auto_keys


def test_a_multi_line_install_keeps_its_text(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        install:
          run: |
            python -m venv /opt/venv
            /opt/venv/bin/pip install -r requirements.txt
        steps: [x]
        """
    )
    install = steps_of(load(text, tmp_path).job("test")).install
    assert install is not None
    assert (
        install.run == "python -m venv /opt/venv\n/opt/venv/bin/pip install -r requirements.txt\n"
    )


def test_install_env_follows_the_env_rules(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        install:
          run: make deps
          env: {{JOBS: 4, OFFLINE: false, VERSION: 3.10, MIRROR: "${{MIRROR:-pypi}}"}}
        steps: [x]
        """
    )
    install = steps_of(load(text, tmp_path).job("test")).install
    assert install is not None
    assert install.env == (
        ("JOBS", "4"),
        ("MIRROR", "${MIRROR:-pypi}"),
        ("OFFLINE", "false"),
        ("VERSION", "3.10"),
    )


def test_volume_shorthand_and_mapping_forms(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        cache:
          volumes:
            - /root/.cache/pip/
            - {{path: /root/.npm}}
            - {{path: /root/.cargo/registry, keys: auto}}
            - {{path: //usr/local/../share/gems, keys: [Gemfile.lock, "./gems/*.lock"]}}
        steps: [x]
        """
    )
    assert steps_of(load(text, tmp_path).job("test")).cache == CacheSpec(
        volumes=(
            CacheVolume(path="/root/.cache/pip"),
            CacheVolume(path="/root/.npm"),
            CacheVolume(path="/root/.cargo/registry"),  # keys: auto is stored as no keys
            CacheVolume(path="/usr/share/gems", keys=("Gemfile.lock", "gems/*.lock")),
        )
    )


def test_the_default_registry_applies_unless_a_job_sets_its_own(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        defaults:
          image: {IMAGE}
          cache: {{registry: {REGISTRY}}}
        jobs:
          plain: {{steps: [x]}}
          volumes: {{cache: {{volumes: [/root/.npm]}}, steps: [x]}}
          own: {{cache: {{registry: "registry.example.com/team/cache"}}, steps: [x]}}
          empty: {{cache: {{}}, steps: [x]}}
        """
    jobs = load(text, tmp_path).jobs
    assert [steps_of(job).cache for job in jobs] == [
        CacheSpec(registry=REGISTRY),
        CacheSpec(volumes=(CacheVolume(path="/root/.npm"),), registry=REGISTRY),
        CacheSpec(registry="registry.example.com/team/cache"),
        CacheSpec(registry=REGISTRY),
    ]


@pytest.mark.parametrize(
    "registry",
    [
        REGISTRY,
        "localhost/cache",
        "localhost:5000/team/ci-cache",
        "ghcr.io/owner/repo/cache",
        "Registry.Example.COM:443/a.b/c__d/e--f",
        "[::1]:5000/cache",
    ],
)
def test_registries_the_loader_and_the_schema_agree_on(tmp_path: Path, registry: str) -> None:
    """Each value is accepted by both or refused by both (the IPv6 host by both)."""
    text = one_job(f"image: {IMAGE}\ncache: {{registry: '{registry}'}}\nsteps: [x]\n")
    schema = json.loads(files("runner.format").joinpath("schema.json").read_text())
    pattern = schema["$defs"]["cacheRegistry"]
    schema_accepts = jsonschema.Draft202012Validator(pattern).is_valid(registry)
    try:
        loaded = steps_of(load(text, tmp_path).job("test")).cache.registry
    except PipelineInvalid:
        loaded = None
    assert schema_accepts == (loaded == registry)
    assert schema_accepts == (not registry.startswith("["))


def test_volumes_follow_the_job_workdir(tmp_path: Path) -> None:
    """Outside the workspace mount is decided by the job's own (or the default) workdir."""
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}, workdir: /src}}
        jobs:
          moved: {{workdir: /app, cache: {{volumes: [/src/.cache, /workspace/.cache]}}, steps: [x]}}
        """
    volumes = steps_of(load(text, tmp_path).job("moved")).cache.volumes
    assert volumes == (CacheVolume(path="/src/.cache"), CacheVolume(path="/workspace/.cache"))


# ---------------------------------------------------------------- how problems read


def test_install_problems(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          a: {{install: pip install ., steps: [x]}}
          b: {{install: {{keys: auto}}, steps: [x]}}
          c: {{install: {{run: "  "}}, steps: [x]}}
          d: {{install: {{run: x, command: y, kyes: auto}}, steps: [x]}}
          e: {{install: {{run: x, env: {{1X: a, B: "${{"}}}}, steps: [x]}}
          f: {{instal: {{run: x}}, steps: [x]}}
        """
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:4:16: jobs.a.install: expected a mapping with run: (and optional "
        "keys: and env:), got 'pip install .'",
        "pipelines/ci.yml:5:16: jobs.b.install: missing key 'run'",
        "pipelines/ci.yml:6:22: jobs.c.install.run: must not be empty",
        "pipelines/ci.yml:7:25: jobs.d.install: unknown key 'command'",
        "pipelines/ci.yml:7:37: jobs.d.install: unknown key 'kyes' (did you mean 'keys'?)",
        "pipelines/ci.yml:8:31: jobs.e.install.env: invalid variable name '1X'; use letters, "
        "digits and _, not starting with a digit",
        "pipelines/ci.yml:8:41: jobs.e.install.env.B: unterminated '${'; close it with '}' "
        "(or write $$ for a literal $)",
        "pipelines/ci.yml:9:7: jobs.f: unknown key 'instal' (did you mean 'install'?)",
    ]


def test_key_problems(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        steps: [x]
        install:
          run: make
          keys: [/etc/lock, ../lock, a/../../b, "", 3, ok.lock]
        cache:
          volumes:
            - {{path: /a, keys: Auto}}
            - {{path: /b, keys: []}}
            - {{path: /c, keys: uv.lock}}
        """
    )
    outside = "expected a glob relative to the workspace, without '..'"
    assert problems(text, tmp_path) == [
        f"pipelines/ci.yml:8:14: jobs.test.install.keys[0]: {outside}, got '/etc/lock'",
        f"pipelines/ci.yml:8:25: jobs.test.install.keys[1]: {outside}, got '../lock'",
        f"pipelines/ci.yml:8:34: jobs.test.install.keys[2]: {outside}, got 'a/../../b'",
        "pipelines/ci.yml:8:45: jobs.test.install.keys[3]: must not be empty",
        "pipelines/ci.yml:8:49: jobs.test.install.keys[4]: expected a string, got 3",
        "pipelines/ci.yml:11:28: jobs.test.cache.volumes[0].keys: expected a list of file globs "
        "relative to the workspace, or auto, got 'Auto'",
        "pipelines/ci.yml:12:28: jobs.test.cache.volumes[1].keys: expected at least one file "
        "glob (or auto for the usual lockfiles)",
        "pipelines/ci.yml:13:28: jobs.test.cache.volumes[2].keys: expected a list of file globs "
        "relative to the workspace, or auto, got 'uv.lock'",
    ]


def test_a_key_that_matches_no_file_is_a_problem_at_its_place(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        steps: [x]
        install: {{run: make, keys: [ok.lock, missing.lock, "src/*.lock"]}}
        cache:
          volumes: [{{path: /a, keys: [uv.lock, .git/x.lock]}}]
        """
    )
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.lock").write_text("git's own files are never keys")
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:6:42: jobs.test.install.keys[1]: no file in the workspace matches "
        "'missing.lock'",
        "pipelines/ci.yml:6:56: jobs.test.install.keys[2]: no file in the workspace matches "
        "'src/*.lock'",
        "pipelines/ci.yml:8:44: jobs.test.cache.volumes[0].keys[1]: no file in the workspace "
        "matches '.git/x.lock'",
    ]


def test_volume_problems(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        steps: [x]
        cache:
          volumes:
            - .cache/pip
            - /root/.cache/pip
            - /root/.cache/pip/
            - {{path: /root/.cache/pip, keys: [uv.lock]}}
            - {{paht: /root/.npm}}
            - /
            - /data:ro
            - 42
            - [/root/.npm]
            - ""
        """
    )
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:8:11: jobs.test.cache.volumes[0]: expected an absolute path in the "
        "container like /root/.cache/pip, got '.cache/pip'",
        "pipelines/ci.yml:10:11: jobs.test.cache.volumes[2]: duplicate cache volume "
        "'/root/.cache/pip'",
        "pipelines/ci.yml:11:11: jobs.test.cache.volumes[3]: duplicate cache volume "
        "'/root/.cache/pip'",
        "pipelines/ci.yml:12:11: jobs.test.cache.volumes[4]: missing key 'path'",
        "pipelines/ci.yml:12:12: jobs.test.cache.volumes[4]: unknown key 'paht' "
        "(did you mean 'path'?)",
        "pipelines/ci.yml:13:11: jobs.test.cache.volumes[5]: a cache volume cannot be mounted at /",
        "pipelines/ci.yml:14:11: jobs.test.cache.volumes[6]: a cache volume path cannot "
        "contain ':'",
        "pipelines/ci.yml:15:11: jobs.test.cache.volumes[7]: expected an absolute path or a "
        "mapping with path:, got 42",
        "pipelines/ci.yml:16:11: jobs.test.cache.volumes[8]: expected an absolute path or a "
        "mapping with path:, got a list",
        "pipelines/ci.yml:17:11: jobs.test.cache.volumes[9]: must not be empty",
    ]


@pytest.mark.parametrize(
    ("workdir", "path"),
    [
        ("/workspace", "/workspace"),
        ("/workspace", "/workspace/"),
        ("/workspace", "/workspace/.venv"),
        ("/workspace", "/workspace/a/../b"),
        ("/src", "/src/node_modules"),
        ("/", "/root/.npm"),
    ],
)
def test_volumes_cannot_be_inside_the_workspace_mount(
    tmp_path: Path, workdir: str, path: str
) -> None:
    text = one_job(
        f"image: {IMAGE}\nworkdir: {workdir}\ncache: {{volumes: ['{path}']}}\nsteps: [x]\n"
    )
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:6:23: jobs.test.cache.volumes[0]: cache volumes cannot be inside the "
        f"workspace mount (the job's workdir, {workdir})"
    ]


@pytest.mark.parametrize("path", ["/workspaces", "/work", "/workspace-cache", "/root"])
def test_volumes_next_to_the_workspace_are_fine(tmp_path: Path, path: str) -> None:
    text = one_job(f"image: {IMAGE}\ncache: {{volumes: ['{path}']}}\nsteps: [x]\n")
    assert steps_of(load(text, tmp_path).job("test")).cache.volumes == (CacheVolume(path=path),)


def test_cache_problems(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          a: {{cache: /root/.cache, steps: [x]}}
          b: {{cache: {{volumes: /root/.npm, registy: x}}, steps: [x]}}
          c: {{cache: {{registry: dockstep-cache}}, steps: [x]}}
          d: {{cache: {{registry: "ghcr.io/team/cache:v1"}}, steps: [x]}}
          e: {{cache: {{registry: "ghcr.io/team/cache@{DIGEST}"}}, steps: [x]}}
          f: {{cache: {{registry: localhost:5000/Team/Cache}}, steps: [x]}}
          g: {{cache: {{registry: ""}}, steps: [x]}}
          h: {{caches: {{}}, steps: [x]}}
        """
    shape = (
        "expected a registry and repository like 127.0.0.1:5000/dockstep-cache or "
        "ghcr.io/team/cache (a host with a dot, a port or localhost, then a lowercase "
        "repository path; no tag or digest, as each cache key becomes a tag)"
    )
    no_tag = "a cache registry takes no tag or digest (each cache key becomes the tag)"
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:4:14: jobs.a.cache: expected a mapping, got '/root/.cache'",
        "pipelines/ci.yml:5:24: jobs.b.cache.volumes: expected a list of cache volumes, "
        "got '/root/.npm'",
        "pipelines/ci.yml:5:36: jobs.b.cache: unknown key 'registy' (did you mean 'registry'?)",
        f"pipelines/ci.yml:6:25: jobs.c.cache.registry: {shape}, got 'dockstep-cache'",
        f"pipelines/ci.yml:7:25: jobs.d.cache.registry: {no_tag}; write 'ghcr.io/team/cache'",
        f"pipelines/ci.yml:8:25: jobs.e.cache.registry: {no_tag}; write 'ghcr.io/team/cache'",
        f"pipelines/ci.yml:9:25: jobs.f.cache.registry: {shape}, got 'localhost:5000/Team/Cache'",
        "pipelines/ci.yml:10:25: jobs.g.cache.registry: must not be empty",
        "pipelines/ci.yml:11:7: jobs.h: unknown key 'caches' (did you mean 'cache'?)",
    ]


def test_defaults_cache_takes_only_the_registry(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        defaults:
          image: {IMAGE}
          cache:
            volumes: [/root/.cache/pip]
            registry: localhost:5000/cache:latest
            regsitry: x
        jobs:
          test: {{steps: [x]}}
        """
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:5:5: defaults.cache: set cache volumes per job, "
        "in jobs.<name>.cache.volumes",
        "pipelines/ci.yml:6:15: defaults.cache.registry: a cache registry takes no tag or digest "
        "(each cache key becomes the tag); write 'localhost:5000/cache'",
        "pipelines/ci.yml:7:5: defaults.cache: unknown key 'regsitry' (did you mean 'registry'?)",
    ]


def test_cache_problems_are_collected_with_the_rest(tmp_path: Path) -> None:
    text = """\
        version: 1
        jobs:
          test:
            image: python:3.12
            install: {run: make deps, keys: [/abs]}
            cache: {volumes: [/workspace/.venv], registry: cache}
            timeout: soon
            setps: [pytest]
        """
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:4:5: jobs.test: missing key 'steps'",
        "pipelines/ci.yml:4:12: jobs.test.image: floating tag 'python:3.12'; pin it as "
        "python:3.12@sha256:<digest> or build it from a Dockerfile with "
        "image: {build: images/<dir>}",
        "pipelines/ci.yml:5:38: jobs.test.install.keys[0]: expected a glob relative to the "
        "workspace, without '..', got '/abs'",
        "pipelines/ci.yml:6:23: jobs.test.cache.volumes[0]: cache volumes cannot be inside the "
        "workspace mount (the job's workdir, /workspace)",
        "pipelines/ci.yml:6:52: jobs.test.cache.registry: expected a registry and repository "
        "like 127.0.0.1:5000/dockstep-cache or ghcr.io/team/cache (a host with a dot, a port or "
        "localhost, then a lowercase repository path; no tag or digest, as each cache key "
        "becomes a tag), got 'cache'",
        "pipelines/ci.yml:7:14: jobs.test.timeout: expected a duration like 90s, 10m or 1h30m, "
        "got 'soon'",
        "pipelines/ci.yml:8:5: jobs.test: unknown key 'setps' (did you mean 'steps'?)",
    ]


def test_install_and_cache_merge_from_anchors(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          unit:
            install: &install {{run: pip install -r requirements.txt, keys: [requirements.txt]}}
            cache: &cache {{volumes: [/root/.cache/pip]}}
            steps: [pytest]
          lint:
            install:
              <<: *install
              env: {{PIP_NO_CACHE_DIR: "1"}}
            cache: *cache
            steps: [ruff check]
        """
    unit, lint = (steps_of(job) for job in load(text, tmp_path).jobs)
    assert lint.cache == unit.cache
    assert lint.install is not None and unit.install is not None
    assert (lint.install.run, lint.install.keys) == (unit.install.run, unit.install.keys)
    assert lint.install.env == (("PIP_NO_CACHE_DIR", "1"),)


def test_hidden_top_level_keys_hold_anchors_for_reuse(tmp_path: Path) -> None:
    text = """
version: 1
.deps: &deps
  keys: auto
  run: install
defaults: {image: "busybox@sha256:%s"}
jobs:
  a: {install: *deps, steps: [x]}
  b: {install: *deps, steps: [y]}
""" % ("a" * 64)
    loaded = load_pipeline_text(text, file="p.yml", workspace=tmp_path)
    assert steps_of(loaded.job("a")).install == steps_of(loaded.job("b")).install
    assert steps_of(loaded.job("a")).install is not None
