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

from runner.errors import PipelineInvalid
from runner.format import cache as cache_format
from runner.format import delivery as delivery_format
from runner.format import deploy as deploy_format
from runner.format import fields as fields_format
from runner.format import jobs as jobs_format
from runner.format import load as load_format
from runner.format import services as services_format
from runner.format import triggers as triggers_format
from runner.format import verify as verify_format
from runner.format import yamlnodes as yamlnodes_format
from runner.model.pipeline import CheckKind, PullPolicy
from runner.model.triggers import TriggerKind, UpstreamStatus

SCHEMA: dict[str, Any] = json.loads(files("runner.format").joinpath("schema.json").read_text())
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
        (load_format.TOP_LEVEL_KEYS, "/"),
        (jobs_format.JOB_KEYS, "/$defs/job"),
        (jobs_format.STEP_KEYS, "/$defs/stepMapping"),
        (jobs_format.DEFAULTS_KEYS, "/$defs/defaults"),
        (fields_format.IMAGE_KEYS, "/$defs/imageBuild"),
        (fields_format.RETRY_KEYS, "/$defs/retryPolicy"),
        (fields_format.RESOURCES_KEYS, "/$defs/resources"),
        (triggers_format.TRIGGER_KEYS, "/$defs/triggerMap"),
        (triggers_format.BRANCH_FILTER_KEYS, "/$defs/branchFilter"),
        (triggers_format.TAG_FILTER_KEYS, "/$defs/tagFilter"),
        (triggers_format.SCHEDULE_KEYS, "/$defs/cronEntry"),
        (triggers_format.WEBHOOK_KEYS, "/$defs/webhook"),
        (triggers_format.PIPELINES_KEYS, "/$defs/pipelinesTrigger"),
        (triggers_format.IMAGE_TRIGGER_KEYS, "/$defs/imageTrigger"),
        (load_format.SECRET_KEYS, "/$defs/secretSource"),
        (cache_format.INSTALL_KEYS, "/$defs/install"),
        (cache_format.CACHE_KEYS, "/$defs/cache"),
        (cache_format.CACHE_VOLUME_KEYS, "/$defs/cacheVolume"),
        (cache_format.DEFAULTS_CACHE_KEYS, "/$defs/defaultsCache"),
        (delivery_format.ENVIRONMENT_KEYS, "/$defs/environment"),
        (delivery_format.PACKAGE_KEYS, "/$defs/package"),
        (deploy_format.DEPLOY_KEYS, "/$defs/deploy"),
        (verify_format.VERIFY_KEYS, "/$defs/verify"),
        (verify_format.CHECK_KINDS, "/$defs/check"),
        (verify_format.HTTP_CHECK_KEYS, "/$defs/httpCheck"),
        (verify_format.TCP_CHECK_KEYS, "/$defs/tcpCheck"),
        (verify_format.COMMAND_CHECK_KEYS, "/$defs/commandCheck"),
        (verify_format.BASELINE_KEYS, "/$defs/baseline"),
        (services_format.SERVICE_KEYS, "/$defs/service"),
        (services_format.READY_KEYS, "/$defs/serviceCheck"),
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
    assert len(with_properties) >= 27
    assert all(node["additionalProperties"] is False for node in with_properties)


def test_enumerations_match_the_model() -> None:
    assert set(at("/$defs/pull")["enum"]) == {policy.value for policy in PullPolicy}
    assert set(at("/$defs/triggerName")["enum"]) == triggers_format.TRIGGER_NAMES
    assert set(at("/$defs/triggerMap")["properties"]) == {kind.value for kind in TriggerKind}
    statuses = at("/$defs/pipelinesTrigger/properties/status")["enum"]
    assert statuses == [status.value for status in UpstreamStatus]
    assert tuple(at("/$defs/tagScheme")["enum"]) == delivery_format.TAG_SCHEMES
    approval = at("/$defs/environment/properties/approval")
    assert set(approval["enum"]) == set(delivery_format.APPROVALS)
    assert {kind.value for kind in CheckKind} == verify_format.CHECK_KINDS


def test_the_job_kinds_are_the_loaders() -> None:
    """A job has exactly one of steps or a kind, and install only with steps."""
    job = at("/$defs/job")
    assert [branch["required"] for branch in job["oneOf"]] == [
        ["steps"],
        *([kind] for kind in delivery_format.JOB_KINDS),
    ]
    assert set(job["dependentSchemas"]) == set(delivery_format.JOB_KINDS)


