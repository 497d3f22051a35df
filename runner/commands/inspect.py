"""`dockstep validate`, `plan` and `graph`: read the pipeline, touch no engine."""

from __future__ import annotations

from pathlib import Path

import click
from tabulate import tabulate

from runner import context, git, pipelines, session
from runner.format.load import load_pipeline
from runner.model.events import Event, EventKind
from runner.model.pipeline import Job, Steps
from runner.plan import graph
from runner.plan.compose import Planned
from runner.plan.plan import Plan


def validate(pipeline: Path, cwd: Path, *, allow_unpinned: bool = False) -> int:
    workspace = context.workspace_of(pipeline, cwd)
    loaded = load_pipeline(pipeline, workspace=workspace, allow_unpinned=allow_unpinned)
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    stages = {job.stage for job in loaded.jobs}
    click.echo(f"{pipeline}: valid ({len(loaded.jobs)} jobs in {len(stages)} stages)")
    return 0


def show_plan(request: session.RunRequest, cwd: Path) -> int:
    """Waves of jobs: everything in a wave may run at once, after the waves before it.

    The plan is the one `run` makes for the same request: the same git facts, event and
    variables decide every `if:`.
    """
    resolved = session.resolve(request, cwd, run_id="plan")
    if not resolved.triggered and resolved.decision is not None:
        event = request.event.name if request.event else "push"
        click.echo(f"{resolved.pipeline.name}: would not run for this {event} event:")
        for reason in resolved.decision.reasons:
            click.echo(f"  {reason}")
        click.echo("(--force plans it anyway)")
        return 0
    click.echo(_plan_table(resolved.plan))
    return 0


def _plan_table(chosen: Plan) -> str:
    wave_of = {name: index + 1 for index, wave in enumerate(chosen.waves()) for name in wave}
    rows = [
        [
            wave_of.get(p.name, "-"),
            p.name,
            p.job.stage,
            ", ".join(p.waits_for) or "-",
            *_what(p.job),
            p.skip_reason or "",
        ]
        for p in sorted(chosen.jobs, key=lambda p: wave_of.get(p.name, 10**6))
    ]
    headers = ["wave", "job", "stage", "waits for", "image", "steps", "note"]
    return tabulate(rows, headers=headers, tablefmt="simple")


def show_plans(options: session.RunRequest, spec: git.EventRequest | None, cwd: Path) -> int:
    """`plan --all`: every pipeline, whether the event starts it or why not, and its jobs."""
    composed = pipelines.compose_request(pipelines.request_for_all(options, spec, cwd), cwd)
    orchestration = composed.orchestration
    click.echo(f"event: {describe(orchestration.event)}")
    for planned in orchestration.pipelines:
        click.echo("")
        click.echo(f"{planned.name} ({dict(composed.files)[planned.name]}): {_verdict(planned)}")
        for reason in () if planned.decision.runs else planned.decision.reasons:
            click.echo(f"  - {reason}")
        if planned.decision.runs:
            event = orchestration.event if planned.starts_now else None
            event = event or pipelines.provisional(composed, planned)
            request = composed.run_request(planned.name, event)
            click.echo(_plan_table(session.resolve(request, cwd, run_id="plan").plan))
    return 0


def _verdict(planned: Planned) -> str:
    if not planned.decision.runs:
        return "does not run"
    if planned.starts_now:
        return "runs"
    return f"runs after {', '.join(planned.waits_for)}, if their outcome lets it"


def describe(event: Event) -> str:
    """`push to main at 1a2b3c4d5e6f, 3 changed paths`: what the event is, in a line."""
    where = {
        EventKind.PULL_REQUEST: f"pull request from {event.branch or '?'} into {event.base}",
        EventKind.TAG: f"tag {event.tag}",
        EventKind.PUSH: f"push to {event.branch or '(no branch)'}",
    }.get(event.kind, event.name)
    changed = (
        "changed paths unknown" if event.changed is None else f"{len(event.changed)} changed paths"
    )
    return f"{where} at {event.commit[:12] or '?'}, {changed}"


def _what(job: Job) -> tuple[str, str]:
    """The image and the number of steps; a package, deploy or verify job by its kind."""
    action = job.action
    if isinstance(action, Steps):
        return str(action.image), str(len(action.steps))
    return f"({job.kind})", "-"


def show_graph(request: session.RunRequest, cwd: Path, *, fmt: str = "mermaid") -> int:
    chosen = session.resolve(request, cwd, run_id="plan").plan
    click.echo(graph.dot(chosen) if fmt == "dot" else graph.mermaid(chosen))
    return 0
