"""The loader, judged by what a user sees: the model it builds and the problems it prints."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import EXIT_INVALID, PipelineInvalid
from runner.format.fields import parse_duration
from runner.format.load import load_pipeline
from runner.model.pipeline import (
    DEFAULT_STAGES,
    BuildSpec,
    CacheSpec,
    ImageRef,
    Position,
    PullPolicy,
    Resources,
    RetryPolicy,
    Secret,
)
from tests.unit.pipelines import FILE, load, problems, steps_of

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"python:3.12@{DIGEST}"


def one_job(body: str, *, top: str = "") -> str:
    """A pipeline with the given top-level keys and one job `test` whose keys are `body`."""
    job = textwrap.indent(textwrap.dedent(body), "    ")
    return f"version: 1\n{textwrap.dedent(top)}jobs:\n  test:\n{job}"


def build_dir(workspace: Path, name: str = "python") -> Path:
    directory = workspace / "images" / name
    directory.mkdir(parents=True)
    (directory / "Dockerfile").write_text("FROM scratch\n")
    return directory


# ---------------------------------------------------------------- the happy path


def test_minimal_pipeline_gets_every_default(tmp_path: Path) -> None:
    pipeline = load(
        f"""\
        version: 1
        jobs:
          test:
            image: {IMAGE}
            steps:
              - pytest -q
        """,
        tmp_path,
    )
    assert (pipeline.path, pipeline.name, pipeline.version) == (FILE, "ci", 1)
    assert pipeline.stages == DEFAULT_STAGES
    assert (pipeline.env, pipeline.triggers, pipeline.secrets, pipeline.warnings) == (
        (),
        (),
        (),
        (),
    )
    job = pipeline.job("test")
    assert (job.stage, steps_of(job).image, job.needs) == ("test", ImageRef(reference=IMAGE), None)
    assert (steps_of(job).workdir, steps_of(job).pull, job.timeout, job.condition) == (
        "/workspace",
        PullPolicy.IF_NOT_PRESENT,
        None,
        None,
    )
    assert job.stop_grace == 10.0
    assert (job.allow_failure, steps_of(job).privileged, steps_of(job).docker_socket) == (
        False,
        False,
        False,
    )
    assert steps_of(job).resources == Resources()
    assert (steps_of(job).install, steps_of(job).cache) == (None, CacheSpec())
    assert job.position == Position(file=FILE, line=3, column=3)
    (step,) = steps_of(job).steps
    assert (step.name, step.run, step.retry, step.timeout, step.workdir) == (
        "pytest -q",
        "pytest -q",
        RetryPolicy(),
        None,
        None,
    )
    assert step.position == Position(file=FILE, line=6, column=9)


def test_every_key_is_read(tmp_path: Path) -> None:
    build_dir(tmp_path)
    pipeline = load(
        f"""\
        version: 1
        name: release
        stages: [build, check]
        env: {{PYTHON: 3.10, DEBUG: true, WORKERS: 4, GREETING: "hi ${{USER:-you}}"}}
        jobs:
          image:
            stage: build
            image:
              build: images/python
              dockerfile: Dockerfile
              args: {{VERSION: "${{PYTHON}}"}}
              target: runtime
            steps: [make image]
          check:
            stage: check
            needs: [image]
            image: {IMAGE}
            env: {{LEVEL: job}}
            timeout: 1h30m
            stop_grace: 0
            allow_failure: true
            if: branch == 'main' && $DEPLOY
            resources: {{memory: 512m, cpus: 1.5, pids: 256}}
            privileged: true
            docker_socket: true
            workdir: /src/
            pull: always
            steps:
              - name: unit tests
                run: pytest
                env: {{LEVEL: step}}
                timeout: 90s
                retry: {{max: 2, delay: 5s, backoff: 3, max_delay: 1m}}
                allow_failure: true
                workdir: tests
        """,
        tmp_path,
    )
    assert pipeline.name == "release"
    assert pipeline.stages == ("build", "check")
    assert pipeline.env == (
        ("DEBUG", "true"),
        ("GREETING", "hi ${USER:-you}"),
        ("PYTHON", "3.10"),
        ("WORKERS", "4"),
    )
    image = steps_of(pipeline.job("image")).image
    assert image == ImageRef(
        build=BuildSpec(
            context="images/python",
            dockerfile="Dockerfile",
            args=(("VERSION", "${PYTHON}"),),
            target="runtime",
        )
    )
    check = pipeline.job("check")
    assert (check.stage, check.needs, check.env, check.timeout, check.stop_grace) == (
        "check",
        ("image",),
        (("LEVEL", "job"),),
        5400.0,
        0.0,
    )
    assert (check.allow_failure, steps_of(check).privileged, steps_of(check).docker_socket) == (
        True,
        True,
        True,
    )
    assert check.condition == "branch == 'main' && $DEPLOY"
    assert steps_of(check).resources == Resources(memory=512 * 1024**2, cpus=1.5, pids=256)
    assert (steps_of(check).workdir, steps_of(check).pull) == ("/src", PullPolicy.ALWAYS)
    (step,) = steps_of(check).steps
    assert (step.name, step.env, step.timeout, step.allow_failure, step.workdir) == (
        "unit tests",
        (("LEVEL", "step"),),
        90.0,
        True,
        "/src/tests",
    )
    assert step.retry == RetryPolicy(max_retries=2, delay=5.0, backoff=3.0, max_delay=60.0)


def test_defaults_apply_where_a_job_or_step_sets_nothing(tmp_path: Path) -> None:
    other = "alpine@" + DIGEST
    pipeline = load(
        f"""\
        version: 1
        defaults:
          image: {IMAGE}
          timeout: 10m
          retry: 2
          workdir: /code
          pull: never
        jobs:
          plain:
            steps: [make]
          own:
            image: {other}
            timeout: 30s
            workdir: /elsewhere
            pull: always
            steps:
              - run: make
                retry: 0
        """,
        tmp_path,
    )
    plain, own = pipeline.jobs
    assert (
        steps_of(plain).image.reference,
        plain.timeout,
        steps_of(plain).workdir,
        steps_of(plain).pull,
    ) == (
        IMAGE,
        600.0,
        "/code",
        PullPolicy.NEVER,
    )
    assert steps_of(plain).steps[0].retry == RetryPolicy(max_retries=2)
    assert (
        steps_of(own).image.reference,
        own.timeout,
        steps_of(own).workdir,
        steps_of(own).pull,
    ) == (
        other,
        30.0,
        "/elsewhere",
        PullPolicy.ALWAYS,
    )
    assert steps_of(own).steps[0].retry == RetryPolicy(max_retries=0)


def test_step_name_defaults_to_first_line_of_run_cut_to_40(tmp_path: Path) -> None:
    pipeline = load(
        one_job(
            f"""\
            image: {IMAGE}
            steps:
              - run: |

                  python -m pytest --cov=runner --cov-report=term-missing tests/unit
                  echo done
              - echo short
            """
        ),
        tmp_path,
    )
    long, short = steps_of(pipeline.job("test")).steps
    assert long.name == "python -m pytest --cov=runner --cov-repo"
    assert len(long.name) == 40
    assert long.run.startswith("\npython -m pytest")
    assert short.name == short.run == "echo short"


def test_stage_defaults_to_the_first_stage_without_a_test_stage(tmp_path: Path) -> None:
    text = one_job(f"image: {IMAGE}\nsteps: [x]\n", top="stages: [lint, ship]\n")
    assert load(text, tmp_path).job("test").stage == "lint"


def test_jobs_keep_file_order(tmp_path: Path) -> None:
    text = f"version: 1\ndefaults: {{image: {IMAGE}}}\njobs:\n"
    text += "".join(f"  {name}: {{steps: [x]}}\n" for name in ("zeta", "alpha", "mid"))
    assert [job.name for job in load(text, tmp_path).jobs] == ["zeta", "alpha", "mid"]


def test_yaml_anchors_and_merge_keys(tmp_path: Path) -> None:
    pipeline = load(
        f"""\
        version: 1
        jobs:
          unit:
            image: &image {IMAGE}
            env: &env {{A: "1", B: "2"}}
            steps: [pytest]
          lint:
            image: *image
            env:
              <<: *env
              B: overridden
            steps: [ruff check]
        """,
        tmp_path,
    )
    lint = pipeline.job("lint")
    assert steps_of(lint).image.reference == IMAGE
    assert lint.env == (("A", "1"), ("B", "overridden"))


def test_load_pipeline_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pipelines" / "nightly.yaml"
    path.parent.mkdir()
    path.write_text(one_job(f"image: {IMAGE}\nsteps: [x]\n"))
    pipeline = load_pipeline(path, workspace=tmp_path)
    assert (pipeline.path, pipeline.name) == (str(path), "nightly")


def test_unreadable_file_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(PipelineInvalid) as caught:
        load_pipeline(missing, workspace=tmp_path)
    assert str(caught.value) == f"{missing}:1:1: cannot read: No such file or directory"


# ---------------------------------------------------------------- how problems read


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    text = one_job(f"image: {IMAGE}\nsteps: [x]\nalow_failure: true\n")
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:6:5: jobs.test: unknown key 'alow_failure' "
        "(did you mean 'allow_failure'?)"
    ]


def test_every_problem_is_collected(tmp_path: Path) -> None:
    text = """\
        version: 1
        jobs:
          test:
            image: python:3.12
            setps: [pytest]
            timeout: abc
        """
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:4:5: jobs.test: missing key 'steps'",
        "pipelines/ci.yml:4:12: jobs.test.image: floating tag 'python:3.12'; pin it as "
        "python:3.12@sha256:<digest> or build it from a Dockerfile with "
        "image: {build: images/<dir>}",
        "pipelines/ci.yml:5:5: jobs.test: unknown key 'setps' (did you mean 'steps'?)",
        "pipelines/ci.yml:6:14: jobs.test.timeout: expected a duration like 90s, 10m or 1h30m, "
        "got 'abc'",
    ]


def test_three_mistakes_in_three_jobs_give_three_problems(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          a: {{steps: [x], stage: tset}}
          b: {{steps: [x], retry: 2}}
          c: {{steps: [x], privileged: yes}}
        """
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:4:26: jobs.a.stage: unknown stage 'tset' (did you mean 'test'?); "
        "the stages are build, test, package, deploy, verify",
        "pipelines/ci.yml:5:19: jobs.b: retry is set on steps, or for all steps in defaults.retry",
        "pipelines/ci.yml:6:31: jobs.c.privileged: expected true or false, got 'yes'",
    ]


