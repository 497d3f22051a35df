"""`dockstep validate`, `plan` and `graph`: read the pipeline, touch no engine."""

from __future__ import annotations

from pathlib import Path

import click
from tabulate import tabulate

from runner import session
from runner.format.load import load_pipeline
from runner.model.pipeline import Job, Steps
from runner.plan import graph


def validate(pipeline: Path, cwd: Path, *, allow_unpinned: bool = False) -> int:
    workspace = session.workspace_of(pipeline, cwd)
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
    chosen = session.resolve(request, cwd, run_id="plan").plan
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
    click.echo(tabulate(rows, headers=headers, tablefmt="simple"))
    return 0


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
