"""`dockstep runs`: the run history of this machine, the service's runs and `dockstep run`'s."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

import click
from tabulate import tabulate

from runner import paths
from runner.service import views
from runner.service.history import History, history_path
from runner.service.records import RunRecord


def history(environ: Mapping[str, str]) -> History:
    return History(history_path(paths.state_dir(environ)))


def when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def row(run: RunRecord) -> list[object]:
    duration = run.duration
    return [
        run.id,
        run.status.value,
        ", ".join(p.rsplit("/", 1)[-1] for p in run.pipelines),
        run.event.value,
        run.source.value,
        run.commit[:12],
        run.branch or run.tag,
        when(run.created_at),
        "-" if duration is None else f"{duration:.1f}s",
    ]


def runs(environ: Mapping[str, str], *, as_json: bool = False, limit: int = 20) -> int:
    with history(environ) as found:
        records = found.list_runs(limit)
    if as_json:
        click.echo(json.dumps([views.summary(r) for r in records], indent=1))
        return 0
    headers = ["id", "status", "pipeline", "event", "source", "commit", "ref", "created", "took"]
    click.echo(tabulate([row(r) for r in records], headers=headers))
    return 0