def test_render_counts_the_problems(tmp_path: Path) -> None:
    with pytest.raises(PipelineInvalid) as caught:
        load("version: 1\njobs: {}\n", tmp_path)
    assert caught.value.exit_code == EXIT_INVALID
    assert caught.value.render() == (
        "pipelines/ci.yml:2:7: jobs: expected at least one job\n"
        "1 problem: the pipeline was not run."
    )


def test_duplicate_job_is_reported_at_the_second_one(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          test: {{steps: [a]}}
          lint: {{steps: [b]}}
          test: {{steps: [c]}}
        """
    assert problems(text, tmp_path) == ["pipelines/ci.yml:6:3: jobs: duplicate key 'test'"]


def test_duplicate_keys_inside_a_job(tmp_path: Path) -> None:
    text = one_job(f"image: {IMAGE}\nsteps: [x]\nsteps: [y]\n")
    assert problems(text, tmp_path) == ["pipelines/ci.yml:6:5: jobs.test: duplicate key 'steps'"]


def test_yaml_syntax_error_is_one_problem_at_the_parser_mark(tmp_path: Path) -> None:
    text = "version: 1\njobs:\n  test:\n    steps: [a, b\n    image: x\n"
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:5:10: invalid YAML: while parsing a flow sequence, "
        "expected ',' or ']', but got ':'"
    ]


def test_control_characters_are_reported_where_they_are(tmp_path: Path) -> None:
    text = "version: 1\njobs:\n  t: {steps: [\x07]}\n"
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:3:15: invalid YAML: unacceptable character #x0007: "
        "special characters are not allowed"
    ]


def test_several_documents_are_refused(tmp_path: Path) -> None:
    assert problems("version: 1\n---\njobs: {}\n", tmp_path) == [
        "pipelines/ci.yml:2:1: invalid YAML: expected a single document in the stream, "
        "but found another document"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "",
            "pipelines/ci.yml:1:1: the file is empty; a pipeline needs at least "
            "version: 1 and jobs:",
        ),
        ("- a\n- b\n", "pipelines/ci.yml:1:1: expected a mapping, got a list"),
        ("jobs", "pipelines/ci.yml:1:1: expected a mapping, got 'jobs'"),
    ],
)
def test_a_file_that_is_not_a_pipeline(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(text, tmp_path) == [expected]


def test_version_and_jobs_are_required(tmp_path: Path) -> None:
    assert problems("name: x\n", tmp_path) == [
        "pipelines/ci.yml:1:1: missing key 'jobs'",
        "pipelines/ci.yml:1:1: missing key 'version'",
    ]


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2", "unsupported version 2; this dockstep reads version 1"),
        ('"1"', "expected version: 1, got '1'"),
        ("1.0", "expected version: 1, got 1.0"),
    ],
)
def test_version_must_be_1(tmp_path: Path, version: str, message: str) -> None:
    text = f"version: {version}\njobs: {{t: {{image: {IMAGE}, steps: [x]}}}}\n"
    assert problems(text, tmp_path) == [f"pipelines/ci.yml:1:10: version: {message}"]


def test_wrong_types_say_what_was_expected(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        needs: {{build: true}}
        env: [A, B]
        steps: run tests
        """
    )
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:5:12: jobs.test.needs: expected a list of strings, got a mapping",
        "pipelines/ci.yml:6:10: jobs.test.env: expected a mapping, got a list",
        "pipelines/ci.yml:7:12: jobs.test.steps: expected a list of steps, got 'run tests'",
    ]