def test_push_repositories_have_the_cache_registry_shape() -> None:
    assert at("/$defs/pushRepository")["pattern"] == at("/$defs/cacheRegistry")["pattern"]


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
      pull_request: {{branches-ignore: ["wip/**"], paths-ignore: ["docs/**"]}}
      tag: {{tags: ["v*", "!v*-rc*"]}}
      schedule: [{{cron: "0 3 * * 1-5"}}, {{cron: "0 4 * * *", timezone: Europe/Paris}}]
      pipelines: {{names: [api, web], status: passed-or-skipped}}
      image: {{repository: "127.0.0.1:5000/webapp"}}
      manual: {{}}
      webhook: {{name: deploy}}
    env: {{PYTHON: 3.12, DEBUG: false}}
    secrets:
      TOKEN: {{env: CI_TOKEN}}
      KEY: {{file: keys/deploy}}
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
        stop_grace: 30s
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
        services:
          db:
            image: {IMAGE}
            env: {{POSTGRES_PASSWORD: x}}
            command: postgres -D /data
            ready: {{tcp: 5432, timeout: 90s, interval: 1s}}
          web: {{image: {IMAGE}, ready: {{http: "http://localhost:8080/health"}}}}
          cache: {{image: {IMAGE}, ready: healthcheck}}
          probe: {{image: {IMAGE}, ready: {{command: "true"}}}}
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
    f"""\
    version: 1
    defaults: {{image: {IMAGE}}}
    environments:
      staging:
        env: {{BASE_URL: "http://127.0.0.1:8080"}}
      production:
        approval: required
      preview:
      review: {{approval: none}}
    jobs:
      wheel:
        stage: build
        steps: [python -m build]
        artifacts: [dist/, reports/junit.xml]
      image:
        stage: package
        needs: [wheel]
        artifacts: [sbom.json]
        package:
          context: examples/webapp
          dockerfile: Dockerfile
          target: runtime
          args: {{VERSION: "${{DOCKSTEP_COMMIT_SHA}}"}}
          labels: {{org.opencontainers.image.title: webapp, empty: ""}}
          tags: [sha, branch, semver, latest]
          push: [127.0.0.1:5000/webapp, ghcr.io/team/webapp]
          retry: {{max: 4, delay: 1s, backoff: 2, max_delay: 30s}}
      bare:
        stage: package
        package: {{context: examples/webapp, push: [], retry: 2}}
      deploy-staging:
        stage: deploy
        needs: [image]
        deploy:
          environment: staging
          package: image
          service: webapp-staging
          ports: ["8080:8000", "127.0.0.1:8081:8001", "65535:1"]
          env: {{PORT: "8000"}}
          command: python3 -m http.server 8000
      verify-staging:
        stage: verify
        needs: [deploy-staging]
        verify:
          deployment: deploy-staging
          checks:
            - http: http://127.0.0.1:8080/health
            - http: {{url: "https://127.0.0.1:8080/?q=1", status: 204, body: "o+k", latency: 500ms,
                      deadline: 30s, interval: 500ms}}
            - tcp: 127.0.0.1:8080
            - tcp: {{address: "localhost:8081", deadline: 10s, interval: 1s}}
            - command: test -f /app/ready
            - command: {{run: "test -f /app/ready", deadline: 10s, interval: 1s}}
          baseline: {{url: http://127.0.0.1:8080/, requests: 50, p50: 50ms, p95: 200ms,
                      error_rate: 0.01}}
      smoke:
        stage: verify
        needs: [deploy-staging]
        verify: {{deployment: deploy-staging, baseline: {{url: "http://localhost:8080"}}}}
    """,
]


def job_t(keys: str) -> str:
    """A pipeline with one job `t`: an image, one step and the given keys."""
    return f"version: 1\njobs: {{t: {{image: {IMAGE}, steps: [x], {keys}}}}}\n"


def triggers(on: str) -> str:
    """A pipeline with one valid job and these triggers."""
    return f"version: 1\non: {on}\njobs: {{t: {{image: {IMAGE}, steps: [x]}}}}\n"


def delivery(
    *,
    package: str = "context: examples/webapp",
    deploy: str = "environment: staging, package: p, service: web",
    verify: str = "deployment: d, checks: [{tcp: '127.0.0.1:8080'}]",
    environments: str = "{staging: {}}",
) -> str:
    """A package job `p`, a deploy `d` of it and a verify job `v` of that, with these bodies."""
    return (
        f"version: 1\nenvironments: {environments}\njobs:\n"
        f"  p: {{stage: package, package: {{{package}}}}}\n"
        f"  d: {{stage: deploy, needs: [p], deploy: {{{deploy}}}}}\n"
        f"  v: {{stage: verify, needs: [d], verify: {{{verify}}}}}\n"
    )


