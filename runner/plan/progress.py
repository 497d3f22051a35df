"""The bookkeeping of an orchestrated run as its pipelines finish. Pure.

`compose` decided up front what starts and what waits; `Progress` follows the run: it says
which pipelines to start now, records how each one ended (as its downstreams see it), and
releases or skips the waiting ones once everything they wait for has finished. A skipped
pipeline counts as a finished upstream too, so skips travel down a chain with their reason.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from runner.model.events import Event, PipelineStatus, Upstream
from runner.model.results import JobResult
from runner.plan.compose import Orchestration, Planned, release, upstream


@dataclass(frozen=True, slots=True, kw_only=True)
class Start:
    """A pipeline to run now, and the event it runs for (a chained one: `pipeline`)."""

    name: str
    event: Event


@dataclass(frozen=True, slots=True, kw_only=True)
class Ended:
    """How a pipeline of the orchestration ended, or why it never started."""

    name: str
    status: PipelineStatus
    reasons: tuple[str, ...] = ()  # why it was skipped or cancelled
    event: Event | None = None  # what it ran for; None: it did not run


class Progress:
    def __init__(
        self, orchestration: Orchestration, *, selected: Collection[str] | None = None
    ) -> None:
        """`selected`: the pipelines `--job` picked (None: all); the others count as skipped."""
        self._orchestration = orchestration
        self._selected = selected
        self._waiting: list[Planned] = []
        self._running: dict[str, Event] = {}
        self.finished: dict[str, Upstream] = {}
        self.ended: dict[str, Ended] = {}

    def start(self) -> list[Start]:
        """The pipelines that start at once; the ones that never will are recorded skipped."""
        event = self._orchestration.event
        starts: list[Start] = []
        for planned in self._orchestration.pipelines:
            if self._selected is not None and planned.name not in self._selected:
                self._skip(planned.name, ("not selected by --job",))
            elif not planned.decision.runs:
                self._skip(planned.name, planned.decision.reasons)
            elif planned.waits_for:
                self._waiting.append(planned)
            else:
                starts.append(self._run(planned.name, event))
        return starts + self.released()

    def finish(self, name: str, results: Sequence[JobResult], *, interrupted: bool = False) -> None:
        """A started pipeline ended with these job results."""
        found = upstream(name, results)
        if interrupted:
            found = Upstream(pipeline=name, status=PipelineStatus.CANCELLED, images=found.images)
        self.finished[name] = found
        event = self._running.pop(name)
        self.ended[name] = Ended(name=name, status=found.status, event=event)

    def fail(self, name: str, reason: str) -> None:
        """A started pipeline could not run at all (its preparation failed)."""
        self._running.pop(name, None)
        self.finished[name] = Upstream(pipeline=name, status=PipelineStatus.FAILED)
        self.ended[name] = Ended(name=name, status=PipelineStatus.FAILED, reasons=(reason,))

    def released(self) -> list[Start]:
        """Waiting pipelines whose upstreams all finished: those that run now.

        The ones whose chain triggers did not fire are recorded skipped, with the reasons,
        which can in turn release (and skip) their own downstreams: hence the loop.
        """
        starts: list[Start] = []
        progressed = True
        while progressed:
            progressed = False
            for planned in list(self._waiting):
                if not all(name in self.finished for name in planned.waits_for):
                    continue
                self._waiting.remove(planned)
                progressed = True
                upstreams = [self.finished[name] for name in planned.waits_for]
                decided = release(planned, self._orchestration.event, upstreams)
                if decided.runs and decided.event is not None:
                    starts.append(self._run(planned.name, decided.event))
                else:
                    self._skip(planned.name, decided.reasons)
        return starts

    def cancel_waiting(self, reason: str) -> None:
        """The run was interrupted: what still waits never starts."""
        for planned in self._waiting:
            self.finished[planned.name] = Upstream(
                pipeline=planned.name, status=PipelineStatus.CANCELLED
            )
            self.ended[planned.name] = Ended(
                name=planned.name, status=PipelineStatus.CANCELLED, reasons=(reason,)
            )
        self._waiting.clear()

    @property
    def running(self) -> tuple[str, ...]:
        return tuple(self._running)

    def outcomes(self) -> tuple[Ended, ...]:
        """Every pipeline's end, upstreams first."""
        return tuple(
            self.ended[p.name] for p in self._orchestration.pipelines if p.name in self.ended
        )

    def _run(self, name: str, event: Event) -> Start:
        self._running[name] = event
        return Start(name=name, event=event)

    def _skip(self, name: str, reasons: tuple[str, ...]) -> None:
        self.finished[name] = upstream(name, (), skipped=True)
        self.ended[name] = Ended(name=name, status=PipelineStatus.SKIPPED, reasons=reasons)