def test_yaml_1_1_booleans_are_strings(tmp_path: Path) -> None:
    text = one_job(
        f"image: {IMAGE}\nsteps: [x]\nallow_failure: on\nenv: {{COUNTRY: NO}}\n",
        top="on: [push]\n",
    )
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:7:20: jobs.test.allow_failure: expected true or false, got 'on'"
    ]


def test_invalid_job_name(tmp_path: Path) -> None:
    text = f"version: 1\njobs:\n  my job:\n    image: {IMAGE}\n    steps: [x]\n"
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:3:3: jobs: invalid job name 'my job'; use letters, digits, '_', '.' "
        "and '-', starting with a letter or digit (it becomes part of container names)"
    ]


def test_steps_must_be_present_and_non_empty(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          empty: {{steps: []}}
          blank: {{steps: ["  "]}}
          norun: {{steps: [{{name: x}}]}}
          number: {{steps: [42]}}
        """
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:4:18: jobs.empty.steps: expected at least one step",
        "pipelines/ci.yml:5:19: jobs.blank.steps[0]: must not be empty",
        "pipelines/ci.yml:6:19: jobs.norun.steps[0]: missing key 'run'",
        "pipelines/ci.yml:7:20: jobs.number.steps[0]: expected a command or a mapping with run:, "
        "got 42",
    ]


# ---------------------------------------------------------------- durations, retry, resources


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("1h30m15s", 5415.0),
        ("2h", 7200.0),
        ("500ms", 0.5),
        ("1.5s", 1.5),
        ("1m500ms", 60.5),
        ("45", 45.0),
        (" 10m ", 600.0),
        ("0s", 0.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "10x", "m", "ms", "30m1h", "1h 30m", "-5s", "1.s"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("90", 90.0), ("2.5", 2.5), ("90s", 90.0), ("10m", 600.0), ("1h30m", 5400.0), ("500ms", 0.5)],
)
def test_timeout_values(tmp_path: Path, value: str, seconds: float) -> None:
    text = one_job(f"image: {IMAGE}\ntimeout: {value}\nsteps: [x]\n")
    assert load(text, tmp_path).job("test").timeout == seconds


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0", "0"),
        ("-5", "-5"),
        ("abc", "'abc'"),
        ("'0s'", "'0s'"),
        ("[1]", "a list"),
        ("", "nothing"),
    ],
)
def test_bad_timeouts(tmp_path: Path, value: str, shown: str) -> None:
    text = one_job(f"image: {IMAGE}\ntimeout: {value}\nsteps: [x]\n")
    (problem,) = problems(text, tmp_path)
    assert problem.endswith(
        f"jobs.test.timeout: expected a duration like 90s, 10m or 1h30m, got {shown}"
    )


def test_retry_forms(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        steps:
          - {{run: a, retry: 3}}
          - {{run: b, retry: {{max: 1}}}}
          - {{run: c, retry: {{max: 2, delay: 0, backoff: 1, max_delay: 10s}}}}
        """
    )
    retries = [step.retry for step in steps_of(load(text, tmp_path).job("test")).steps]
    assert retries == [
        RetryPolicy(max_retries=3),
        RetryPolicy(max_retries=1),
        RetryPolicy(max_retries=2, delay=0.0, backoff=1.0, max_delay=10.0),
    ]
    assert retries[0].attempts == 4


