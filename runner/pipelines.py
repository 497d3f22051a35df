"""The pipelines of a workspace, loaded and composed for one event, before any Docker call.

`dockstep run --all` and `dockstep plan --all` (and the HTTP service) start here: every
file is loaded with every problem collected, the chains between pipelines are checked (an
unknown upstream, a cycle), `--job`/`--approve` names are read as `pipeline/job`, and each
pipeline gets the `RunRequest` its own session will run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from runner import context, git, session
from runner.errors import PipelineInvalid, Problem, UsageError
from runner.format.load import load_pipeline
from runner.model.events import Event, EventKind, EventSource, PipelineStatus, Upstream
from runner.model.pipeline import Backend, Package, Pairs, Pipeline
from runner.model.results import UpstreamArtifacts
from runner.names import suggest
from runner.plan.compose import Orchestration, Planned, compose, release

PIPELINES_DIR = "pipelines"
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64  # stands in for a digest no upstream pushed yet


@dataclass(frozen=True, slots=True, kw_only=True)
class OrchestrationRequest:
    pipelines: tuple[Path, ...]  # every pipeline considered (`discover` finds pipelines/*.yml)
    event: Event
    jobs: tuple[str, ...] = ()  # pipeline/job: only these (and what they need) run
    approve: tuple[str, ...] = ()  # pipeline/job: approved up front
    report_file: Path | None = None  # the whole run's report, grouped by pipeline
    variables: Pairs = ()  # --var, for every pipeline
    workers: int = 4  # jobs at once, across every pipeline of the run
    keep_going: bool = False
    allow_unpinned: bool = False
    ca_bundle: str | None = None
    use_cache: bool = True
    interactive: bool = False
    backend: Backend | None = None  # --backend, for every pipeline; None: each one's own
    registry: str | None = None  # --registry: where swarm tasks pull layers from


@dataclass(frozen=True, slots=True, kw_only=True)
class Composed:
    request: OrchestrationRequest
    workspace: Path
    files: tuple[tuple[str, Path], ...]  # pipeline name -> its file
    pipelines: tuple[Pipeline, ...]
    orchestration: Orchestration
    selected: frozenset[str] | None  # the pipelines `--job` names; None: no --job

    def pipeline(self, name: str) -> Pipeline:
        return next(p for p in self.pipelines if p.name == name)

    def run_request(
        self,
        name: str,
        event: Event,
        handed: tuple[UpstreamArtifacts, ...] = (),
        *,
        run_id: str | None = None,
    ) -> session.RunRequest:
        """What `name`'s own session runs; compose already matched its triggers (force).
        `handed`: the archives of the upstream pipelines it waited for; `run_id`: the
        orchestrated run's, under which its jobs are approved."""
        request = self.request
        return session.RunRequest(
            pipeline=dict(self.files)[name],
            jobs=_of(name, request.jobs),
            workers=request.workers,
            keep_going=request.keep_going,
            allow_unpinned=request.allow_unpinned,
            variables=request.variables,
            event=event,
            force=True,
            ca_bundle=request.ca_bundle,
            use_cache=request.use_cache,
            approve=_of(name, request.approve),
            interactive=request.interactive,
            backend=request.backend,
            registry=request.registry,
            summary=False,
            upstream_artifacts=handed,
            part_of=session.PartOf(run_id=run_id, pipeline=name) if run_id else None,
        )


def request_for_all(
    options: session.RunRequest, spec: git.EventRequest | None, cwd: Path
) -> OrchestrationRequest:
    """What `--all` asks for: every pipeline file, the event read from git once."""
    workspace = git.toplevel(cwd) or cwd
    event = git.event(workspace, spec or git.EventRequest(kind=EventKind.PUSH))
    return OrchestrationRequest(
        pipelines=tuple(_shown(path, cwd) for path in discover(workspace)),
        event=event,
        jobs=options.jobs,
        approve=options.approve,
        report_file=options.report_file,
        variables=options.variables,
        workers=options.workers,
        keep_going=options.keep_going,
        allow_unpinned=options.allow_unpinned,
        ca_bundle=options.ca_bundle,
        use_cache=options.use_cache,
        interactive=options.interactive,
        backend=options.backend,
        registry=options.registry,
    )


