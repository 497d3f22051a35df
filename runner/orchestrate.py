"""Many pipelines, one run: `OrchestrationRequest` in, `OrchestrationResult` out.

Every pipeline considered is loaded and composed for the event first (`plan.compose`):
an invalid file, an unknown upstream or a cycle between pipelines fails here, before any
Docker call, and so does the preparation (variables, secrets, `--approve`) of every
pipeline that may run. Then the pipelines that start at once run in parallel, each as a
`session.run` of its own; a waiting one starts when its upstreams have finished, with
their pushed images in its variables and their jobs' archives in its request (mounted
read-only in its steps jobs), or is skipped with the reason (`plan.progress`).
Like the session, this takes the engine, console and cancel token from its caller and
never touches signals, stdin or stdout: the CLI and the HTTP service both call it.
"""

from __future__ import annotations

import concurrent.futures as cf
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runner import context, grouped_report, paths, running, session
from runner.cancel import CancelToken
from runner.delivery import approvals
from runner.engine.api import ContainerEngine
from runner.engine.swarm.api import Swarm
from runner.errors import DockstepError
from runner.execute.budget import Budget
from runner.model.events import PipelineStatus
from runner.model.results import UpstreamArtifacts, upstream_artifacts
from runner.output import Console
from runner.pipelines import Composed, OrchestrationRequest, compose_request, provisional

__all__ = ["OrchestrationRequest", "OrchestrationResult", "PipelineRun", "run"]
from runner.plan.progress import Ended, Progress, Start