def test_bad_retries(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        steps:
          - {{run: a, retry: 11}}
          - {{run: b, retry: {{delay: 5s}}}}
          - {{run: c, retry: {{max: 1, backoff: 0.5, delay: 2m, max_delay: 1m}}}}
          - {{run: d, retry: always}}
        """
    )
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:6:25: jobs.test.steps[0].retry: expected a whole number from 0 to 10, "
        "got 11",
        "pipelines/ci.yml:7:25: jobs.test.steps[1].retry: missing key 'max'",
        "pipelines/ci.yml:8:25: jobs.test.steps[2].retry: max_delay is shorter than delay",
        "pipelines/ci.yml:8:43: jobs.test.steps[2].retry.backoff: expected a backoff factor of "
        "1 or more, got 0.5",
        "pipelines/ci.yml:9:25: jobs.test.steps[3].retry: expected a number of retries "
        "(0 to 10) or a mapping, got 'always'",
    ]


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("512m", 512 * 1024**2),
        ("2g", 2 * 1024**3),
        ("2G", 2 * 1024**3),
        ("1GiB", 1024**3),
        ("1.5g", int(1.5 * 1024**3)),
        ("8192k", 8 * 1024**2),
        ("1t", 1024**4),
        ("67108864", 64 * 1024**2),
        ("'67108864'", 64 * 1024**2),
        ("'10000000b'", 10_000_000),
    ],
)
def test_memory_sizes(tmp_path: Path, value: str, size: int) -> None:
    text = one_job(f"image: {IMAGE}\nresources: {{memory: {value}}}\nsteps: [x]\n")
    assert steps_of(load(text, tmp_path).job("test")).resources.memory == size


def test_bad_resources(tmp_path: Path) -> None:
    text = one_job(
        f"image: {IMAGE}\nsteps: [x]\nresources: {{memory: 1m, cpus: 0, pids: 1.5, gpus: 1}}\n"
    )
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:6:25: jobs.test.resources.memory: expected a memory size of at least "
        "6m, like 512m or 2g, got '1m'",
        "pipelines/ci.yml:6:35: jobs.test.resources.cpus: expected a number of CPUs greater "
        "than 0, like 1.5, got 0",
        "pipelines/ci.yml:6:44: jobs.test.resources.pids: expected a whole number of at least 1, "
        "got 1.5",
        "pipelines/ci.yml:6:49: jobs.test.resources: unknown key 'gpus' (did you mean 'cpus'?)",
    ]


def test_workdirs(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        workdir: relative
        pull: sometimes
        steps: [x]
        """
    )
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:5:14: jobs.test.workdir: expected an absolute path like /workspace, "
        "got 'relative'",
        "pipelines/ci.yml:6:11: jobs.test.pull: expected one of if-not-present, always, never, "
        "got 'sometimes'",
    ]


