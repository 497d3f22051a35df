"""Environments, package, deploy, verify and artifacts: the model built and the problems shown."""

from __future__ import annotations

import json
import re
import textwrap
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from runner.errors import PipelineInvalid
from runner.format.load import load_pipeline_text
from runner.format.yamlnodes import PipelineYamlLoader
from runner.model.pipeline import (
    Baseline,
    CheckKind,
    Deploy,
    Environment,
    HealthCheck,
    Package,
    RetryPolicy,
    Verify,
)
from tests.unit.pipelines import action, load, problems, steps_of

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"python:3.12@{DIGEST}"
REPOSITORY = Path(__file__).resolve().parents[3]
PUSH_RETRY = RetryPolicy(max_retries=4, delay=1.0, backoff=2.0, max_delay=30.0)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for context in ("examples/webapp", "images/web"):
        (tmp_path / context).mkdir(parents=True)
        (tmp_path / context / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "images" / "web" / "Containerfile").write_text("FROM scratch\n")
    (tmp_path / "README.md").write_text("not a directory\n")
    return tmp_path


def flow(
    *,
    package: str = "context: examples/webapp",
    deploy: str = "environment: staging, package: p, service: web",
    verify: str = "deployment: d, checks: [{tcp: '127.0.0.1:8080'}]",
    environments: str = "{staging: {}, production: {approval: required}}",
) -> str:
    """A package job `p` (line 4), a deploy `d` of it (line 5) and a verify `v` (line 6).

    Each body starts at a fixed column: package at 33, deploy and verify at 43.
    """
    return (
        f"version: 1\nenvironments: {environments}\njobs:\n"
        f"  p: {{stage: package, package: {{{package}}}}}\n"
        f"  d: {{stage: deploy, needs: [p], deploy: {{{deploy}}}}}\n"
        f"  v: {{stage: verify, needs: [d], verify: {{{verify}}}}}\n"
    )


# ---------------------------------------------------------------- the documented example


