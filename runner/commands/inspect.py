"""`dockstep validate`, `plan` and `graph`: read the pipeline, touch no engine."""

from __future__ import annotations

from pathlib import Path

import click
from tabulate import tabulate

from runner import git
from runner.commands.run import builtins, condition_context, pipeline_variables, workspace_of
from runner.format.load import load_pipeline
from runner.model.pipeline import Pipeline
from runner.plan import graph
from runner.plan.plan import Plan, Selection, plan


def _load(pipeline: Path, cwd: Path, allow_unpinned: bool) -> Pipeline:
    workspace = workspace_of(pipeline, cwd)
    return load_pipeline(pipeline, workspace=workspace, allow_unpinned=allow_unpinned)


def validate(pipeline: Path, cwd: Path, *, allow_unpinned: bool = False) -> int:
    loaded = _load(pipeline, cwd, allow_unpinned)
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    stages = {job.stage for job in loaded.jobs}
    click.echo(f"{pipeline}: valid ({len(loaded.jobs)} jobs in {len(stages)} stages)")
    return 0


def _plan(
    pipeline: Path, cwd: Path, jobs: tuple[str, ...], allow_unpinned: bool, event: str = "push"
) -> Plan:
    """The plan `run` would make here: the same git facts and event for `if:`."""
    loaded = _load(pipeline, cwd, allow_unpinned)
    values = builtins(loaded, "plan", event, git.revision(workspace_of(pipeline, cwd)))
    context = condition_context(values, pipeline_variables(loaded, (), values))
    return plan(loaded, Selection(jobs=jobs, context=context))


def show_plan(
    pipeline: Path,
    cwd: Path,
    *,
    jobs: tuple[str, ...] = (),
    allow_unpinned: bool = False,
    event: str = "push",
) -> int:
    """Waves of jobs: everything in a wave may run at once, after the waves before it."""
    chosen = _plan(pipeline, cwd, jobs, allow_unpinned, event)
    wave_of = {name: index + 1 for index, wave in enumerate(chosen.waves()) for name in wave}
    rows = [
        [
            wave_of.get(p.name, "-"),
            p.name,
            p.job.stage,
            ", ".join(p.waits_for) or "-",
            str(p.job.image),
            len(p.job.steps),
            p.skip_reason or "",
        ]
        for p in sorted(chosen.jobs, key=lambda p: wave_of.get(p.name, 10**6))
    ]
    headers = ["wave", "job", "stage", "waits for", "image", "steps", "note"]
    click.echo(tabulate(rows, headers=headers, tablefmt="simple"))
    return 0


def show_graph(
    pipeline: Path, cwd: Path, *, fmt: str = "mermaid", allow_unpinned: bool = False
) -> int:
    chosen = _plan(pipeline, cwd, (), allow_unpinned)
    click.echo(graph.dot(chosen) if fmt == "dot" else graph.mermaid(chosen))
    return 0