def test_step_workdir_is_resolved_against_the_job_workdir(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        workdir: /app
        steps:
          - {{run: a, workdir: sub/dir}}
          - {{run: b, workdir: ../up}}
          - {{run: c, workdir: /abs}}
        """
    )
    steps = steps_of(load(text, tmp_path).job("test")).steps
    assert [step.workdir for step in steps] == ["/app/sub/dir", "/up", "/abs"]


# ---------------------------------------------------------------- env


def test_env_values_are_stringified_as_written(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        steps: [x]
        env:
          VERSION: 3.10
          PORT: 8080
          HEX: 0x1F
          ON: true
          OFF: False
          TEXT: "quoted"
          EMPTY: ''
        """
    )
    assert dict(load(text, tmp_path).job("test").env) == {
        "VERSION": "3.10",
        "PORT": "8080",
        "HEX": "0x1F",
        "ON": "true",
        "OFF": "false",
        "TEXT": "quoted",
        "EMPTY": "",
    }


def test_bad_env(tmp_path: Path) -> None:
    text = one_job(
        f"""\
        image: {IMAGE}
        steps: [x]
        env:
          MY-VAR: x
          1ST: y
          UNSET:
          NESTED: {{a: b}}
          BROKEN: "${{HOME"
        """
    )
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:7:7: jobs.test.env: invalid variable name 'MY-VAR'; use letters, "
        "digits and _, not starting with a digit",
        "pipelines/ci.yml:8:7: jobs.test.env: invalid variable name '1ST'; use letters, digits "
        "and _, not starting with a digit",
        "pipelines/ci.yml:9:13: jobs.test.env.UNSET: expected a string, number or boolean "
        "(write '' for empty), got nothing",
        "pipelines/ci.yml:10:15: jobs.test.env.NESTED: expected a string, number or boolean "
        "(write '' for empty), got a mapping",
        "pipelines/ci.yml:11:15: jobs.test.env.BROKEN: unterminated '${HOME'; close it with '}' "
        "(or write $$ for a literal $)",
    ]


