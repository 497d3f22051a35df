"""The runner service without its HTTP: events in, runs queued, run, recorded, cancelled.

Every way a run starts (a webhook, a schedule, a re-run) goes through `start`: fetch the
commit from the configured remote into the mirror, check it is reachable there, check it
out into a clean work directory, choose the pipelines whose `on:` matches, record the
run as queued and hand it to the queue. The HTTP app (`runner.service.app`) only
translates requests into these calls and their `Reply` into responses.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from runner import context
from runner.cancel import CancelToken
from runner.engine import cleanup
from runner.engine.api import ContainerEngine
from runner.errors import DockstepError
from runner.model.events import Event, EventKind
from runner.model.results import JobResult
from runner.service import approving, recording, selection, webhooks
from runner.service.access import service_dir
from runner.service.history import History, history_path
from runner.service.launcher import Backends, Launch, Launcher, SessionLauncher, log_dir_of
from runner.service.lock import ServiceLock
from runner.service.mirror import Mirror, MirrorError, Workdirs
from runner.service.queue import Cancelled, Ending, Finished, RunQueue
from runner.service.records import RunStatus
from runner.service.schedules import ScheduleBook, ScheduleEntry, utc_now
from runner.service.webhooks import Hook, HookKind, Rejected

log = logging.getLogger("dockstep.service")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    remote: str  # a URL or a path: where commits are fetched from, never from a payload
    state_dir: Path
    secret: str = field(repr=False)  # webhooks' HMAC key / GitLab token
    concurrency: int = 2
    backends: Backends = field(default_factory=Backends)  # --backend, --registry, the swarm


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    status: int  # the HTTP status the app answers with
    body: Mapping[str, object]


class Service:
    def __init__(
        self,
        settings: Settings,
        *,
        engine: ContainerEngine,
        environ: Mapping[str, str],
        launcher: Launcher | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        home = service_dir(settings.state_dir)
        self.logs = home / "logs"
        self.mirror = Mirror(settings.remote, home / "mirror.git")
        self.workdirs = Workdirs(home / "work")
        self.environ = environ
        self._engine = engine
        self._lock = ServiceLock(settings.state_dir)
        self._clock = clock
        self._launcher = launcher
        self._guard = threading.Lock()
        self._tokens: dict[int, CancelToken] = {}
        self._tickets: dict[int, int] = {}
        self._stopping = threading.Event()
        self.interrupted: tuple[int, ...] = ()

    # ------------------------------------------------------------ life

    def open(self) -> None:
        """Take the state folder, mark what a dead service left, sweep, fetch, start."""
        self._lock.acquire()
        self.history = History(history_path(self.settings.state_dir))
        self.interrupted = self.history.mark_interrupted_at_startup()
        for problem in cleanup.remove(self._engine, cleanup.orphans(self._engine)):
            log.warning("%s", problem)
        self.workdirs.sweep()
        self.mirror.fetch()
        self.book = ScheduleBook(self._schedule_entries(), self.history, clock=self._clock)
        self.launcher = self._launcher or SessionLauncher(
            self._engine, self.history, self.environ, self.settings.backends
        )
        self.queue: RunQueue[Launch, RunStatus] = RunQueue(
            self._execute,
            limit=self.settings.concurrency,
            cancel=self._cancel_item,
            on_finished=self._finished,
        )

    def close(self) -> None:
        """Cancel what runs (it is recorded as cancelled) and let go of the state folder."""
        self._stopping.set()
        self.queue.shutdown(wait=True, cancel=True)
        self.history.close()
        self._lock.release()

    def run_schedules(self) -> None:
        """The schedule loop (a thread of its own): fire what is due, sleep until next."""
        while not self._stopping.wait(self._until_next()):
            try:
                self.tick()
            except Exception:  # a bad tick must not end the schedules
                log.exception("firing schedules failed")

    def _until_next(self) -> float:
        due = self.book.next_due()
        seconds = 60.0 if due is None else (due - self._clock()).total_seconds()
        return min(max(seconds, 1.0), 60.0)

    # ------------------------------------------------------------ events in

    def receive(self, kind: str, headers: Mapping[str, str], body: bytes) -> Reply:
        hook = Hook(name=kind, kind=HookKind(kind), secret=self.settings.secret)
        outcome = webhooks.receive(
            hook, headers, body, is_new=lambda d, h: self.history.record_delivery(kind, d, h)
        )
        if isinstance(outcome, Rejected):
            return Reply(status=outcome.status, body={"error": outcome.reason})
        return self.start(outcome.event, requested_by=f"{kind} delivery {outcome.delivery}")

    def tick(self, now: datetime | None = None) -> list[Reply]:
        """Start the runs of the schedule entries due at `now` (default: the clock's)."""
        fires = self.book.due(now)
        if not fires:
            return []
        self.mirror.fetch()
        branch, head = self.mirror.default_branch, self.mirror.head()
        replies = []
        for fire in fires:
            event = dataclasses.replace(
                fire.event, commit=head, branch=branch, ref=f"refs/heads/{branch}"
            )
            only = (fire.entry.pipeline,)
            replies.append(self.start(event, requested_by=f"schedule {fire.entry.cron}", only=only))
        return replies

    def start(
        self,
        event: Event,
        *,
        requested_by: str,
        only: tuple[str, ...] = (),
        reuse: Mapping[str, tuple[JobResult, ...]] | None = None,
    ) -> Reply:
        """Fetch, check out, choose the pipelines, record the run and queue it."""
        try:
            self.mirror.fetch()
        except MirrorError as error:
            return Reply(status=502, body={"error": str(error)})
        if not self.mirror.has(event.commit):
            reason = f"commit {event.commit[:12]} is not reachable from {self.settings.remote}"
            return Reply(status=422, body={"error": reason})
        event = self.mirror.with_changes(event)
        workdir = self.workdirs.make("run")
        try:
            self.mirror.checkout(event.commit, workdir, branch=event.branch)
            chosen = selection.triggered(workdir, event, only)
            self._refresh_schedules(event, workdir)
        except DockstepError as error:
            self.workdirs.remove(workdir)
            return Reply(status=502, body={"error": str(error)})
        if not chosen.pipelines:
            self.workdirs.remove(workdir)
            return Reply(status=202, body={"run": None, "reasons": dict(chosen.reasons)})
        return self._queue(event, workdir, chosen.pipelines, requested_by, reuse or {})

    def _queue(
        self,
        event: Event,
        workdir: Path,
        pipelines: tuple[str, ...],
        requested_by: str,
        reuse: Mapping[str, tuple[JobResult, ...]],
    ) -> Reply:
        now = time.time()
        ids = {p: f"{context.new_run_id(now)}-{log_dir_of(p)}" for p in pipelines}
        record = self.history.create_run(
            pipelines=pipelines, event=event, requested_by=requested_by, session_runs=ids
        )
        launch = Launch(
            run_id=record.id,
            event=event,
            workdir=workdir,
            pipelines=pipelines,
            session_runs=tuple(ids.items()),
            log_dir=self.logs / str(record.id),
            reuse=tuple((p, reuse[p]) for p in pipelines if p in reuse),
        )
        with self._guard:
            self._tokens[record.id] = CancelToken()
            self._tickets[record.id] = self.queue.submit(launch).number
        return Reply(status=202, body={"run": record.id, "pipelines": list(pipelines)})

    # ------------------------------------------------------------ the queue's side

    def _execute(self, launch: Launch) -> RunStatus:
        if not self.history.mark_started(launch.run_id):
            return RunStatus.CANCELLED
        try:
            status = self.launcher.launch(launch, self._token(launch.run_id))
        finally:
            self.workdirs.remove(launch.workdir)
        self.history.finish_run(launch.run_id, status, report_dir=str(launch.log_dir))
        return status

    def _finished(self, finished: Finished[Launch, RunStatus]) -> None:
        launch = finished.item
        with self._guard:
            self._tokens.pop(launch.run_id, None)
            self._tickets.pop(launch.run_id, None)
        if finished.ending is Ending.DONE:
            return
        self.workdirs.remove(launch.workdir)
        if finished.error is not None:
            log.error("run %d failed: %r", launch.run_id, finished.error)
        status = RunStatus.CANCELLED if finished.ending is Ending.CANCELLED else RunStatus.FAILED
        self.history.finish_run(launch.run_id, status, report_dir=str(launch.log_dir))

    def _token(self, run_id: int) -> CancelToken:
        with self._guard:
            return self._tokens.setdefault(run_id, CancelToken())

    def _cancel_item(self, launch: Launch) -> None:
        self._token(launch.run_id).cancel()

    # ------------------------------------------------------------ actions on runs

    def cancel(self, run_id: int) -> Reply:
        with self._guard:
            number = self._tickets.get(run_id)
        outcome = Cancelled.UNKNOWN if number is None else self.queue.cancel(number)
        if outcome is Cancelled.UNKNOWN:
            found = self.history.get_run(run_id)
            status = 404 if found is None else 409
            return Reply(status=status, body={"error": f"run {run_id} is not queued or running"})
        return Reply(status=202, body={"run": run_id, "cancel": outcome.value})

    def approve(self, run_id: int, job: str, who: str) -> Reply:
        try:
            approving.approve(self.history, self.environ, run_id, job, who)
        except DockstepError as error:
            return Reply(status=409, body={"error": str(error)})
        return Reply(status=200, body={"run": run_id, "approved": job})

    def rerun(self, run_id: int, *, failed: bool) -> Reply:
        detail = self.history.get_run(run_id)
        if detail is None:
            return Reply(status=404, body={"error": f"no run {run_id}"})
        pipelines = detail.run.pipelines
        reuse = {p: recording.reusable(detail, p) for p in pipelines} if failed else {}
        return self.start(
            recording.event_of(detail),
            requested_by=f"re-run of {run_id}" + (" (failed jobs)" if failed else ""),
            only=pipelines,
            reuse=reuse,
        )

    # ------------------------------------------------------------ schedules

    def _schedule_entries(self) -> list[ScheduleEntry]:
        head = self.mirror.head()
        if not head:
            return []
        workdir = self.workdirs.make("schedules")
        try:
            self.mirror.checkout(head, workdir)
            return selection.schedule_entries(workdir)
        finally:
            self.workdirs.remove(workdir)

    def _refresh_schedules(self, event: Event, workdir: Path) -> None:
        """A push to the default branch may change the schedules: read them again."""
        default = self.mirror.default_branch
        if event.kind is EventKind.PUSH and event.branch == default and hasattr(self, "book"):
            self.book = ScheduleBook(
                selection.schedule_entries(workdir), self.history, clock=self._clock
            )
