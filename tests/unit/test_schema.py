"""The published JSON Schema stays in step with what the loader accepts."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from runner import loader
from runner.errors import PipelineInvalid
from runner.model import PullPolicy

SCHEMA: dict[str, Any] = json.loads(files("runner").joinpath("schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"python:3.12-slim@{DIGEST}"


def at(pointer: str) -> dict[str, Any]:
    """The schema object at a JSON pointer like /$defs/job."""
    node: Any = SCHEMA
    for part in pointer.strip("/").split("/"):
        node = node[part] if part else node
    assert isinstance(node, dict)
    return node


@pytest.mark.parametrize(
    ("keys", "pointer"),
    [
        (loader.TOP_LEVEL_KEYS, "/"),
        (loader.JOB_KEYS, "/$defs/job"),
        (loader.STEP_KEYS, "/$defs/stepMapping"),
        (loader.DEFAULTS_KEYS, "/$defs/defaults"),
        (loader.IMAGE_KEYS, "/$defs/imageBuild"),
        (loader.RETRY_KEYS, "/$defs/retryPolicy"),
        (loader.RESOURCES_KEYS, "/$defs/resources"),
        (loader.TRIGGER_KEYS, "/$defs/triggerMap"),
        (loader.BRANCH_FILTER_KEYS, "/$defs/branchFilter"),
        (loader.TAG_FILTER_KEYS, "/$defs/tagFilter"),
        (loader.SCHEDULE_KEYS, "/$defs/cronEntry"),
        (loader.WEBHOOK_KEYS, "/$defs/webhook"),
        (loader.SECRET_KEYS, "/$defs/secretSource"),
        (loader.INSTALL_KEYS, "/$defs/install"),
        (loader.CACHE_KEYS, "/$defs/cache"),
        (loader.CACHE_VOLUME_KEYS, "/$defs/cacheVolume"),
        (loader.DEFAULTS_CACHE_KEYS, "/$defs/defaultsCache"),
    ],
)
def test_schema_keys_match_the_loader(keys: frozenset[str], pointer: str) -> None:
    place = at(pointer)
    assert set(place["properties"]) == keys
    assert place["additionalProperties"] is False


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"]
    assert SCHEMA["title"]


def objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from objects(value)


def test_every_closed_object_refuses_unknown_keys() -> None:
    with_properties = [node for node in objects(SCHEMA) if "properties" in node]
    assert len(with_properties) >= 18
    assert all(node["additionalProperties"] is False for node in with_properties)


def test_enumerations_match_the_model() -> None:
    assert set(at("/$defs/pull")["enum"]) == {policy.value for policy in PullPolicy}
    assert set(at("/$defs/triggerName")["enum"]) == loader.TRIGGER_KEYS - {"schedule"}


VALID = [
    f"""\
    version: 1
    jobs:
      test:
        image: {IMAGE}
        steps: [pytest -q]
    """,
    f"""\
    version: 1
    name: full
    on:
      push: {{branches: [main], paths: ["src/**"]}}
      pull_request:
      tag: {{tags: ["v*"]}}
      schedule: [{{cron: "0 3 * * 1-5"}}]
      manual: {{}}
      webhook: {{name: deploy}}
    env: {{PYTHON: 3.12, DEBUG: false}}
    secrets:
      TOKEN: {{env: CI_TOKEN}}
      KEY: {{file: /run/keys/deploy}}
    defaults:
      image: {IMAGE}
      timeout: 30m
      retry: {{max: 2, delay: 5s, backoff: 2, max_delay: 1m}}
      workdir: /src
      pull: if-not-present
      cache: {{registry: "127.0.0.1:5000/dockstep-cache"}}
    stages: [build, test, deploy]
    jobs:
      image:
        stage: build
        image: {{build: images/python, dockerfile: Dockerfile, args: {{V: "1"}}, target: ci}}
        steps: [make]
      unit:
        needs: [image]
        env: {{LEVEL: "1"}}
        timeout: 1h30m
        allow_failure: true
        if: branch == 'main' || tag =~ '^v'
        resources: {{memory: 1g, cpus: 2, pids: 512}}
        privileged: false
        docker_socket: true
        workdir: /work
        pull: always
        install:
          keys: [requirements*.txt, "src/*/pyproject.toml"]
          run: pip install -r requirements.txt
          env: {{PIP_NO_CACHE_DIR: "1"}}
        cache:
          volumes:
            - /root/.cache/pip
            - {{path: /root/.npm, keys: [package-lock.json]}}
            - {{path: /root/.cargo/registry, keys: auto}}
          registry: ghcr.io/team/ci-cache
        steps:
          - name: tests
            run: pytest
            env: {{X: y}}
            timeout: 90
            retry: 1
            allow_failure: false
            workdir: tests
    """,
    f"""\
    version: 1
    on: [push, manual]
    secrets: [TOKEN]
    jobs:
      lint: {{image: "{DIGEST}", steps: [{{run: ruff check .}}]}}
    """,
    f"""\
    version: 1
    defaults: {{image: {IMAGE}}}
    jobs:
      auto:
        install: {{run: npm ci, keys: auto}}
        cache: {{volumes: [/root/.npm]}}
        steps: [npm test]
      bare:
        install: {{run: pip install .}}
        cache: {{registry: "localhost:5000/cache"}}
        steps: [pytest]
    """,
]


def job_t(keys: str) -> str:
    """A pipeline with one job `t`: an image, one step and the given keys."""
    return f"version: 1\njobs: {{t: {{image: {IMAGE}, steps: [x], {keys}}}}}\n"


INVALID = [
    pytest.param(
        f"version: 1\njobs:\n  t: {{image: {IMAGE}, steps: [x], setps: [y]}}\n",
        "jobs/t",
        id="unknown-key",
    ),
    pytest.param(
        "version: 1\njobs:\n  t: {image: [python], steps: [x]}\n", "jobs/t/image", id="image-list"
    ),
    pytest.param(
        "version: 1\njobs:\n  t: {image: 'python:3.12', steps: [x]}\n",
        "jobs/t/image",
        id="unpinned",
    ),
    pytest.param(
        f"version: 1\nsecrets: {{T: {{value: x}}}}\njobs: {{t: {{image: {IMAGE}, steps: [x]}}}}\n",
        "secrets",
        id="secret-value",
    ),
    pytest.param(
        f"version: 1\njobs: {{t: {{image: {IMAGE}, timeout: soon, steps: [x]}}}}\n",
        "jobs/t/timeout",
        id="bad-duration",
    ),
    pytest.param(
        f"version: 1\njobs: {{'a b': {{image: {IMAGE}, steps: [x]}}}}\n", "jobs", id="job-name"
    ),
    pytest.param(
        f"version: 2\njobs: {{t: {{image: {IMAGE}, steps: [x]}}}}\n", "version", id="version"
    ),
    pytest.param(
        f"version: 1\njobs: {{t: {{image: {IMAGE}, steps: []}}}}\n", "jobs/t/steps", id="no-steps"
    ),
    pytest.param(job_t("install: {keys: auto}"), "jobs/t/install", id="install-without-run"),
    pytest.param(job_t("install: {run: x, kyes: auto}"), "jobs/t/install", id="install-key"),
    pytest.param(job_t("install: pip install ."), "jobs/t/install", id="install-string"),
    pytest.param(job_t("install: {run: x, keys: [/a]}"), "jobs/t/install/keys", id="abs-key"),
    pytest.param(job_t("install: {run: x, keys: [a/../b]}"), "jobs/t/install/keys", id="up-key"),
    pytest.param(job_t("install: {run: x, keys: Auto}"), "jobs/t/install/keys", id="not-auto"),
    pytest.param(job_t("install: {run: x, keys: []}"), "jobs/t/install/keys", id="no-keys"),
    pytest.param(job_t("cache: {volumes: [v]}"), "jobs/t/cache/volumes/0", id="relative-volume"),
    pytest.param(job_t("cache: {volumes: [/v, /v]}"), "jobs/t/cache/volumes", id="same-volume"),
    pytest.param(
        job_t("cache: {volumes: [{keys: auto}]}"), "jobs/t/cache/volumes/0", id="volume-no-path"
    ),
    pytest.param(job_t("cache: {volume: [/v]}"), "jobs/t/cache", id="cache-key"),
    pytest.param(
        job_t("cache: {registry: 'ghcr.io/a/c:v1'}"), "jobs/t/cache/registry", id="registry-tag"
    ),
    pytest.param(
        job_t("cache: {registry: dockstep-cache}"), "jobs/t/cache/registry", id="registry-host"
    ),
    pytest.param(
        f"version: 1\ndefaults: {{image: {IMAGE}, cache: {{volumes: [/v]}}}}\n"
        "jobs: {t: {steps: [x]}}\n",
        "defaults/cache",
        id="default-volumes",
    ),
]


def as_data(text: str) -> Any:
    """The document as an editor's YAML 1.2 parser sees it (so `on:` stays a string)."""
    return yaml.load(text, Loader=loader.PipelineYamlLoader)  # a SafeLoader subclass


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "images" / "python").mkdir(parents=True)
    (tmp_path / "images" / "python" / "Dockerfile").write_text("FROM scratch\n")
    return tmp_path


@pytest.mark.parametrize("text", VALID)
def test_valid_pipelines_pass_both(workspace: Path, text: str) -> None:
    text = textwrap.dedent(text)
    loader.load_pipeline_text(text, file="ci.yml", workspace=workspace)
    VALIDATOR.validate(as_data(text))


@pytest.mark.parametrize(("text", "where"), INVALID)
def test_invalid_pipelines_fail_both(workspace: Path, text: str, where: str) -> None:
    """Both refuse the file, and the schema for the same reason (at the same place)."""
    with pytest.raises(PipelineInvalid) as caught:
        loader.load_pipeline_text(text, file="ci.yml", workspace=workspace)
    assert len(caught.value.problems) == 1
    places = {
        "/".join(map(str, error.absolute_path)) for error in VALIDATOR.iter_errors(as_data(text))
    }
    assert places == {where}


REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path", sorted((REPOSITORY / "pipelines").glob("*.yml")), ids=lambda path: path.name
)
def test_the_repository_pipelines_pass_both(path: Path) -> None:
    loader.load_pipeline(path, workspace=REPOSITORY)
    VALIDATOR.validate(as_data(path.read_text()))