def _shown(path: Path, cwd: Path) -> Path:
    """Relative to where dockstep was started, as a user names files, when it can be."""
    return path.relative_to(cwd) if path.is_relative_to(cwd) else path


def discover(workspace: Path) -> tuple[Path, ...]:
    """Every pipeline file of the workspace: pipelines/*.yml and *.yaml, by name."""
    folder = workspace / PIPELINES_DIR
    found = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    if not found:
        raise UsageError(f"no pipeline files in {folder} (pipelines/*.yml)")
    return tuple(found)


def compose_request(request: OrchestrationRequest, cwd: Path) -> Composed:
    """Load and compose; PipelineInvalid or UsageError for anything wrong, before Docker."""
    if not request.pipelines:
        raise UsageError("no pipelines to run")
    workspace = context.workspace_of(request.pipelines[0], cwd)
    loaded = _load(request, workspace)
    orchestration = compose(loaded, request.event)  # unknown upstreams, cycles
    names = [pipeline.name for pipeline in loaded]
    selected = _selected(request, loaded)
    _check_names("--approve", request.approve, loaded)
    return Composed(
        request=request,
        workspace=workspace,
        files=tuple(zip(names, request.pipelines, strict=True)),
        pipelines=tuple(loaded),
        orchestration=orchestration,
        selected=selected,
    )


def provisional(composed: Composed, planned: Planned) -> Event:
    """The event a waiting pipeline would run for if every upstream passed and pushed:
    enough to check its variables, secrets and plan before anything runs."""
    finished = [
        Upstream(
            pipeline=name,
            status=PipelineStatus.PASSED,
            images=_placeholders(composed.pipeline(name)),
        )
        for name in planned.waits_for
    ]
    released = release(planned, composed.orchestration.event, finished)
    if released.event is not None:
        return released.event
    return dataclasses.replace(
        composed.orchestration.event,
        kind=EventKind.PIPELINE,
        source=EventSource.PIPELINE,
        upstream=tuple(finished),
    )


def _placeholders(pipeline: Pipeline) -> tuple[str, ...]:
    return tuple(
        f"{repository}@{PLACEHOLDER_DIGEST}"
        for job in pipeline.jobs
        if isinstance(job.action, Package)
        for repository in job.action.push
    )


def _load(request: OrchestrationRequest, workspace: Path) -> list[Pipeline]:
    """Every file, with every problem of every file reported at once."""
    loaded: list[Pipeline] = []
    problems: list[Problem] = []
    for path in request.pipelines:
        try:
            loaded.append(
                load_pipeline(
                    path,
                    workspace=workspace,
                    allow_unpinned=request.allow_unpinned,
                    backend=request.backend,
                )
            )
        except PipelineInvalid as error:
            problems += error.problems
    if problems:
        raise PipelineInvalid(problems)
    return loaded


def _selected(request: OrchestrationRequest, loaded: list[Pipeline]) -> frozenset[str] | None:
    if not request.jobs:
        return None
    return frozenset(_check_names("--job", request.jobs, loaded))


def _check_names(option: str, items: tuple[str, ...], loaded: list[Pipeline]) -> list[str]:
    """Each item names a job as pipeline/job; the pipelines named, in order."""
    by_name = {pipeline.name: pipeline for pipeline in loaded}
    found: list[str] = []
    for item in items:
        name, sep, job = item.partition("/")
        if not sep or not job:
            raise UsageError(f"{option} {item}: with several pipelines, name a job pipeline/job")
        if name not in by_name:
            raise UsageError(f"{option} {item}: no pipeline {name!r}{suggest(name, by_name)}")
        jobs = [j.name for j in by_name[name].jobs]
        if job not in jobs:
            raise UsageError(f"{option} {item}: no job {job!r} in {name}{suggest(job, jobs)}")
        found.append(name)
    return found


def _of(pipeline: str, items: tuple[str, ...]) -> tuple[str, ...]:
    """The job names of `pipeline/job` items for one pipeline."""
    return tuple(job for name, _, job in (i.partition("/") for i in items) if name == pipeline)