INVALID_TRIGGERS = [
    pytest.param(
        triggers("{push: {branches: [a], branches-ignore: [b]}}"),
        "push",
        id="branches-and-ignore",
    ),
    pytest.param(
        triggers("{pull_request: {paths: [a], paths-ignore: [b]}}"),
        "pull_request",
        id="paths-and-ignore",
    ),
    pytest.param(
        triggers("{push: {branches: []}}"),
        "push/branches",
        id="no-branches",
    ),
    pytest.param(
        triggers("{pipelines: {status: passed}}"),
        "pipelines",
        id="pipelines-without-names",
    ),
    pytest.param(
        triggers("{pipelines: {names: [a], status: failed}}"),
        "pipelines/status",
        id="upstream-status",
    ),
    pytest.param(
        triggers("{image: {repository: 'webapp:v1'}}"),
        "image/repository",
        id="image-not-a-repository",
    ),
]


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
    pytest.param(job_t("stop_grace: soon"), "jobs/t/stop_grace", id="bad-grace"),
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
    pytest.param(f"version: 1\njobs: {{t: {{image: {IMAGE}}}}}\n", "jobs/t", id="no-kind"),
    pytest.param(job_t("package: {context: examples/webapp}"), "jobs/t", id="steps-and-package"),
    pytest.param(
        "version: 1\njobs:\n  t: {package: {context: examples/webapp},"
        " verify: {deployment: x, baseline: {url: 'http://a'}}}\n",
        "jobs/t",
        id="two-kinds",
    ),
    pytest.param(
        "version: 1\njobs: {t: {package: {context: examples/webapp}, install: {run: x}}}\n",
        "jobs/t",
        id="install-on-package",
    ),
    pytest.param(
        "version: 1\njobs: {t: {package: {context: examples/webapp}, privileged: true}}\n",
        "jobs/t",
        id="privileged-on-package",
    ),
    pytest.param(job_t("artifacts: [/dist]"), "jobs/t/artifacts/0", id="absolute-artifact"),
    pytest.param(job_t("artifacts: [a/../../b]"), "jobs/t/artifacts/0", id="up-artifact"),
    pytest.param(job_t("artifacts: ['./']"), "jobs/t/artifacts/0", id="workspace-artifact"),
    pytest.param(job_t("artifacts: dist"), "jobs/t/artifacts", id="artifacts-string"),
    pytest.param(
        delivery(environments="[staging]", deploy="environment: x, package: p, service: web"),
        "environments",
        id="environments-list",
    ),
    pytest.param(
        delivery(environments="{staging: {approval: yes}}"),
        "environments/staging/approval",
        id="approval-yes",
    ),
    pytest.param(
        delivery(environments="{staging: {aproval: required}}"),
        "environments/staging",
        id="environment-key",
    ),
    pytest.param(
        delivery(environments="{staging: {}, 'pre prod': {}}"), "environments", id="env-name"
    ),
    pytest.param(delivery(package="dockerfile: Dockerfile"), "jobs/p/package", id="no-context"),
    pytest.param(
        delivery(package="context: examples/webapp, tags: [sha, commit]"),
        "jobs/p/package/tags/1",
        id="tag-scheme",
    ),
    pytest.param(
        delivery(package="context: examples/webapp, tags: [sha, sha]"),
        "jobs/p/package/tags",
        id="tag-twice",
    ),
    pytest.param(
        delivery(package="context: examples/webapp, tags: []"),
        "jobs/p/package/tags",
        id="no-tags",
    ),
    pytest.param(
        delivery(package="context: examples/webapp, push: ['127.0.0.1:5000/webapp:v1']"),
        "jobs/p/package/push/0",
        id="push-tag",
    ),
    pytest.param(
        delivery(package="context: examples/webapp, labels: {version: 1}"),
        "jobs/p/package/labels/version",
        id="label-number",
    ),
    pytest.param(
        delivery(package="context: examples/webapp, retry: {max: 11}"),
        "jobs/p/package/retry",
        id="push-retries",
    ),
    pytest.param(
        delivery(deploy="environment: staging, package: p"), "jobs/d/deploy", id="no-service"
    ),
    pytest.param(
        delivery(deploy="environment: staging, package: p, service: 'web app'"),
        "jobs/d/deploy/service",
        id="service-name",
    ),
    pytest.param(
        delivery(deploy="environment: staging, package: p, service: web, ports: ['0.0.0.0:80:80']"),
        "jobs/d/deploy/ports/0",
        id="public-port",
    ),
    pytest.param(
        delivery(deploy="environment: staging, package: p, service: web, ports: ['80:70000']"),
        "jobs/d/deploy/ports/0",
        id="port-range",
    ),
    pytest.param(
        delivery(deploy="environment: staging, package: p, service: web, ports: [22:22]"),
        "jobs/d/deploy/ports/0",
        id="port-sexagesimal",
    ),
    pytest.param(
        delivery(deploy="environment: staging, package: p, service: web, ports: ['8080']"),
        "jobs/d/deploy/ports/0",
        id="port-alone",
    ),
    pytest.param(delivery(verify="deployment: d"), "jobs/v/verify", id="nothing-to-verify"),
    pytest.param(delivery(verify="checks: [{tcp: 'a:1'}]"), "jobs/v/verify", id="no-deployment"),
    pytest.param(delivery(verify="deployment: d, checks: []"), "jobs/v/verify/checks", id="none"),
    pytest.param(
        delivery(verify="deployment: d, checks: [{http: 'http://a', tcp: 'a:1'}]"),
        "jobs/v/verify/checks/0",
        id="two-checks",
    ),
    pytest.param(
        delivery(verify="deployment: d, checks: ['http://a']"),
        "jobs/v/verify/checks/0",
        id="check-string",
    ),
    pytest.param(
        delivery(verify="deployment: d, checks: [{http: 'ftp://a'}]"),
        "jobs/v/verify/checks/0/http",
        id="ftp",
    ),
    pytest.param(
        delivery(verify="deployment: d, checks: [{http: {url: 'http://a', status: 700}}]"),
        "jobs/v/verify/checks/0/http",
        id="status",
    ),
    pytest.param(
        delivery(verify="deployment: d, checks: [{http: {status: 200}}]"),
        "jobs/v/verify/checks/0/http",
        id="no-url",
    ),
    pytest.param(
        delivery(verify="deployment: d, checks: [{tcp: localhost}]"),
        "jobs/v/verify/checks/0/tcp",
        id="no-port",
    ),
    pytest.param(
        delivery(verify="deployment: d, checks: [{tcp: {address: 'a:1', status: 200}}]"),
        "jobs/v/verify/checks/0/tcp",
        id="tcp-status",
    ),
    pytest.param(
        delivery(verify="deployment: d, checks: [{command: {run: x, deadline: soon}}]"),
        "jobs/v/verify/checks/0/command",
        id="deadline",
    ),
    pytest.param(
        delivery(verify="deployment: d, baseline: {url: 'http://a', requests: 0}"),
        "jobs/v/verify/baseline/requests",
        id="requests",
    ),
    pytest.param(
        delivery(verify="deployment: d, baseline: {url: 'http://a', error_rate: 2}"),
        "jobs/v/verify/baseline/error_rate",
        id="error-rate",
    ),
    pytest.param(
        delivery(verify="deployment: d, baseline: {requests: 5}"),
        "jobs/v/verify/baseline",
        id="baseline-url",
    ),
]


