"""The one owner of the environment: every layer, the same rules, checked before Docker."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from runner.execute import environment
from runner.execute.settings import RunSettings
from runner.expr.interpolate import UndefinedVariable
from runner.model.pipeline import (
    BuildSpec,
    Cell,
    Deploy,
    Environment,
    ImageRef,
    Install,
    Job,
    Package,
    Pairs,
    Step,
    Steps,
)

IMAGE = ImageRef(reference="busybox@sha256:" + "a" * 64)
CA = environment.CA_TARGET


def settings(
    pipeline_env: Pairs = (), variables: Pairs = (), ca: Path | None = None
) -> RunSettings:
    return RunSettings(
        run_id="r1",
        workspace=Path("/w"),
        network="n",
        labels=(),
        builtins=(("CI", "true"), ("DOCKSTEP_RUN_ID", "r1")),
        variables=variables,
        pipeline_env=pipeline_env,
        user="1000:1000",
        ca_bundle=ca,
    )


def steps_job(env: Pairs = (), install: Install | None = None, step_env: Pairs = ()) -> Job:
    steps = (Step(name="s", run="true", env=step_env),)
    return Job(
        name="build", stage="test", env=env, action=Steps(image=IMAGE, steps=steps, install=install)
    )


def test_the_job_name_expands_alike_in_steps_and_in_the_install() -> None:
    install = Install(run="make", env=(("TARGET", "out/${DOCKSTEP_JOB}"),))
    job = steps_job(env=(("CACHE", "/c/${DOCKSTEP_JOB}"),), install=install)
    assert dict(environment.step_env(settings(), job))["CACHE"] == "/c/build"
    seen = dict(environment.install_env(settings(), job, install))
    assert (seen["CACHE"], seen["TARGET"]) == ("/c/build", "out/build")


def test_a_user_set_ca_variable_wins_in_steps_and_installs_alike(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.crt"
    install = Install(run="pip install")
    job = steps_job(install=install)
    run = settings(pipeline_env=(("PIP_CERT", "/etc/mine.pem"),), ca=bundle)
    step = dict(environment.step_env(run, job))
    installing = dict(environment.install_env(run, job, install))
    assert step["PIP_CERT"] == installing["PIP_CERT"] == "/etc/mine.pem"
    assert step["SSL_CERT_FILE"] == installing["SSL_CERT_FILE"] == CA


def test_installs_see_ci_but_not_the_per_run_builtins() -> None:
    install = Install(run="make")
    seen = dict(environment.install_env(settings(), steps_job(install=install), install))
    assert seen["CI"] == "true"
    assert "DOCKSTEP_RUN_ID" not in seen


def test_layers_stack_pipeline_job_step_then_var() -> None:
    run = settings(
        pipeline_env=(("A", "pipeline"), ("B", "pipeline"), ("C", "pipeline")),
        variables=(("C", "var"),),
    )
    job = steps_job(env=(("B", "job-${A}"),), step_env=(("A", "step"),))
    step = job.action.steps[0] if isinstance(job.action, Steps) else None
    seen = dict(environment.step_env(run, job, step))
    assert (seen["A"], seen["B"], seen["C"]) == ("step", "job-pipeline", "var")
    assert seen["HOME"] == environment.HOME


def test_a_deploy_env_sees_its_environment_and_wins_over_it() -> None:
    staging = Environment(name="staging", env=(("URL", "http://s"), ("LEVEL", "env")))
    spec = Deploy(
        environment="staging", package="p", service="web", env=(("LEVEL", "deploy ${URL}"),)
    )
    job = Job(name="d", stage="deploy", action=spec)
    assert environment.deploy_env(settings(), job, staging, spec) == (
        ("LEVEL", "deploy http://s"),
        ("URL", "http://s"),
    )


def test_build_args_see_the_pipeline_env_and_vars() -> None:
    run = settings(pipeline_env=(("BASE", "x"),), variables=(("TAG", "1"),))
    args = (("FROM", "${BASE}:${TAG}"), ("RUN", "${DOCKSTEP_RUN_ID}"))
    assert environment.build_args(run, args) == (("FROM", "x:1"), ("RUN", "r1"))


@pytest.mark.parametrize(
    "job",
    [
        pytest.param(
            Job(
                name="build",
                stage="t",
                action=Steps(
                    image=ImageRef(build=BuildSpec(context=".", args=(("X", "${NOPE}"),))),
                    steps=(Step(name="s", run="true"),),
                ),
            ),
            id="image-build-args",
        ),
        pytest.param(
            Job(name="build", stage="p", action=Package(context=".", args=(("X", "${NOPE}"),))),
            id="package-args",
        ),
        pytest.param(
            Job(
                name="build",
                stage="d",
                action=Deploy(
                    environment="staging", package="p", service="w", env=(("X", "${NOPE}"),)
                ),
            ),
            id="deploy-env",
        ),
    ],
)
def test_an_undefined_variable_in_any_layer_is_found_before_docker(job: Job) -> None:
    staging = {"staging": Environment(name="staging")}
    with pytest.raises(UndefinedVariable, match=r"^job 'build': .*NOPE"):
        environment.check(settings(), [job], staging)


def test_an_undefined_variable_in_the_pipeline_env_is_named_as_such() -> None:
    with pytest.raises(UndefinedVariable, match=r"^pipeline env: .*GONE"):
        environment.check(settings(pipeline_env=(("A", "${GONE}"),)), [], {})


IMAGE_FED = [
    pytest.param(steps_job(step_env=(("X", "${NOPE}"),)), id="step-env"),
    pytest.param(steps_job(env=(("X", "${NOPE}"),)), id="job-env"),
    pytest.param(steps_job(install=Install(run="make", env=(("X", "${NOPE}"),))), id="install-env"),
]


@pytest.mark.parametrize("job", IMAGE_FED)
def test_a_name_only_the_image_could_define_is_left_to_the_image(job: Job) -> None:
    environment.check(settings(), [job], {})  # no Docker yet: the image is not known
    assert environment.from_image(settings(), job, {}) == ("NOPE",)


@pytest.mark.parametrize("job", IMAGE_FED)
def test_once_the_image_is_known_an_undefined_name_fails_the_job(job: Job) -> None:
    with pytest.raises(UndefinedVariable, match=r"^job 'build': .*NOPE.*nor image img's own env"):
        environment.check_image(settings(), job, "img")
    known = replace(settings(), image_env=(("NOPE", "from the image"),))
    environment.check_image(known, job, "img")


def test_the_image_env_is_the_lowest_layer_and_is_not_passed_on() -> None:
    run = replace(
        settings(pipeline_env=(("LANG", "C.UTF-8"),)),
        image_env=(("PATH", "/usr/bin:/bin"), ("LANG", "image"), ("CI", "image")),
    )
    job = steps_job(env=(("PATH", "/opt/venv/bin:${PATH}"), ("WHO", "${CI} ${LANG}")))
    seen = dict(environment.step_env(run, job))
    assert (seen["PATH"], seen["WHO"]) == ("/opt/venv/bin:/usr/bin:/bin", "true C.UTF-8")
    install = Install(run="make", env=(("P", "${PATH}"),))
    assert dict(environment.install_env(run, steps_job(install=install), install))["P"] == (
        "/usr/bin:/bin"
    )
    assert "PATH" not in dict(environment.step_env(run, steps_job()))  # the engine gives it


def test_build_args_never_see_an_image_env() -> None:
    run = replace(settings(), image_env=(("PATH", "/bin"),))
    with pytest.raises(UndefinedVariable):
        environment.build_args(run, (("P", "${PATH}"),), steps_job())


def cell_job(values: Pairs, env: Pairs = ()) -> Job:
    cell = Cell(family="test", values=values)
    return replace(steps_job(env=env), name="test.PY-3.12", cell=cell)


def test_a_cells_values_sit_between_the_pipeline_env_and_the_jobs() -> None:
    run = settings(pipeline_env=(("PY", "3.9"), ("OS", "pipeline")))
    job = cell_job((("PY", "3.12"), ("OS", "debian")), env=(("OS", "job ${PY}"),))
    seen = dict(environment.step_env(run, job))
    assert (seen["PY"], seen["OS"]) == ("3.12", "job 3.12")
    assert dict(environment.step_env(settings(variables=(("PY", "var"),)), job))["PY"] == "var"


def test_a_cells_values_are_taken_as_written_and_reach_its_build_args() -> None:
    job = cell_job((("PY", "3.12"), ("RAW", "a${b}$c")))
    assert dict(environment.step_env(settings(), job))["RAW"] == "a${b}$c"
    args = (("BASE", "python:${PY}"),)
    assert environment.build_args(settings(), args, job) == (("BASE", "python:3.12"),)
    with pytest.raises(UndefinedVariable):
        environment.build_args(settings(), args)  # no cell: no PY
