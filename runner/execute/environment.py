"""The one owner of what `${NAME}` means and of the environment every container sees.

Layers, lowest first: the job's image's own env (from its config), the pipeline's `env`,
a matrix cell's values, the job's `env`, then the step's (or the install's, or the deploy
environment's and the deploy's), then `--var`. Each value may name the built-ins (`CI`,
`DOCKSTEP_*`, and `DOCKSTEP_JOB` inside a job), `--var` values and anything from an earlier
layer. A name set by the user always wins over what dockstep would add (`HOME`, the CA
bundle variables), in steps and installs alike. The image's env is only read, never
passed on: the engine gives it to the container anyway.

A name defined nowhere else may come from the image, which is known only once the job
has it: `check` (before any Docker call) leaves such names of a steps job to
`check_image`, which the job calls right after resolving its image, before its first
container. Every other undefined name stops the run before the first Docker call.

Secrets reach steps and installs only with each exec, never a container's own config
(`container_env`), an image's config or a build's arguments.

Installs get `CI=true` but not the other built-ins: a layer outlives the run that made it,
so it must not depend on a run id or a commit; their cache key hashes the merged layers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from runner.execute.settings import RunSettings
from runner.expr.interpolate import UndefinedVariable, expand, expand_layers
from runner.model.pipeline import (
    Deploy,
    Environment,
    Install,
    Job,
    Package,
    Pairs,
    Step,
    Steps,
    pairs,
)
from runner.model.services import Service

CA_TARGET = "/etc/ssl/certs/ca-certificates.crt"
CA_VARIABLES = (
    "SSL_CERT_FILE",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
)
HOME = "/home/dockstep"


def base(settings: RunSettings, job: Job | None = None) -> dict[str, str]:
    """What `${NAME}` can name before any env layer: the built-ins, then --var values."""
    scoped = {"DOCKSTEP_JOB": job.name} if job else {}
    return {**dict(settings.builtins), **scoped, **dict(settings.variables)}


def run_variables(settings: RunSettings, job: Job | None = None) -> dict[str, str]:
    """Built-ins, the pipeline's env, a matrix cell's values and --var: what image build
    args and package args name.

    An image is shared by every job that uses it, so no job's own env reaches its build;
    a matrix cell's values do, so that cells can build their image with them.
    """
    return {**base(settings), **_layers(settings, None, [settings.pipeline_env, _cell(job)])}


def build_args(settings: RunSettings, args: Pairs, job: Job | None = None) -> Pairs:
    variables = run_variables(settings, job)
    return pairs({name: expand(value, variables) for name, value in args})


def step_env(settings: RunSettings, job: Job, step: Step | None = None) -> Pairs:
    """What a step sees: given at exec time only, as it holds the secrets."""
    return pairs({**dict(container_env(settings, job, step)), **dict(settings.secrets)})


def container_env(settings: RunSettings, job: Job, step: Step | None = None) -> Pairs:
    """What a job's container is created with: the step's variables without the secrets.

    A container's config is readable by every engine user while it lives (`docker
    inspect`), so secrets never go there; they come with each exec (`step_env`).
    """
    layers = [settings.pipeline_env, _cell(job), job.env, step.env if step else ()]
    merged = {**base(settings, job), **_layers(settings, job, layers)}
    if settings.user:
        merged.setdefault("HOME", HOME)
    return pairs(_with_ca(settings, merged))


def install_declared(settings: RunSettings, job: Job, install: Install) -> dict[str, str]:
    """The install's own variables: what its cache key hashes."""
    return _layers(settings, job, [settings.pipeline_env, _cell(job), job.env, install.env])


def install_env(settings: RunSettings, job: Job, install: Install) -> Pairs:
    """What the install sees: CI=true, its variables, the CA bundle and the secrets."""
    merged = {"CI": "true", **install_declared(settings, job, install)}
    return pairs({**_with_ca(settings, merged), **dict(settings.secrets)})


def deploy_env(settings: RunSettings, job: Job, environment: Environment, spec: Deploy) -> Pairs:
    """The deployed service's variables: the environment's, then the deploy's own."""
    layers = [settings.pipeline_env, environment.env, spec.env]
    expanded = expand_layers(layers, base(settings, job))
    return pairs({name: expanded[name] for name, _ in (*environment.env, *spec.env)})


def service_env(settings: RunSettings, job: Job, service: Service) -> Pairs:
    """A service container's variables: its own `env` only, which may name the pipeline's
    and the job's variables (a database password shared with the steps)."""
    layers = [settings.pipeline_env, job.env, service.env]
    expanded = expand_layers(layers, base(settings, job))
    return pairs({name: expanded[name] for name, _ in service.env})


def check(
    settings: RunSettings, jobs: Iterable[Job], environments: Mapping[str, Environment]
) -> None:
    """Expand every layer the jobs will use, so an undefined `${NAME}` stops the run
    before its first container rather than in the middle of it; what a steps job's image
    may define is left to `check_image`."""
    try:
        run_variables(settings)
    except UndefinedVariable as error:
        error.args = (f"pipeline env: {error}",)
        raise
    for job in jobs:
        try:
            from_image(settings, job, environments)
        except UndefinedVariable as error:
            error.args = (f"job {job.name!r}: {error}",)
            raise


def from_image(
    settings: RunSettings, job: Job, environments: Mapping[str, Environment]
) -> tuple[str, ...]:
    """The names the job's layers use that only its image could define (none but a steps
    job's); any other undefined name raises."""
    assumed: dict[str, str] = {}
    while True:
        try:
            _check_job(replace(settings, image_env=pairs(assumed)), job, environments)
        except UndefinedVariable as error:
            if not isinstance(job.action, Steps) or error.name in assumed:
                raise
            assumed[error.name] = ""
        else:
            return tuple(assumed)


def check_image(settings: RunSettings, job: Job, image: str) -> None:
    """Once the job's image is known (its env in `settings`): nothing is undefined."""
    try:
        _check_job(settings, job, {})
    except UndefinedVariable as error:
        where = "env, --var, the built-ins"
        error.args = (f"job {job.name!r}: {error}: not in {where}, nor image {image}'s own env",)
        raise


def _check_job(settings: RunSettings, job: Job, environments: Mapping[str, Environment]) -> None:
    action = job.action
    match action:
        case Steps():
            for step in (*action.steps, None):
                step_env(settings, job, step)
            if action.install:
                install_env(settings, job, action.install)
            if action.image.build:
                build_args(settings, action.image.build.args, job)
            for service in action.services:
                service_env(settings, job, service)
        case Package():
            build_args(settings, action.args)
        case Deploy():
            deploy_env(settings, job, environments[action.environment], action)
        case _:
            step_env(settings, job)


def _layers(settings: RunSettings, job: Job | None, layers: list[Pairs]) -> dict[str, str]:
    below = {**dict(settings.image_env), **base(settings, job)} if job else base(settings)
    return expand_layers([*layers, settings.variables], below)


def _cell(job: Job | None) -> Pairs:
    """A matrix cell's values as a layer: taken as written, so `$` is escaped."""
    if job is None or job.cell is None:
        return ()
    return tuple((name, value.replace("$", "$$")) for name, value in job.cell.values)


def _with_ca(settings: RunSettings, merged: dict[str, str]) -> dict[str, str]:
    if settings.ca_bundle:
        return {**dict.fromkeys(CA_VARIABLES, CA_TARGET), **merged}
    return merged