def as_data(text: str) -> Any:
    """The document as an editor's YAML 1.2 parser sees it (so `on:` stays a string)."""
    return yaml.load(text, Loader=yamlnodes_format.PipelineYamlLoader)  # a SafeLoader subclass


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "images" / "python").mkdir(parents=True)
    (tmp_path / "images" / "python" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "examples" / "webapp").mkdir(parents=True)
    (tmp_path / "examples" / "webapp" / "Dockerfile").write_text("FROM scratch\n")
    for name in ("keys/deploy", "requirements.txt", "src/app/pyproject.toml", "package-lock.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)  # named files must exist
    return tmp_path


@pytest.mark.parametrize("text", VALID)
def test_valid_pipelines_pass_both(workspace: Path, text: str) -> None:
    text = textwrap.dedent(text)
    load_format.load_pipeline_text(text, file="ci.yml", workspace=workspace)
    VALIDATOR.validate(as_data(text))


@pytest.mark.parametrize(("text", "where"), INVALID)
def test_invalid_pipelines_fail_both(workspace: Path, text: str, where: str) -> None:
    """Both refuse the file, and the schema for the same reason (at the same place)."""
    with pytest.raises(PipelineInvalid) as caught:
        load_format.load_pipeline_text(text, file="ci.yml", workspace=workspace)
    assert len(caught.value.problems) == 1
    places = {
        "/".join(map(str, error.absolute_path)) for error in VALIDATOR.iter_errors(as_data(text))
    }
    assert places == {where}


@pytest.mark.parametrize(("text", "where"), INVALID_TRIGGERS)
def test_invalid_triggers_fail_both(workspace: Path, text: str, where: str) -> None:
    """As above, judged on the trigger mapping (the `on:` forms are a oneOf, reported whole)."""
    with pytest.raises(PipelineInvalid) as caught:
        load_format.load_pipeline_text(text, file="ci.yml", workspace=workspace)
    assert len(caught.value.problems) == 1
    validator = jsonschema.Draft202012Validator(
        {**at("/$defs/triggerMap"), "$defs": SCHEMA["$defs"]}
    )
    errors = validator.iter_errors(as_data(text)["on"])
    assert {"/".join(map(str, error.absolute_path)) for error in errors} == {where}


REPOSITORY = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "path", sorted((REPOSITORY / "pipelines").glob("*.yml")), ids=lambda path: path.name
)
def test_the_repository_pipelines_pass_both(path: Path) -> None:
    load_format.load_pipeline(path, workspace=REPOSITORY)
    VALIDATOR.validate(as_data(path.read_text()))


