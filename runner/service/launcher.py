"""What a queued run does: run the chosen pipelines of one event in its work directory.

`Launcher` is the seam: today `SessionLauncher` runs each triggered pipeline through
`session.prepare`/`session.run`, one after the other, with the run's cancel token; a
multi-pipeline orchestrator (chains between pipelines) can take its place without the
queue, the history or the HTTP app changing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from runner import session
from runner.cancel import CancelToken
from runner.engine.api import ContainerEngine
from runner.engine.swarm.api import Swarm
from runner.errors import DockstepError
from runner.model.events import Event
from runner.model.pipeline import Backend
from runner.model.results import JobResult
from runner.output import Console
from runner.service import recording
from runner.service.history import History
from runner.service.records import RunStatus

CONSOLE_LOG = "console.log"


@dataclass(frozen=True, slots=True, kw_only=True)
class Launch:
    """One queued run: what it builds, where, and what it keeps from an earlier run."""

    run_id: int  # in the history
    event: Event
    workdir: Path  # a clean checkout of event.commit, removed after the run
    pipelines: tuple[str, ...]  # relative to workdir
    session_runs: tuple[tuple[str, str], ...]  # pipeline -> the session's run id
    log_dir: Path
    reuse: tuple[tuple[str, tuple[JobResult, ...]], ...] = ()  # pipeline -> kept results


class Launcher(Protocol):
    def launch(self, launch: Launch, token: CancelToken) -> RunStatus: ...


def log_dir_of(pipeline: str) -> str:
    """A pipeline's folder under the run's log folder: pipelines/ci.yml -> ci."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", Path(pipeline).stem)


def combined(statuses: list[RunStatus]) -> RunStatus:
    for worst in (RunStatus.CANCELLED, RunStatus.FAILED):
        if worst in statuses:
            return worst
    return RunStatus.PASSED


@dataclass(frozen=True, slots=True, kw_only=True)
class Backends:
    """Where the service's runs go (`dockstep serve --backend/--registry`): `backend` None
    leaves it to each pipeline's defaults.backend; `swarm` takes the runs whose steps jobs
    or deploys go to a swarm (it connects when a run first needs it)."""

    backend: Backend | None = None
    registry: str | None = None
    swarm: Swarm | None = None


class SessionLauncher:
    def __init__(
        self,
        engine: ContainerEngine,
        history: History,
        environ: Mapping[str, str],
        backends: Backends = Backends(),
    ) -> None:
        self._engine = engine
        self._history = history
        self._environ = environ
        self._backends = backends

    def launch(self, launch: Launch, token: CancelToken) -> RunStatus:
        launch.log_dir.mkdir(parents=True, exist_ok=True)
        statuses: list[RunStatus] = []
        with (launch.log_dir / CONSOLE_LOG).open("a", encoding="utf-8") as stream:
            console = Console(stream, colour=False, mask=str)
            for pipeline in launch.pipelines:
                if token.cancelled:
                    statuses.append(RunStatus.CANCELLED)
                    break
                statuses.append(self._one(launch, pipeline, console, token))
        return combined(statuses)

    def _one(
        self, launch: Launch, pipeline: str, console: Console, token: CancelToken
    ) -> RunStatus:
        request = session.RunRequest(
            pipeline=launch.workdir / pipeline,
            event=launch.event,
            force=True,  # the launcher matched the event to this pipeline already
            run_id=dict(launch.session_runs)[pipeline],
            log_dir=launch.log_dir / log_dir_of(pipeline),
            interactive=True,  # approvals come from the dashboard or `dockstep approve`
            reuse=dict(launch.reuse).get(pipeline, ()),
            backend=self._backends.backend,
            registry=self._backends.registry,
        )
        try:
            prepared = session.prepare(request, self._environ, launch.workdir)
        except DockstepError as error:
            console.note(f"{pipeline}: {error.render()}")
            return RunStatus.FAILED
        recording.begin(self._history, launch.run_id, pipeline, prepared)
        result = session.run(
            prepared,
            engine=self._engine,
            console=console,
            token=token,
            swarm=self._backends.swarm,
        )
        self._history.record_jobs(launch.run_id, result.jobs, pipeline=pipeline)
        return recording.status_of(result.jobs, cancelled=token.cancelled)