# ---------------------------------------------------------------- images


@pytest.mark.parametrize(
    "reference",
    [
        f"python@{DIGEST}",
        f"python:3.12-slim@{DIGEST}",
        f"ghcr.io/owner/tool:v1.2.3@{DIGEST}",
        f"localhost:5000/team/app@{DIGEST}",
        DIGEST,
    ],
)
def test_pinned_images_are_accepted(tmp_path: Path, reference: str) -> None:
    text = one_job(f"image: {reference}\nsteps: [x]\n")
    assert steps_of(load(text, tmp_path).job("test")).image == ImageRef(reference=reference)


def test_unpinned_image_is_refused(tmp_path: Path) -> None:
    text = one_job("image: python:3.12\nsteps: [x]\n")
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:4:12: jobs.test.image: floating tag 'python:3.12'; pin it as "
        "python:3.12@sha256:<digest> or build it from a Dockerfile with "
        "image: {build: images/<dir>}"
    ]


def test_unpinned_image_is_allowed_with_a_warning(tmp_path: Path) -> None:
    text = one_job("image: python:3.12\nsteps: [x]\n")
    pipeline = load(text, tmp_path, allow_unpinned=True)
    assert steps_of(pipeline.job("test")).image == ImageRef(reference="python:3.12", pinned=False)
    assert pipeline.warnings == (
        "pipelines/ci.yml:4:12: jobs.test.image: floating tag 'python:3.12' is not pinned, so "
        "runs may differ; pin it as python:3.12@sha256:<digest> or build it from a Dockerfile",
    )


def test_unpinned_default_image_warns_once(tmp_path: Path) -> None:
    text = "version: 1\ndefaults: {image: alpine}\njobs:\n  a: {steps: [x]}\n  b: {steps: [y]}\n"
    pipeline = load(text, tmp_path, allow_unpinned=True)
    assert len(pipeline.warnings) == 1
    assert {steps_of(job).image.pinned for job in pipeline.jobs} == {False}


@pytest.mark.parametrize(
    "reference", ["Python:3", "python@sha256:abc", "python:3.12 slim", "-python", "a:b:c"]
)
def test_malformed_image_references(tmp_path: Path, reference: str) -> None:
    text = one_job(f"image: '{reference}'\nsteps: [x]\n")
    assert problems(text, tmp_path, allow_unpinned=True) == [
        "pipelines/ci.yml:4:12: jobs.test.image: expected an image reference like "
        f"name:tag@sha256:<64 hex digits>, got '{reference}'"
    ]


def test_job_without_any_image(tmp_path: Path) -> None:
    assert problems(one_job("steps: [x]\n"), tmp_path) == [
        "pipelines/ci.yml:3:3: jobs.test: no image: set jobs.test.image or defaults.image"
    ]


def test_build_image_shorthand_defaults(tmp_path: Path) -> None:
    build_dir(tmp_path)
    text = one_job("image: {build: ./images/python/}\nsteps: [x]\n")
    assert steps_of(load(text, tmp_path).job("test")).image == ImageRef(
        build=BuildSpec(context="images/python")
    )


def test_build_context_must_exist_and_hold_the_dockerfile(tmp_path: Path) -> None:
    build_dir(tmp_path)
    (tmp_path / "images" / "bare").mkdir()
    text = """\
        version: 1
        jobs:
          a: {image: {build: images/missing}, steps: [x]}
          b: {image: {build: images/bare}, steps: [x]}
          c: {image: {build: images/python, dockerfile: Other.dockerfile}, steps: [x]}
          d: {image: {build: ../outside}, steps: [x]}
          e: {image: {build: /abs}, steps: [x]}
          f: {image: {dockerfile: Dockerfile}, steps: [x]}
          g: {image: {build: images/python, args: {V: "${"}}, steps: [x]}
          h: {image: [python], steps: [x]}
        """
    relative = "expected a relative path inside the workspace, without '..'"
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:3:22: jobs.a.image.build: no directory 'images/missing' in the workspace",
        "pipelines/ci.yml:4:22: jobs.b.image.build: no Dockerfile in 'images/bare'",
        "pipelines/ci.yml:5:49: jobs.c.image.dockerfile: no Other.dockerfile in 'images/python'",
        f"pipelines/ci.yml:6:22: jobs.d.image.build: {relative}, got '../outside'",
        f"pipelines/ci.yml:7:22: jobs.e.image.build: {relative}, got '/abs'",
        "pipelines/ci.yml:8:14: jobs.f.image: missing key 'build'",
        "pipelines/ci.yml:9:47: jobs.g.image.args.V: unterminated '${'; close it with '}' "
        "(or write $$ for a literal $)",
        "pipelines/ci.yml:10:14: jobs.h.image: expected a pinned image reference or a mapping "
        "{build: <dir>}, got a list",
    ]