# ---------------------------------------------------------------- value shapes both agree on


def agree(workspace: Path, text: str, pointer: str, value: str) -> tuple[bool, bool]:
    """Whether the schema at `pointer` and the loader (loading `text`) accept the value."""
    schema_accepts = jsonschema.Draft202012Validator(
        {**at(pointer), "$defs": SCHEMA["$defs"]}
    ).is_valid(value)
    try:
        load_format.load_pipeline_text(text, file="ci.yml", workspace=workspace)
    except PipelineInvalid:
        return schema_accepts, False
    return schema_accepts, True


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("8080:8000", True),
        ("127.0.0.1:8081:8001", True),
        ("1:65535", True),
        ("0.0.0.0:8080:80", False),
        ("localhost:8080:80", False),
        ("[::1]:8080:80", False),
        ("8080", False),
        ("0:80", False),
        ("80:65536", False),
        ("08080:80", False),
        ("8080:80/udp", False),
        ("8000-8010:8000", False),
        (" 8080:80", False),
    ],
)
def test_port_mappings(workspace: Path, value: str, valid: bool) -> None:
    text = delivery(deploy=f"environment: staging, package: p, service: web, ports: ['{value}']")
    assert agree(workspace, text, "/$defs/portMapping", value) == (valid, valid)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("127.0.0.1:8080", True),
        ("localhost:1", True),
        ("db.internal-1:65535", True),
        ("localhost", False),
        ("localhost:0", False),
        ("localhost:65536", False),
        ("[::1]:8080", False),
        ("-a:80", False),
        ("a b:80", False),
        ("http://a:80", False),
    ],
)
def test_tcp_addresses(workspace: Path, value: str, valid: bool) -> None:
    text = delivery(verify=f"deployment: d, checks: [{{tcp: '{value}'}}]")
    assert agree(workspace, text, "/$defs/tcpAddress", value) == (valid, valid)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("http://127.0.0.1:8080", True),
        ("https://example.com/health?full=1#x", True),
        ("http://a", True),
        ("HTTP://a", False),
        ("ftp://a", False),
        ("http://", False),
        ("http:///path", False),
        ("http://a b/", False),
        ("127.0.0.1:8080/health", False),
    ],
)
def test_urls(workspace: Path, value: str, valid: bool) -> None:
    text = delivery(verify=f"deployment: d, baseline: {{url: '{value}'}}")
    assert agree(workspace, text, "/$defs/url", value) == (valid, valid)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("dist/", True),
        ("reports/junit.xml", True),
        (".github", True),
        ("a/./b", True),
        ("..a", True),
        ("/dist", False),
        ("..", False),
        ("a/../b", False),
        (".", False),
        ("./", False),
        ("././", False),
        ("  ", False),
    ],
)
def test_artifact_paths(workspace: Path, value: str, valid: bool) -> None:
    text = job_t(f"artifacts: ['{value}']")
    assert agree(workspace, text, "/$defs/artifacts/items", value) == (valid, valid)
