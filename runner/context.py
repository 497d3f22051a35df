"""The context a run sees before any engine: its workspace and id, the built-in variables,
the pipeline's env as `if:` compares it, and the CA bundle. `run`, `plan`, `graph` and
`cache key` all compute it here, so they never disagree."""

from __future__ import annotations

import secrets as random
import time
from collections.abc import Mapping
from pathlib import Path

from runner import git
from runner.errors import UsageError
from runner.execute import environment
from runner.execute.settings import RunSettings
from runner.expr.interpolate import UndefinedVariable
from runner.model.events import Event, EventKind
from runner.model.pipeline import (
    Pairs,
    Pipeline,
    pairs,
)
from runner.plan.compose import upstream_variables

CA_CANDIDATES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, BSD
)


def workspace_of(pipeline: Path, cwd: Path) -> Path:
    """The repository the pipeline belongs to: its git top level, else the working directory."""
    return git.toplevel(pipeline.resolve().parent) or cwd


def new_run_id(now: float) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}-{random.token_hex(3)}"


def ca_bundle(choice: str | None, environ: Mapping[str, str]) -> Path | None:
    chosen = environ.get("DOCKSTEP_CA_BUNDLE") if choice is None else choice
    if chosen:
        path = Path(chosen).resolve()
        if not path.is_file():  # Docker would create a directory there, as root
            raise UsageError(f"CA bundle {chosen}: no such file (--ca-bundle, DOCKSTEP_CA_BUNDLE)")
        return path
    if chosen is not None:
        return None
    return next((Path(p) for p in CA_CANDIDATES if Path(p).is_file()), None)


def of_event(revision: git.Revision, event: Event | None) -> git.Revision:
    """What the run builds: the event's commit, branch and tag where it names them."""
    if event is None:
        return revision
    return git.Revision(
        commit=event.commit or revision.commit,
        branch=event.branch or revision.branch,
        tag=event.tag or revision.tag,
        time=revision.time,
    )


def builtins(
    pipeline: Pipeline, run_id: str, event: Event | None, revision: git.Revision
) -> dict[str, str]:
    """The DOCKSTEP_* variables; without an event, `if:` and steps see a push."""
    found = event or Event(kind=EventKind.PUSH)
    values = {
        "CI": "true",
        "DOCKSTEP": "true",
        "DOCKSTEP_RUN_ID": run_id,
        "DOCKSTEP_PIPELINE": pipeline.name,
        "DOCKSTEP_EVENT": found.name,
        "DOCKSTEP_COMMIT_SHA": revision.commit,
        "DOCKSTEP_BRANCH": revision.branch,
        "DOCKSTEP_TAG": revision.tag,
    }
    if found.base:
        values["DOCKSTEP_BASE_BRANCH"] = found.base
    return values | upstream_variables(found)


def pipeline_variables(
    pipeline: Pipeline, variables: Pairs, values: Mapping[str, str]
) -> dict[str, str]:
    """The pipeline's env, expanded as steps see it, then --var: what `if:` compares."""
    settings = RunSettings(
        run_id="",
        workspace=Path(),
        network="",
        labels=(),
        builtins=pairs(values),
        variables=variables,
        pipeline_env=pipeline.env,
    )
    try:
        return environment.run_variables(settings)
    except UndefinedVariable as error:
        error.args = (f"pipeline env: {error}",)
        raise


def condition_context(values: Mapping[str, str], variables: Mapping[str, str]) -> Pairs:
    """What `if:` reads: branch, tag, event, commit, pipeline and every variable."""
    named = {
        "branch": values["DOCKSTEP_BRANCH"],
        "tag": values["DOCKSTEP_TAG"],
        "event": values["DOCKSTEP_EVENT"],
        "commit": values["DOCKSTEP_COMMIT_SHA"],
        "pipeline": values["DOCKSTEP_PIPELINE"],
    }
    return pairs({**values, **variables, **named})