POLL = 0.2  # seconds between looks at the token while pipelines run


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineRun:
    """One pipeline of the orchestrated run: how it ended, and its run when it had one."""

    name: str
    path: str
    status: PipelineStatus
    reasons: tuple[str, ...] = ()  # why it was skipped, cancelled, or could not start
    result: session.RunResult | None = None  # None: it did not run

    def group(self) -> grouped_report.Group:
        return grouped_report.Group(
            pipeline=self.name,
            path=self.path,
            status=self.status,
            reasons=self.reasons,
            run_id=self.result.run_id if self.result else None,
            jobs=self.result.jobs if self.result else (),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class OrchestrationResult:
    run_id: str
    pipelines: tuple[PipelineRun, ...]  # every pipeline considered, upstreams first
    interrupted: bool
    run_dir: Path

    def groups(self) -> list[grouped_report.Group]:
        return [p.group() for p in self.pipelines]

    @property
    def exit_code(self) -> int:
        """1 when any pipeline failed, 130 when interrupted, else 0 (skips included)."""
        return grouped_report.exit_code(self.groups(), interrupted=self.interrupted)


def run(
    request: OrchestrationRequest,
    *,
    environ: Mapping[str, str],
    cwd: Path,
    engine: ContainerEngine,
    console: Console,
    token: CancelToken,
    swarm: Swarm | None = None,
) -> OrchestrationResult:
    """Run every pipeline the event triggers; everything they created is gone on return.

    `swarm`: the manager for the pipelines that need one (`needs_swarm`); None when none do.
    """
    composed = compose_request(request, cwd)
    runner = _Runner(
        composed, environ, cwd, engine=engine, console=console, token=token, swarm=swarm
    )
    progress = Progress(composed.orchestration, selected=composed.selected)
    starts = progress.start()
    prepared = {start.name: runner.prepare(start) for start in starts}
    waiting = {  # checked before Docker too
        planned.name: runner.prepare(Start(name=planned.name, event=provisional(composed, planned)))
        for planned in composed.orchestration.pipelines
        if planned.name not in progress.running and planned.name not in progress.ended
    }
    console.note(f"dockstep run {runner.run_id}: {_headline(composed, starts)}")
    with _approvals(runner.run_id, {**prepared, **waiting}, paths.state_dir(environ)):
        if not token.cancelled and starts:
            engine.ping()
        runs = runner.drive(progress, starts, prepared)
    result = OrchestrationResult(
        run_id=runner.run_id,
        pipelines=tuple(_pipeline_run(composed, ended, runs) for ended in progress.outcomes()),
        interrupted=token.cancelled,
        run_dir=paths.run_dir(composed.workspace, runner.run_id),
    )
    _finish(result, composed, request, console)
    return result


class _Runner:
    """Runs the pipelines of one orchestration, each as a session on a thread of its own."""

    def __init__(
        self,
        composed: Composed,
        environ: Mapping[str, str],
        cwd: Path,
        *,
        engine: ContainerEngine,
        console: Console,
        token: CancelToken,
        swarm: Swarm | None = None,
    ) -> None:
        self.composed = composed
        self._swarm = swarm
        self.run_id = context.new_run_id(time.time())
        self._environ, self._cwd = environ, cwd
        self._engine, self._console, self._token = engine, console, token
        self._futures: dict[cf.Future[session.RunResult], str] = {}
        self._budget = Budget(composed.request.workers)  # --jobs: for the whole run
        self.runs: dict[str, session.RunResult] = {}  # the pipelines that ran, as they end

    def prepare(self, start: Start) -> session.Prepared:
        """The pipeline's own run, `<run id>-<pipeline>`: its logs, network, approvals."""
        handed = self._handed(start.name)
        request = self.composed.run_request(start.name, start.event, handed, run_id=self.run_id)
        pipeline_run = f"{self.run_id}-{_slug(start.name)}"
        return session.prepare(request, self._environ, self._cwd, run_id=pipeline_run)

    def _handed(self, name: str) -> tuple[UpstreamArtifacts, ...]:
        """The archives of the upstream pipelines `name` waited for, from their results."""
        waited = self.composed.orchestration.planned(name).waits_for
        return tuple(
            found
            for upstream in waited
            if upstream in self.runs
            for found in upstream_artifacts(upstream, self.runs[upstream].jobs)
        )

    def drive(
        self, progress: Progress, starts: list[Start], prepared: Mapping[str, session.Prepared]
    ) -> dict[str, session.RunResult]:
        """Run the started pipelines, and the ones they release, until none is left."""
        runs = self.runs
        workers = max(1, len(self.composed.pipelines))
        with cf.ThreadPoolExecutor(workers, thread_name_prefix="pipeline") as pool:
            for start in starts:
                self._launch(pool, progress, start, prepared[start.name])
            while True:
                if self._token.cancelled:
                    progress.cancel_waiting("interrupted")
                released = progress.released()
                for start in released:
                    self._launch(pool, progress, start, None)
                if not released and not self._futures:
                    return runs
                done, _ = cf.wait(self._futures, timeout=POLL, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    self._collect(future, progress, runs)

    def _launch(
        self,
        pool: cf.ThreadPoolExecutor,
        progress: Progress,
        start: Start,
        ready: session.Prepared | None,
    ) -> None:
        try:
            prepared = ready or self.prepare(start)
        except DockstepError as error:
            self._console.note(f"{start.name}: cannot run: {error}")
            progress.fail(start.name, str(error))
            return
        future = pool.submit(
            session.run,
            prepared,
            engine=self._engine,
            console=self._console.within(start.name),
            token=self._token,
            budget=self._budget,
            swarm=self._swarm if prepared.resolved.pipeline.needs_swarm else None,
        )
        self._futures[future] = start.name

    def _collect(
        self,
        future: cf.Future[session.RunResult],
        progress: Progress,
        runs: dict[str, session.RunResult],
    ) -> None:
        name = self._futures.pop(future)
        try:
            result = future.result()
        except DockstepError as error:
            self._console.note(f"{name}: {error}")
            progress.fail(name, str(error))
            return
        runs[name] = result
        progress.finish(name, result.jobs, interrupted=result.interrupted)


@contextmanager
def _approvals(
    run_id: str, sessions: Mapping[str, session.Prepared], state: Path
) -> Iterator[None]:
    """While the run goes on, `dockstep approve RUN pipeline/job` finds each pipeline's
    session, even one still waiting for its upstreams (its gated jobs are recorded now)."""
    folder = paths.approvals_dir(state, run_id)
    approvals.record_pipelines(folder, {n: p.settings.run_id for n, p in sessions.items()})
    for prepared in sessions.values():
        runnable = (planned.name for planned in prepared.resolved.plan.runnable())
        approvals.record_gated(
            prepared.approvals, running.gated_jobs(prepared.resolved.pipeline, runnable)
        )
    try:
        yield
    finally:  # a pipeline that never started leaves its folder: nothing waits any more
        for each in (folder, *(p.approvals for p in sessions.values())):
            shutil.rmtree(each, ignore_errors=True)


def _pipeline_run(
    composed: Composed, ended: Ended, runs: Mapping[str, session.RunResult]
) -> PipelineRun:
    return PipelineRun(
        name=ended.name,
        path=composed.pipeline(ended.name).path,
        status=ended.status,
        reasons=ended.reasons,
        result=runs.get(ended.name),
    )


def _headline(composed: Composed, starts: list[Start]) -> str:
    event = composed.orchestration.event
    waiting = [p.name for p in composed.orchestration.pipelines if p.decision.runs and p.waits_for]
    text = f"{len(composed.pipelines)} pipelines for a {event.name} event"
    text += f"; starting {', '.join(s.name for s in starts) or 'none'}"
    return text + (f"; then maybe {', '.join(waiting)}" if waiting else "")


def _finish(
    result: OrchestrationResult,
    composed: Composed,
    request: OrchestrationRequest,
    console: Console,
) -> None:
    """The grouped summary, and the report beside the logs (and where --report asks)."""
    groups = result.groups()
    console.note("")
    console.note(grouped_report.summary(groups, mask=console.mask))
    document = grouped_report.to_json(
        groups,
        run_id=result.run_id,
        event=composed.orchestration.event,
        mask=console.mask,
        interrupted=result.interrupted,
    )
    result.run_dir.mkdir(parents=True, exist_ok=True)
    for path in (result.run_dir / "report.json", request.report_file):
        if path is not None:
            path.write_text(document + "\n")
    verdict = grouped_report.verdict(groups, interrupted=result.interrupted)
    console.note(f"pipelines {verdict} (run {result.run_id})")


def _slug(name: str) -> str:
    """A pipeline name as part of a run id, which names containers and networks."""
    kept = "".join(c if c.isascii() and (c.isalnum() or c in "_.-") else "-" for c in name)
    return kept.strip("-.") or "pipeline"
