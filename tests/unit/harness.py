"""A whole run over the fake engine, through the session API, for behaviour tests."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from runner import session
from runner.cancel import CancelToken
from runner.engine import labels
from runner.engine.inflight import InFlight
from runner.execute.settings import RunSettings
from runner.git import Revision
from runner.model.pipeline import Pairs
from runner.model.results import JobResult
from runner.output import Console
from runner.plan.plan import Selection, plan
from runner.progress import StatusLine
from runner.secrets import Masker
from tests.fake_engine import FakeEngine
from tests.unit.pipelines import IMAGE, pipeline

RUN_ID = "r1"


@dataclass
class Outcome:
    results: dict[str, JobResult]
    output: str
    interrupted: bool


def settings(
    tmp_path: Path, secrets: tuple[tuple[str, str], ...] = (), env: Pairs = ()
) -> RunSettings:
    return RunSettings(
        pipeline_env=env,
        run_id=RUN_ID,
        workspace=tmp_path,
        network=f"dockstep-{RUN_ID}",
        labels=((labels.RUN, RUN_ID),),
        builtins=(("CI", "true"),),
        secrets=secrets,
    )


def prepared(
    text: str,
    tmp_path: Path,
    *,
    secrets: tuple[tuple[str, str], ...] = (),
    request: session.RunRequest | None = None,
) -> session.Prepared:
    """What `session.prepare` would make of `text`, without git or the host's CA bundle."""
    loaded = pipeline(text, tmp_path)
    request = request or session.RunRequest(pipeline=tmp_path / loaded.path)
    resolved = session.Resolved(
        request=request,
        run_id=RUN_ID,
        workspace=tmp_path,
        pipeline=loaded,
        revision=Revision(),
        source="",
        builtins=(("CI", "true"),),
        plan=plan(loaded, Selection(jobs=request.jobs)),
    )
    return session.Prepared(
        resolved=resolved,
        settings=settings(tmp_path, secrets, loaded.env),
        mask=Masker.of(v for _, v in secrets),
        run_dir=tmp_path / "logs",
        state_dir=tmp_path / "state",
        approvals=tmp_path / "state" / "runs" / RUN_ID,
        keep=False,
        auth=None,
    )


def run_pipeline(
    text: str,
    tmp_path: Path,
    engine: FakeEngine,
    *,
    workers: int = 4,
    keep_going: bool = False,
    secrets: tuple[tuple[str, str], ...] = (),
    use_cache: bool = True,
    token: CancelToken | None = None,
    reuse: tuple[JobResult, ...] = (),
    status: StatusLine | None = None,
) -> Outcome:
    engine.present.setdefault(IMAGE, "sha256:" + "1" * 64)
    engine.in_flight = InFlight()  # every run here is r1: a rerun must not find it closed
    stream = io.StringIO()
    loaded = pipeline(text, tmp_path)
    request = session.RunRequest(
        pipeline=tmp_path / loaded.path,
        workers=workers,
        keep_going=keep_going,
        use_cache=use_cache,
        reuse=reuse,
    )
    result = session.run(
        prepared(text, tmp_path, secrets=secrets, request=request),
        engine=engine,
        console=Console(stream, colour=False, mask=str, status=status),
        token=token or CancelToken(),
    )
    return Outcome({r.name: r for r in result.jobs}, stream.getvalue(), result.interrupted)
