"""A JobRunner and Scheduler over the fake engine, for scheduling behaviour tests."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

from runner.cache.layers import LayerCache
from runner.engine import labels
from runner.execute.containers import RunSettings
from runner.execute.images import ImageResolver
from runner.execute.job import JobRunner
from runner.execute.scheduler import Scheduler
from runner.model.pipeline import Pairs
from runner.model.results import JobResult
from runner.output import Console
from runner.plan.plan import Selection, plan
from runner.secrets import Masker
from tests.fake_engine import FakeEngine
from tests.unit.pipelines import IMAGE, pipeline


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
        run_id="r1",
        workspace=tmp_path,
        network="dockstep-r1",
        labels=((labels.RUN, "r1"),),
        builtins=(("CI", "true"),),
        secrets=secrets,
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
) -> Outcome:
    engine.present.setdefault(IMAGE, "sha256:" + "1" * 64)
    stream = io.StringIO()
    console = Console(stream, colour=False, mask=Masker.of(v for _, v in secrets))
    loaded = pipeline(text, tmp_path)
    run_settings = settings(tmp_path, secrets, loaded.env)
    images = ImageResolver(engine, tmp_path, {})
    layers = LayerCache(engine, tmp_path / "cache", enabled=use_cache)
    runner = JobRunner(
        engine,
        images=images,
        layers=layers,
        settings=run_settings,
        console=console,
        log_dir=tmp_path / "logs",
    )
    scheduler = Scheduler(runner, workers=workers, keep_going=keep_going, clock=time.monotonic)
    results = scheduler.run(plan(loaded, Selection()))
    return Outcome({r.name: r for r in results}, stream.getvalue(), scheduler.interrupted)