def documented_example() -> str:
    """The first YAML block of the docs' "Package, deploy and verify" section, made loadable."""
    text = (REPOSITORY / "docs" / "pipeline-format.md").read_text()
    section = text[text.index("## Package, deploy and verify") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return block[1].replace("<64 hex digits>", "0" * 64)


def test_the_documented_example(workspace: Path) -> None:
    text = documented_example()
    pipeline = load(text, workspace)
    schema: dict[str, Any] = json.loads(files("runner.format").joinpath("schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(yaml.load(text, Loader=PipelineYamlLoader))

    assert pipeline.environments == (
        Environment(name="staging", env=(("BASE_URL", "http://127.0.0.1:8080"),)),
        Environment(name="production", approval=True),
    )
    wheel, image, deploy, verify = pipeline.jobs
    assert wheel.artifacts == ("dist", "reports/junit.xml")
    assert [job.kind for job in pipeline.jobs] == ["steps", "package", "deploy", "verify"]
    assert action(image, Package) == Package(
        context="examples/webapp",
        dockerfile="Dockerfile",
        target="runtime",
        args=(("VERSION", "${DOCKSTEP_COMMIT_SHA}"),),
        labels=(("org.opencontainers.image.title", "webapp"),),
        tags=("sha", "branch", "semver", "latest"),
        push=("127.0.0.1:5000/webapp",),
        retry=PUSH_RETRY,
    )
    assert action(deploy, Deploy) == Deploy(
        environment="staging",
        package="image",
        service="webapp-staging",
        ports=((8080, 8000), (8081, 8001)),
        env=(("PORT", "8000"),),
        command="python3 -m http.server 8000",
    )
    assert action(verify, Verify) == Verify(
        deployment="deploy-staging",
        checks=(
            HealthCheck(kind=CheckKind.HTTP, target="http://127.0.0.1:8080/health"),
            HealthCheck(
                kind=CheckKind.HTTP, target="http://127.0.0.1:8080/", body="ok", latency=0.5
            ),
            HealthCheck(kind=CheckKind.TCP, target="127.0.0.1:8080"),
            HealthCheck(
                kind=CheckKind.COMMAND, target="test -f /app/ready", deadline=10.0, interval=1.0
            ),
        ),
        baseline=Baseline(
            url="http://127.0.0.1:8080/", requests=50, p50=0.05, p95=0.2, error_rate=0.01
        ),
    )


def test_the_documented_check_forms(workspace: Path) -> None:
    text = (REPOSITORY / "docs" / "pipeline-format.md").read_text()
    section = text[text.index("### `verify`") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    checks = textwrap.indent(block[1], "      ")
    body = (
        "version: 1\nenvironments: {staging: }\njobs:\n"
        "  p: {stage: package, package: {context: examples/webapp}}\n"
        "  d: {stage: deploy, needs: [p], deploy: {environment: staging, package: p, service: s}}\n"
        "  v:\n    stage: verify\n    needs: [d]\n    verify:\n      deployment: d\n"
        f"{checks}"
    )
    verify = action(load(body, workspace).job("v"), Verify)
    assert verify is not None
    assert verify.checks == (
        HealthCheck(kind=CheckKind.HTTP, target="http://127.0.0.1:8080/health"),
        HealthCheck(
            kind=CheckKind.HTTP,
            target="http://127.0.0.1:8080/",
            status=200,
            body="ok",
            latency=0.5,
            deadline=30.0,
            interval=0.5,
        ),
        HealthCheck(kind=CheckKind.TCP, target="127.0.0.1:8080"),
        HealthCheck(kind=CheckKind.TCP, target="127.0.0.1:8080", deadline=30.0, interval=0.5),
        HealthCheck(kind=CheckKind.COMMAND, target="test -f /app/ready"),
        HealthCheck(
            kind=CheckKind.COMMAND, target="test -f /app/ready", deadline=10.0, interval=1.0
        ),
    )


# ---------------------------------------------------------------- what is read


def test_a_package_with_only_a_context(workspace: Path) -> None:
    job = load(
        "version: 1\njobs:\n  image: {package: {context: examples/webapp}}\n", workspace
    ).job("image")
    package = action(job, Package)
    assert package == Package(context="examples/webapp")
    assert (package.dockerfile, package.tags) == ("Dockerfile", ("sha", "branch", "semver"))
    assert (package.push, package.retry) == ((), PUSH_RETRY)
    assert (job.stage, job.artifacts) == ("test", ())  # no image needed, and none to default to


@pytest.mark.parametrize(
    ("retry", "policy"),
    [
        ("2", RetryPolicy(max_retries=2, delay=1.0, backoff=2.0, max_delay=30.0)),
        ("0", RetryPolicy(max_retries=0, delay=1.0, backoff=2.0, max_delay=30.0)),
        ("{max: 6, delay: 2s}", RetryPolicy(max_retries=6, delay=2.0, backoff=2.0, max_delay=30.0)),
        (
            "{max: 1, delay: 0, backoff: 3, max_delay: 1m}",
            RetryPolicy(max_retries=1, delay=0.0, backoff=3.0, max_delay=60.0),
        ),
    ],
)
def test_push_retries_fill_from_the_package_defaults(
    workspace: Path, retry: str, policy: RetryPolicy
) -> None:
    text = f"version: 1\njobs:\n  p: {{package: {{context: examples/webapp, retry: {retry}}}}}\n"
    package = action(load(text, workspace).job("p"), Package)
    assert package is not None
    assert package.retry == policy


def test_step_retries_still_fill_from_the_step_defaults(workspace: Path) -> None:
    text = f"version: 1\njobs:\n  t: {{image: {IMAGE}, steps: [{{run: x, retry: 2}}]}}\n"
    assert steps_of(load(text, workspace).job("t")).steps[0].retry == RetryPolicy(max_retries=2)


def test_package_paths_tags_labels_and_args(workspace: Path) -> None:
    text = """\
        version: 1
        jobs:
          p:
            package:
              context: ./images//web/
              dockerfile: ./Containerfile
              tags: [latest, sha]
              labels: {b: "2", a: "", org.example/x: y}
              args: {N: 3.10, F: false, V: "${DOCKSTEP_COMMIT_SHA:-dev}"}
              push: [127.0.0.1:5000/web, localhost/team/web, "ghcr.io/team/web"]
        """
    assert action(load(text, workspace).job("p"), Package) == Package(
        context="images/web",
        dockerfile="Containerfile",
        tags=("latest", "sha"),
        labels=(("a", ""), ("b", "2"), ("org.example/x", "y")),
        args=(("F", "false"), ("N", "3.10"), ("V", "${DOCKSTEP_COMMIT_SHA:-dev}")),
        push=("127.0.0.1:5000/web", "localhost/team/web", "ghcr.io/team/web"),
    )


def test_environments(workspace: Path) -> None:
    text = """\
        version: 1
        environments:
          staging: {env: {URL: "http://127.0.0.1:8080", N: 2}}
          production: {approval: required}
          preview:
          review: {approval: none}
          qa: {}
        jobs:
          p: {package: {context: examples/webapp}}
        """
    assert load(text, workspace).environments == (
        Environment(name="staging", env=(("N", "2"), ("URL", "http://127.0.0.1:8080"))),
        Environment(name="production", approval=True),
        Environment(name="preview"),
        Environment(name="review"),
        Environment(name="qa"),
    )


def test_without_environments(workspace: Path) -> None:
    text = "version: 1\njobs:\n  p: {package: {context: examples/webapp}}\n"
    assert load(text, workspace).environments == ()


def test_a_deploy(workspace: Path) -> None:
    text = flow(
        deploy="environment: production, package: p, service: web.1_a-B, "
        "ports: ['1:65535', '127.0.0.1:8080:80'], env: {PORT: 80}"
    )
    pipeline = load(text, workspace)
    assert action(pipeline.job("d"), Deploy) == Deploy(
        environment="production",
        package="p",
        service="web.1_a-B",
        ports=((1, 65535), (8080, 80)),
        env=(("PORT", "80"),),
    )
    assert pipeline.job("d").needs == ("p",)


def test_check_long_forms_and_baseline_defaults(workspace: Path) -> None:
    text = flow(
        verify="deployment: d, checks: ["
        "{http: {url: 'https://a.example/x?y=1', status: 503, body: '^up$', deadline: 1m, "
        "interval: 2}}, {tcp: {address: 'db:5432'}}, {command: {run: pg_isready}}], "
        "baseline: {url: 'http://a'}"
    )
    assert action(load(text, workspace).job("v"), Verify) == Verify(
        deployment="d",
        checks=(
            HealthCheck(
                kind=CheckKind.HTTP,
                target="https://a.example/x?y=1",
                status=503,
                body="^up$",
                deadline=60.0,
                interval=2.0,
            ),
            HealthCheck(kind=CheckKind.TCP, target="db:5432"),
            HealthCheck(kind=CheckKind.COMMAND, target="pg_isready"),
        ),
        baseline=Baseline(url="http://a", requests=50, p50=None, p95=None, error_rate=0.0),
    )


@pytest.mark.parametrize(("rate", "share"), [("0", 0.0), ("1", 1.0), ("0.25", 0.25)])
def test_a_baseline_alone(workspace: Path, rate: str, share: float) -> None:
    text = flow(
        verify=f"deployment: d, baseline: {{url: 'http://a', requests: 10000, p95: 2, "
        f"error_rate: {rate}}}"
    )
    assert action(load(text, workspace).job("v"), Verify) == Verify(
        deployment="d",
        baseline=Baseline(url="http://a", requests=10000, p95=2.0, error_rate=share),
    )


def test_artifacts_on_any_job(workspace: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          t: {{steps: [x], artifacts: [dist/, ./reports//junit.xml, .github, "a dir/x", ..a]}}
          p: {{package: {{context: examples/webapp}}, artifacts: [sbom.json]}}
          u: {{steps: [x], artifacts: []}}
        """
    t, p, u = load(text, workspace).jobs
    assert t.artifacts == ("dist", "reports/junit.xml", ".github", "a dir/x", "..a")
    assert (p.artifacts, u.artifacts) == (("sbom.json",), ())


def test_delivery_jobs_ignore_the_default_image(workspace: Path) -> None:
    text = flow().replace("version: 1\n", f"version: 1\ndefaults: {{image: {IMAGE}}}\n")
    pipeline = load(text, workspace)  # no "image is only for jobs that run steps"
    assert [job.kind for job in pipeline.jobs] == ["package", "deploy", "verify"]


def test_steps_only_keys_on_a_delivery_job_are_refused(workspace: Path) -> None:
    text = (
        "version: 1\njobs:\n"
        "  image:\n    package: {context: examples/webapp}\n"
        "    privileged: true\n    workdir: /src\n"
    )
    assert problems(text, workspace) == [
        "pipelines/ci.yml:5:17: jobs.image.privileged: privileged is only for jobs that run steps",
        "pipelines/ci.yml:6:14: jobs.image.workdir: workdir is only for jobs that run steps",
    ]


def test_delivery_sections_merge_from_anchors(workspace: Path) -> None:
    text = """\
        version: 1
        .deploy: &deploy {package: p, service: web, ports: ["8080:80"]}
        .checks: &checks [{http: "http://127.0.0.1:8080/health"}]
        environments: {staging: , production: }
        jobs:
          p: {stage: package, package: {context: examples/webapp}}
          a: {stage: deploy, needs: [p], deploy: {<<: *deploy, environment: staging}}
          b: {stage: deploy, needs: [p], deploy: {<<: *deploy, environment: production, service: b}}
          va: {stage: verify, needs: [a], verify: {deployment: a, checks: *checks}}
          vb: {stage: verify, needs: [b], verify: {deployment: b, checks: *checks}}
        """
    pipeline = load(text, workspace)
    a, b = (action(pipeline.job(name), Deploy) for name in ("a", "b"))
    assert a == Deploy(environment="staging", package="p", service="web", ports=((8080, 80),))
    assert b == Deploy(environment="production", package="p", service="b", ports=((8080, 80),))
    va, vb = (action(pipeline.job(name), Verify) for name in ("va", "vb"))
    assert va is not None and vb is not None
    assert va.checks == vb.checks == (HealthCheck(kind=CheckKind.HTTP, target=va.checks[0].target),)


# ---------------------------------------------------------------- how problems read


def test_job_kind_problems(workspace: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          a: {{steps: [x], package: {{context: examples/webapp}}}}
          b: {{package: {{context: examples/webapp}}, verify: {{deployment: x, baseline: {{url: "http://a"}}}}}}
          c: {{package: {{context: examples/webapp}}, install: {{run: make}}}}
          d: {{stage: test}}
          e: {{image: python:3.12, package: {{context: examples/webapp}}}}
        """
    assert problems(text, workspace) == [
        "pipelines/ci.yml:4:6: jobs.a: a job runs steps or is one of package/deploy/verify, "
        "not both",
        "pipelines/ci.yml:5:6: jobs.b: set only one of package:, deploy: or verify:",
        "pipelines/ci.yml:6:53: jobs.c.install: install is only for jobs that run steps",
        "pipelines/ci.yml:7:6: jobs.d: missing key 'steps'",
        "pipelines/ci.yml:8:14: jobs.e.image: image is only for jobs that run steps",
    ]


def test_only_jobs_with_steps_need_an_image(workspace: Path) -> None:
    text = """\
        version: 1
        jobs:
          t: {steps: [x]}
          p: {package: {context: examples/webapp}}
        """
    assert problems(text, workspace) == [
        "pipelines/ci.yml:3:3: jobs.t: no image: set jobs.t.image or defaults.image"
    ]


def test_environment_problems(workspace: Path) -> None:
    text = """\
        version: 1
        environments:
          staging: {approval: requird}
          production: {approval: true, env: {1X: a}}
          qa: [x]
          pre prod: {}
          dev: {aproval: none}
        jobs:
          p: {package: {context: examples/webapp}}
          d: {needs: [p], deploy: {environment: qa, package: p, service: web}}
        """
    assert problems(text, workspace) == [
        "pipelines/ci.yml:3:23: environments.staging.approval: expected required or none, "
        "got 'requird' (did you mean 'required'?)",
        "pipelines/ci.yml:4:26: environments.production.approval: expected required or none, "
        "got true",
        "pipelines/ci.yml:4:38: environments.production.env: invalid variable name '1X'; use "
        "letters, digits and _, not starting with a digit",
        "pipelines/ci.yml:5:7: environments.qa: expected a mapping, got a list",
        "pipelines/ci.yml:6:3: environments: invalid environment name 'pre prod'; use letters, "
        "digits, '_', '.' and '-', starting with a letter or digit",
        "pipelines/ci.yml:7:9: environments.dev: unknown key 'aproval' (did you mean 'approval'?)",
    ]


def test_unknown_environments(workspace: Path) -> None:
    text = flow(deploy="environment: stagin, package: p, service: web")
    assert problems(text, workspace) == [
        "pipelines/ci.yml:5:56: jobs.d.deploy.environment: unknown environment 'stagin' "
        "(did you mean 'staging'?); the environments are staging, production"
    ]
    text = flow().replace("environments: {staging: {}, production: {approval: required}}\n", "")
    assert problems(text, workspace) == [
        "pipelines/ci.yml:4:56: jobs.d.deploy.environment: unknown environment 'staging'; "
        "define it in the top-level environments:"
    ]


def test_unreadable_environments_leave_the_deploys_unchecked(workspace: Path) -> None:
    assert problems(flow(environments="[staging]"), workspace) == [
        "pipelines/ci.yml:2:15: environments: expected a mapping, got a list"
    ]


def test_package_context_problems(workspace: Path) -> None:
    text = """\
        version: 1
        jobs:
          a: {package: {context: /abs}}
          b: {package: {context: README.md}}
          c: {package: {context: missing}}
          d: {package: {context: images/web, dockerfile: Nope}}
          e: {package: {context: examples/webapp, dockerfile: ../Dockerfile}}
          f: {package: {dockerfile: Dockerfile, tag: [sha]}}
          g: {package: examples/webapp}
          h: {package: {context: ""}}
        """
    relative = "expected a relative path inside the workspace, without '..'"
    assert problems(text, workspace) == [
        f"pipelines/ci.yml:3:26: jobs.a.package.context: {relative}, got '/abs'",
        "pipelines/ci.yml:4:26: jobs.b.package.context: no directory 'README.md' in the workspace",
        "pipelines/ci.yml:5:26: jobs.c.package.context: no directory 'missing' in the workspace",
        "pipelines/ci.yml:6:50: jobs.d.package.dockerfile: no Nope in 'images/web'",
        f"pipelines/ci.yml:7:55: jobs.e.package.dockerfile: {relative}, got '../Dockerfile'",
        "pipelines/ci.yml:8:16: jobs.f.package: missing key 'context'",
        "pipelines/ci.yml:8:41: jobs.f.package: unknown key 'tag' (did you mean 'tags'?)",
        "pipelines/ci.yml:9:16: jobs.g.package: expected a mapping, got 'examples/webapp'",
        "pipelines/ci.yml:10:26: jobs.h.package.context: must not be empty",
    ]


def test_package_value_problems(workspace: Path) -> None:
    text = f"""\
        version: 1
        jobs:
          a: {{package: {{context: examples/webapp, tags: [sha, lates, sha]}}}}
          b: {{package: {{context: examples/webapp, tags: []}}}}
          c: {{package: {{context: examples/webapp, tags: sha}}}}
          d: {{package: {{context: examples/webapp, tags: [1]}}}}
          e: {{package: {{context: examples/webapp, push: ["localhost/w:v1", w]}}}}
          f: {{package: {{context: examples/webapp, push: [localhost/w, "localhost/w"]}}}}
          g: {{package: {{context: examples/webapp, push: localhost/w}}}}
          h: {{package: {{context: examples/webapp, labels: {{"a b": x, "k=v": y, n: 1, ok: ""}}}}}}
          i: {{package: {{context: examples/webapp, args: {{V: "${{", 1X: a}}}}}}
          j: {{package: {{context: examples/webapp, retry: {{max: 2, delay: 1m}}}}}}
          k: {{package: {{context: examples/webapp, retry: 11}}}}
          m:
            package:
              context: examples/webapp
              push: ["ghcr.io/a/w@{DIGEST}"]
        """
    shape = (
        "expected a registry and repository like 127.0.0.1:5000/webapp or ghcr.io/team/webapp "
        "(a host with a dot, a port or localhost, then a lowercase repository path; no tag or "
        "digest, as the tags come from tags:)"
    )
    tagged = "a push repository takes no tag or digest (the tags come from tags:)"
    assert problems(text, workspace) == [
        "pipelines/ci.yml:3:55: jobs.a.package.tags[1]: unknown tag scheme 'lates' "
        "(did you mean 'latest'?); the schemes are sha, branch, semver, latest",
        "pipelines/ci.yml:3:62: jobs.a.package.tags[2]: 'sha' is listed twice",
        "pipelines/ci.yml:4:49: jobs.b.package.tags: expected at least one of sha, branch, "
        "semver, latest",
        "pipelines/ci.yml:5:49: jobs.c.package.tags: expected a list of strings, got 'sha'",
        "pipelines/ci.yml:6:50: jobs.d.package.tags[0]: expected a string, got 1",
        f"pipelines/ci.yml:7:50: jobs.e.package.push[0]: {tagged}; write 'localhost/w'",
        f"pipelines/ci.yml:7:68: jobs.e.package.push[1]: {shape}, got 'w'",
        "pipelines/ci.yml:8:63: jobs.f.package.push[1]: 'localhost/w' is listed twice",
        "pipelines/ci.yml:9:49: jobs.g.package.push: expected a list of repositories like "
        "127.0.0.1:5000/webapp, got 'localhost/w'",
        "pipelines/ci.yml:10:52: jobs.h.package.labels: invalid label name 'a b'; use no spaces "
        "and no '='",
        "pipelines/ci.yml:10:62: jobs.h.package.labels: invalid label name 'k=v'; use no "
        "spaces and no '='",
        "pipelines/ci.yml:10:75: jobs.h.package.labels.n: expected a string, got 1",
        "pipelines/ci.yml:11:53: jobs.i.package.args.V: unterminated '${'; close it with '}' "
        "(or write $$ for a literal $)",
        "pipelines/ci.yml:11:59: jobs.i.package.args: invalid variable name '1X'; use letters, "
        "digits and _, not starting with a digit",
        "pipelines/ci.yml:12:50: jobs.j.package.retry: max_delay is shorter than delay",
        "pipelines/ci.yml:13:50: jobs.k.package.retry: expected a whole number from 0 to 10, "
        "got 11",
        f"pipelines/ci.yml:17:14: jobs.m.package.push[0]: {tagged}; write 'ghcr.io/a/w'",
    ]


def test_deploy_reference_problems(workspace: Path) -> None:
    text = f"""\
        version: 1
        environments: {{staging: }}
        jobs:
          build: {{stage: build, image: {IMAGE}, steps: [x]}}
          image: {{package: {{context: examples/webapp}}}}
          a: {{needs: [image], deploy: {{environment: staging, package: imag, service: a}}}}
          b: {{needs: [build], deploy: {{environment: staging, package: build, service: b}}}}
          c: {{deploy: {{environment: staging, package: image, service: c}}}}
          d: {{needs: [build], deploy: {{environment: staging, package: image, service: d}}}}
          e: {{needs: [image], deploy: {{environment: staging, package: nothing, service: e}}}}
        """
    needs = "a deploy runs after the package job whose image it deploys"
    assert problems(text, workspace) == [
        "pipelines/ci.yml:6:63: jobs.a.deploy.package: unknown job 'imag' (did you mean 'image'?)",
        "pipelines/ci.yml:7:63: jobs.b.deploy.package: 'build' is not a package job",
        f"pipelines/ci.yml:8:47: jobs.c.deploy.package: add 'image' to this job's needs; {needs}",
        f"pipelines/ci.yml:9:63: jobs.d.deploy.package: add 'image' to this job's needs; {needs}",
        "pipelines/ci.yml:10:63: jobs.e.deploy.package: unknown job 'nothing'",
    ]


def test_deploy_value_problems(workspace: Path) -> None:
    text = """\
        version: 1
        environments: {staging: }
        jobs:
          p: {package: {context: examples/webapp}}
          f: {needs: [p], deploy: {environment: staging, service: "f g", command: ""}}
          g: {needs: [p], deploy: {environmnet: staging, package: p, service: g}}
          h: {needs: [p], deploy: {environment: "", package: p, service: -h}}
          i: {needs: [p], deploy: staging}
        """
    container = (
        "expected a container name (letters, digits, '_', '.' and '-', starting with a letter "
        "or digit)"
    )
    assert problems(text, workspace) == [
        "pipelines/ci.yml:5:27: jobs.f.deploy: missing key 'package'",
        f"pipelines/ci.yml:5:59: jobs.f.deploy.service: {container}, got 'f g'",
        "pipelines/ci.yml:5:75: jobs.f.deploy.command: must not be empty",
        "pipelines/ci.yml:6:27: jobs.g.deploy: missing key 'environment'",
        "pipelines/ci.yml:6:28: jobs.g.deploy: unknown key 'environmnet' "
        "(did you mean 'environment'?)",
        "pipelines/ci.yml:7:41: jobs.h.deploy.environment: must not be empty",
        f"pipelines/ci.yml:7:66: jobs.h.deploy.service: {container}, got '-h'",
        "pipelines/ci.yml:8:27: jobs.i.deploy: expected a mapping, got 'staging'",
    ]


def test_port_problems(workspace: Path) -> None:
    text = """\
        version: 1
        environments: {staging: }
        jobs:
          p: {stage: package, package: {context: examples/webapp}}
          d:
            stage: deploy
            needs: [p]
            deploy:
              environment: staging
              package: p
              service: web
              ports:
                - 22:22
                - 0.0.0.0:8080:80
                - localhost:8081:81
                - "8080"
                - 8080:80/udp
                - 0:80
                - 80:65536
                - "8082:82"
                - 127.0.0.1:8082:83
                - 8082
                - ""
        """
    shape = "expected a port mapping HOST:CONTAINER like '8080:8000', or 127.0.0.1:HOST:CONTAINER"
    where = "pipelines/ci.yml:{}:11: jobs.d.deploy.ports[{}]"
    assert problems(text, workspace) == [
        f"{where.format(13, 0)}: quote this port mapping ('22:22'): unquoted, YAML reads it "
        "as a number",
        f"{where.format(14, 1)}: ports are published on 127.0.0.1 only; write '8080:80'",
        f"{where.format(15, 2)}: ports are published on 127.0.0.1 only; write '8081:81'",
        f"{where.format(16, 3)}: {shape}, got '8080'",
        f"{where.format(17, 4)}: {shape}, got '8080:80/udp'",
        f"{where.format(18, 5)}: expected ports from 1 to 65535, got '0:80'",
        f"{where.format(19, 6)}: expected ports from 1 to 65535, got '80:65536'",
        f"{where.format(21, 8)}: host port 8082 is published twice",
        f"{where.format(22, 9)}: {shape}, got 8082",
        f"{where.format(23, 10)}: must not be empty",
    ]


def test_verify_problems(workspace: Path) -> None:
    text = """\
        version: 1
        environments: {staging: }
        jobs:
          p: {package: {context: examples/webapp}}
          d: {needs: [p], deploy: {environment: staging, package: p, service: web}}
          a: {needs: [d], verify: {deployment: p, checks: [{tcp: "a:1"}]}}
          b: {needs: [p], verify: {deployment: d, baseline: {url: "http://a"}}}
          c: {verify: {deployment: dd, baseline: {url: "http://a"}}}
          e: {needs: [d], verify: {deployment: d}}
          f: {needs: [d], verify: {checks: []}}
          g: {needs: [d], verify: {deployment: d, checks: {http: "http://a"}, baselin: {}}}
        """
    needs = "a verify job runs after the deploy it verifies"
    assert problems(text, workspace) == [
        "pipelines/ci.yml:6:40: jobs.a.verify.deployment: 'p' is not a deploy job",
        f"pipelines/ci.yml:7:40: jobs.b.verify.deployment: add 'd' to this job's needs; {needs}",
        "pipelines/ci.yml:8:28: jobs.c.verify.deployment: unknown job 'dd' (did you mean 'd'?)",
        "pipelines/ci.yml:9:27: jobs.e.verify: nothing to verify: set checks:, baseline: or both",
        "pipelines/ci.yml:10:27: jobs.f.verify: missing key 'deployment'",
        "pipelines/ci.yml:10:36: jobs.f.verify.checks: expected at least one check "
        "(or leave checks: out)",
        "pipelines/ci.yml:11:51: jobs.g.verify.checks: expected a list of checks, got a mapping",
        "pipelines/ci.yml:11:71: jobs.g.verify: unknown key 'baselin' (did you mean 'baseline'?)",
    ]


def test_check_problems(workspace: Path) -> None:
    text = """\
        version: 1
        environments: {staging: }
        jobs:
          p: {stage: package, package: {context: examples/webapp}}
          d: {stage: deploy, needs: [p], deploy: {environment: staging, package: p, service: web}}
          v:
            stage: verify
            needs: [d]
            verify:
              deployment: d
              checks:
                - http://127.0.0.1/
                - {http: "http://a", tcp: "a:1"}
                - {}
                - {htp: "http://a"}
                - http: ftp://a
                - http: [x]
                - http: {url: "http://a", status: 700, body: "(", latency: 0}
                - http: {url: "http://a", deadline: 1s, interval: 2s}
                - http: {status: 200}
                - tcp: localhost
                - tcp: "localhost:0"
                - tcp: {address: "a:1", body: x}
                - command: ""
                - command: {run: x, deadline: soon}
        """
    check = "pipelines/ci.yml:{}:{}: jobs.v.verify.checks[{}]"
    assert problems(text, workspace) == [
        f"{check.format(12, 11, 0)}: expected a check: {{http: URL}}, {{tcp: HOST:PORT}} or "
        "{command: COMMAND}, got 'http://127.0.0.1/'",
        f"{check.format(13, 11, 1)}: set exactly one of http:, tcp: or command:",
        f"{check.format(14, 11, 2)}: set exactly one of http:, tcp: or command:",
        f"{check.format(15, 11, 3)}: set exactly one of http:, tcp: or command:",
        f"{check.format(15, 12, 3)}: unknown key 'htp' (did you mean 'http'?)",
        f"{check.format(16, 17, 4)}.http: expected a URL starting with http:// or https://, "
        "got 'ftp://a'",
        f"{check.format(17, 17, 5)}.http: expected a URL or a mapping with url:, got a list",
        f"{check.format(18, 43, 6)}.http.status: expected a whole number from 100 to 599, got 700",
        f"{check.format(18, 54, 6)}.http.body: invalid regular expression: missing ), "
        "unterminated subpattern at position 0",
        f"{check.format(18, 68, 6)}.http.latency: expected a duration like 90s, 10m or 1h30m, "
        "got 0",
        f"{check.format(19, 17, 7)}.http: interval is longer than deadline",
        f"{check.format(20, 17, 8)}.http: missing key 'url'",
        f"{check.format(21, 16, 9)}.tcp: expected an address HOST:PORT like 127.0.0.1:8080, "
        "got 'localhost'",
        f"{check.format(22, 16, 10)}.tcp: expected an address whose port is from 1 to 65535, "
        "got 'localhost:0'",
        f"{check.format(23, 33, 11)}.tcp: unknown key 'body'",
        f"{check.format(24, 20, 12)}.command: must not be empty",
        f"{check.format(25, 39, 13)}.command.deadline: expected a duration like 90s, 10m or "
        "1h30m, got 'soon'",
    ]


def test_baseline_problems(workspace: Path) -> None:
    text = flow(
        verify="deployment: d, baseline: {url: '127.0.0.1:8080', requests: 0, p50: 1s, "
        "p95: 100ms, error_rate: 1.5}"
    )
    assert problems(text, workspace) == [
        "pipelines/ci.yml:6:68: jobs.v.verify.baseline: the p50 budget is above the p95 budget",
        "pipelines/ci.yml:6:74: jobs.v.verify.baseline.url: expected a URL starting with "
        "http:// or https://, got '127.0.0.1:8080'",
        "pipelines/ci.yml:6:102: jobs.v.verify.baseline.requests: expected a whole number from 1 "
        "to 10000, got 0",
        "pipelines/ci.yml:6:138: jobs.v.verify.baseline.error_rate: expected a share of failed "
        "requests from 0 to 1, like 0.01, got 1.5",
    ]
    text = flow(verify="deployment: d, baseline: {requests: 10001, error_rate: '1%'}")
    assert problems(text, workspace) == [
        "pipelines/ci.yml:6:68: jobs.v.verify.baseline: missing key 'url'",
        "pipelines/ci.yml:6:79: jobs.v.verify.baseline.requests: expected a whole number from 1 "
        "to 10000, got 10001",
        "pipelines/ci.yml:6:98: jobs.v.verify.baseline.error_rate: expected a share of failed "
        "requests from 0 to 1, like 0.01, got '1%'",
    ]


def test_artifact_problems(workspace: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          a: {{steps: [x], artifacts: [/dist, ../x, a/../../b, ".", "./", dist/, dist, "", 3]}}
          b: {{steps: [x], artifacts: dist}}
        """
    relative = "expected a relative path inside the workspace, without '..'"
    whole = "an artifact is a file or directory in the workspace, not all of it"
    assert problems(text, workspace) == [
        f"pipelines/ci.yml:4:31: jobs.a.artifacts[0]: {relative}, got '/dist'",
        f"pipelines/ci.yml:4:38: jobs.a.artifacts[1]: {relative}, got '../x'",
        f"pipelines/ci.yml:4:44: jobs.a.artifacts[2]: {relative}, got 'a/../../b'",
        f"pipelines/ci.yml:4:55: jobs.a.artifacts[3]: {whole}",
        f"pipelines/ci.yml:4:60: jobs.a.artifacts[4]: {whole}",
        "pipelines/ci.yml:4:73: jobs.a.artifacts[6]: 'dist' is listed twice",
        "pipelines/ci.yml:4:79: jobs.a.artifacts[7]: must not be empty",
        "pipelines/ci.yml:4:83: jobs.a.artifacts[8]: expected a string, got 3",
        "pipelines/ci.yml:5:30: jobs.b.artifacts: expected a list of paths relative to the "
        "workspace, got 'dist'",
    ]


def test_broken_jobs_are_not_reported_again_where_they_are_named(workspace: Path) -> None:
    """A package or deploy with problems, or a job that is no mapping, is still its kind."""
    text = """\
        version: 1
        environments: {staging: }
        jobs:
          p: {stage: package, package: examples/webapp}
          d: {stage: deploy, needs: [p], deploy: {environment: staging, package: p, service: "a b"}}
          v: {stage: verify, needs: [d], verify: {deployment: d, baseline: {url: "http://a"}}}
          q: [x]
          e: {stage: deploy, needs: [q], deploy: {environment: staging, package: q, service: e}}
        """
    assert problems(text, workspace) == [
        "pipelines/ci.yml:4:32: jobs.p.package: expected a mapping, got 'examples/webapp'",
        "pipelines/ci.yml:5:86: jobs.d.deploy.service: expected a container name (letters, "
        "digits, '_', '.' and '-', starting with a letter or digit), got 'a b'",
        "pipelines/ci.yml:7:6: jobs.q: expected a mapping, got a list",
    ]


def test_delivery_problems_are_collected_with_the_rest(workspace: Path) -> None:
    text = """\
        version: 1
        environments: {staging: {approval: maybe}}
        jobs:
          p: {stage: package, package: {context: examples/webapp, tags: [sha1]}, timeout: soon}
          d: {stage: deploy, needs: [p, x], deploy: {environment: staging, package: p, service: w}}
        """
    assert problems(text, workspace) == [
        "pipelines/ci.yml:2:36: environments.staging.approval: expected required or none, "
        "got 'maybe'",
        "pipelines/ci.yml:4:66: jobs.p.package.tags[0]: unknown tag scheme 'sha1' "
        "(did you mean 'sha'?); the schemes are sha, branch, semver, latest",
        "pipelines/ci.yml:4:83: jobs.p.timeout: expected a duration like 90s, 10m or 1h30m, "
        "got 'soon'",
        "pipelines/ci.yml:5:33: jobs.d.needs[1]: unknown job 'x'",
    ]


def test_when_and_a_deploy_of_an_image_on_the_host_network_are_read(tmp_path: Path) -> None:
    text = (
        "version: 1\nenvironments: {it: {}}\njobs:\n"
        "  up:\n    when: manual\n    deploy: {environment: it,"
        " image: '${DOCKSTEP_UPSTREAM_IMAGE}', service: svc, network: host}\n"
    )
    job = load_pipeline_text(text, file="ci.yml", workspace=tmp_path).job("up")
    assert job.manual
    assert isinstance(job.action, Deploy)
    assert (job.action.image, job.action.host_network, job.action.package) == (
        "${DOCKSTEP_UPSTREAM_IMAGE}",
        True,
        "",
    )


def test_when_network_and_image_problems_are_reported_in_place(tmp_path: Path) -> None:
    text = (
        "version: 1\nenvironments: {it: {}}\njobs:\n"
        "  up:\n    when: manul\n    deploy: {environment: it, image: x, package: p,"
        " service: svc, network: host, ports: ['8080:80']}\n"
    )
    with pytest.raises(PipelineInvalid) as raised:
        load_pipeline_text(text, file="ci.yml", workspace=tmp_path)
    messages = [p.message for p in raised.value.problems]
    assert "expected one of manual, always, got 'manul' (did you mean 'manual'?)" in messages
    assert "set one of package: (a package job) or image: (a reference)" in messages
    assert "network: host publishes no ports" in messages