def test_build_context_symlinked_out_of_the_workspace(tmp_path: Path) -> None:
    workspace, outside = tmp_path / "ws", tmp_path / "outside"
    build_dir(outside)
    workspace.mkdir()
    (workspace / "images").symlink_to(outside / "images")
    text = one_job("image: {build: images/python}\nsteps: [x]\n")
    (problem,) = problems(text, workspace)
    assert problem.endswith("jobs.test.image.build: no directory 'images/python' in the workspace")


# ---------------------------------------------------------------- stages and needs


def test_needs_are_checked(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          build: {{stage: build, steps: [x]}}
          test: {{needs: [biuld, test, deploy, build, build], steps: [x]}}
          deploy: {{stage: deploy, needs: [test], steps: [x]}}
        """
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:5:18: jobs.test.needs[0]: unknown job 'biuld' (did you mean 'build'?)",
        "pipelines/ci.yml:5:25: jobs.test.needs[1]: a job cannot need itself",
        "pipelines/ci.yml:5:31: jobs.test.needs[2]: 'deploy' runs in a later stage; a job can "
        "only need jobs of its own or earlier stages",
        "pipelines/ci.yml:5:46: jobs.test.needs[4]: 'build' is listed twice",
    ]


def test_needs_in_the_same_and_earlier_stages(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          compile: {{stage: build, steps: [x]}}
          unit: {{steps: [x], needs: []}}
          e2e: {{steps: [x], needs: [compile, unit]}}
        """
    pipeline = load(text, tmp_path)
    assert [job.needs for job in pipeline.jobs] == [None, (), ("compile", "unit")]


def test_a_cycle_is_one_problem_naming_it(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        defaults: {{image: {IMAGE}}}
        jobs:
          a: {{needs: [c], steps: [x]}}
          b: {{needs: [a], steps: [x]}}
          c: {{needs: [b], steps: [x]}}
        """
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:4:15: jobs.a.needs[0]: dependency cycle: a -> c -> b -> a"
    ]


def test_custom_stages(tmp_path: Path) -> None:
    text = f"""\
        version: 1
        stages: [lint, lint, 3]
        defaults: {{image: {IMAGE}}}
        jobs:
          a: {{stage: lnt, steps: [x]}}
        """
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:2:22: stages[2]: expected a string, got 3",
        "pipelines/ci.yml:5:14: jobs.a.stage: unknown stage 'lnt'; the stages are build, test, "
        "package, deploy, verify",
    ]
    text = text.replace(", 3]", "]")
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:2:16: stages[1]: duplicate stage 'lint'",
        "pipelines/ci.yml:5:14: jobs.a.stage: unknown stage 'lnt' (did you mean 'lint'?); "
        "the stages are lint",
    ]


# ---------------------------------------------------------------- if:


@pytest.mark.parametrize(
    ("value", "column"),
    [
        ("branch = 'main'", 16),  # plain: the value starts at column 9
        ("\"branch = 'main'\"", 17),  # quoted: one more for the opening quote
    ],
)
def test_condition_errors_point_into_the_expression(
    tmp_path: Path, value: str, column: int
) -> None:
    text = one_job(f"image: {IMAGE}\nsteps: [x]\nif: {value}\n")
    assert problems(text, tmp_path) == [
        f"pipelines/ci.yml:6:{column}: jobs.test.if: invalid condition: unexpected '='; "
        "operators are ==, !=, =~, !~, &&, || and !"
    ]


def test_multi_line_condition_errors_point_at_the_value(tmp_path: Path) -> None:
    text = one_job(f"image: {IMAGE}\nsteps: [x]\nif: >-\n  branch == 'main' &&\n  brnch\n")
    (problem,) = problems(text, tmp_path)
    assert problem.startswith("pipelines/ci.yml:6:9: jobs.test.if: invalid condition: unknown")


# ---------------------------------------------------------------- secrets


def test_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "deploy_key").write_text("a key")
    top = """\
        secrets:
          TOKEN: {env: CI_TOKEN}
          KEY: {file: ~/.ssh/deploy_key}
        """
    text = one_job(f"image: {IMAGE}\nsteps: [x]\n", top=top)
    assert load(text, tmp_path).secrets == (
        Secret(name="TOKEN", from_env="CI_TOKEN"),
        Secret(name="KEY", from_file="~/.ssh/deploy_key"),
    )
    text = one_job(f"image: {IMAGE}\nsteps: [x]\n", top="secrets: [TOKEN, PYPI]\n")
    assert load(text, tmp_path).secrets == (
        Secret(name="TOKEN", from_env="TOKEN"),
        Secret(name="PYPI", from_env="PYPI"),
    )


def test_bad_secrets(tmp_path: Path) -> None:
    top = """\
        secrets:
          PASSWORD: {value: hunter2}
          BOTH: {env: A, file: b}
          NEITHER: {}
          bad-name: {env: A}
          HOST: {env: not a name}
        """
    text = one_job(f"image: {IMAGE}\nsteps: [x]\n", top=top)
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:3:14: secrets.PASSWORD: secrets are never written in the pipeline; "
        "read them with env: or file:",
        "pipelines/ci.yml:4:9: secrets.BOTH: set exactly one of env: (a host variable) or "
        "file: (a path)",
        "pipelines/ci.yml:5:12: secrets.NEITHER: set exactly one of env: (a host variable) or "
        "file: (a path)",
        "pipelines/ci.yml:6:3: secrets: invalid variable name 'bad-name'; use letters, digits "
        "and _, not starting with a digit",
        "pipelines/ci.yml:7:15: secrets.HOST.env: expected a variable name, got 'not a name'",
    ]


def test_a_condition_starting_with_bang_must_be_quoted(tmp_path: Path) -> None:
    text = one_job(f"image: {IMAGE}\nsteps: [x]\nif: !$DEPLOY\n")
    assert problems(text, tmp_path) == [
        "pipelines/ci.yml:6:9: jobs.test.if: expected a string, got a value tagged !$DEPLOY "
        "(quote values that start with !)"
    ]
    quoted = one_job(f"image: {IMAGE}\nsteps: [x]\nif: '!$DEPLOY'\n")
    assert load(quoted, tmp_path).job("test").condition == "!$DEPLOY"


# ---------------------------------------------------------------- FROM in image builds


def build_job(workspace: Path, dockerfile: str) -> str:
    build_dir(workspace).joinpath("Dockerfile").write_text(dockerfile)
    return one_job("image: {build: images/python, args: {V: '3.12', LATER: '${X}'}}\nsteps: [x]\n")


@pytest.mark.parametrize(
    "dockerfile",
    ["FROM python:3.12\n", "ARG V\nFROM python:${V}\n", "FROM scratch AS s\nFROM python\n"],
)
def test_a_floating_from_is_refused_at_the_jobs_build(tmp_path: Path, dockerfile: str) -> None:
    text = build_job(tmp_path, dockerfile)
    (found,) = problems(text, tmp_path)
    line = dockerfile.count("\n")
    where = "pipelines/ci.yml:4:20: jobs.test.image.build"
    assert found.startswith(f"{where}: images/python/Dockerfile:{line}: FROM python")
    assert "is a floating tag; pin it as python" in found


def test_a_floating_from_only_warns_with_allow_unpinned(tmp_path: Path) -> None:
    text = build_job(tmp_path, "FROM python:3.12\n")
    (warning,) = load(text, tmp_path, allow_unpinned=True).warnings
    assert "images/python/Dockerfile:1: FROM python:3.12 is a floating tag" in warning


@pytest.mark.parametrize(
    "dockerfile",
    [
        f"FROM python:3.12@{DIGEST}\n",
        f"FROM {DIGEST}\n",
        "FROM scratch\n",
        f"FROM python@{DIGEST} AS base\nFROM base\n",
        "ARG LATER\nFROM ${LATER}\n",  # a build arg known only at run time
    ],
)
def test_pinned_stage_scratch_and_run_time_froms_pass(tmp_path: Path, dockerfile: str) -> None:
    load(build_job(tmp_path, dockerfile), tmp_path)


def test_a_secret_file_that_is_not_there_is_a_problem_at_its_place(tmp_path: Path) -> None:
    top = "secrets:\n  KEY: {file: keys/deploy}\n"
    text = one_job(f"image: {IMAGE}\nsteps: [x]\n", top=top)
    where = tmp_path / "keys" / "deploy"
    assert problems(text, tmp_path) == [
        f"pipelines/ci.yml:3:15: secrets.KEY.file: no file '{where}' to read the secret from"
    ]
