"""The manual gate: a deploy to an environment marked `approval: required`, and a job
marked `when: manual`, wait for `dockstep approve RUN JOB`; a deploy fails at once when
nobody can answer (no terminal, or CI), and a manual job is skipped by the plan then.

An approval is a file in the user's dockstep directory (never in the workspace, which a
job could write), so any shell of that user on the machine can give it while the run
waits; `dockstep run --approve JOB` gives it up front for scripted runs.

In an orchestrated run each pipeline's session has a run (and approvals folder) of its
own, `<run>-<pipeline>`; the orchestrated run's folder holds only `pipelines.json`, which
maps each pipeline to it, so `dockstep approve RUN pipeline/job` takes the run id printed
at the start.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from runner.errors import DockstepError, UsageError
from runner.execute.kinds import JobContext, KindRunner, Outcome
from runner.model.pipeline import Job
from runner.progress import Phase, Stage

POLL = 0.5


class ApprovalMissing(DockstepError):
    pass


def approval_file(run_dir: Path, job: str) -> Path:
    return run_dir / "approvals" / job


GATED = "gated.json"  # the run's deploy jobs that wait for approval, written at its start
PIPELINES = "pipelines.json"  # an orchestrated run: pipeline name -> its session's run id


def record_gated(run_dir: Path, jobs: list[str]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / GATED).write_text(json.dumps(sorted(jobs)) + "\n")


def record_pipelines(run_dir: Path, runs: dict[str, str]) -> None:
    """An orchestrated run's map from its pipelines to their sessions' run ids."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / PIPELINES).write_text(json.dumps(runs, indent=2, sort_keys=True) + "\n")


def within(runs: Path, run_id: str, job: str) -> tuple[str, str]:
    """The session run and job that `approve RUN JOB` means: for an orchestrated run, JOB
    is `pipeline/job` and the run is that pipeline's own; otherwise both as given."""
    try:
        pipelines = json.loads((runs / run_id / PIPELINES).read_text())
    except (OSError, ValueError):
        return run_id, job
    name, sep, bare = job.partition("/")
    if not sep or not bare:
        raise UsageError(f"run {run_id} runs several pipelines: name the job as pipeline/job")
    if name not in pipelines:
        known = ", ".join(sorted(pipelines)) or "none"
        raise UsageError(f"run {run_id} has no pipeline {name!r} (pipelines: {known})")
    return str(pipelines[name]), bare


def approve(runs: Path, run_id: str, job: str) -> Path:
    """Record an approval for a deploy of `job` in run `run_id` that waits (or will)."""
    run_id, job = within(runs, run_id, job)
    run_dir = runs / run_id
    if not run_dir.is_dir():
        known = sorted(p.name for p in runs.iterdir())[-3:] if runs.is_dir() else []
        hint = f"; recent runs: {', '.join(known)}" if known else ""
        raise UsageError(f"no run {run_id!r} is waiting for approvals here ({runs}){hint}")
    if (run_dir / "report.json").exists():
        raise UsageError(f"run {run_id} has already ended")
    try:
        gated = json.loads((run_dir / GATED).read_text())
    except (OSError, ValueError):
        gated = None
    if gated is not None and job not in gated:
        waiting = ", ".join(gated) or "none"
        raise UsageError(
            f"job {job!r} of run {run_id} does not wait for approval (jobs that do: {waiting})"
        )
    path = approval_file(run_dir, job)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


class _What(NamedTuple):
    action: str  # "deploy to production": what is approved
    needs: str  # "deploying to production": what needs the approval


class Gate:
    def __init__(
        self,
        run_dir: Path,
        run_id: str,
        *,
        interactive: bool,
        approved: tuple[str, ...] = (),
        cancelled: threading.Event | None = None,
        pipeline: str | None = None,
    ) -> None:
        """`run_id`: what `dockstep approve` takes; `pipeline`: in an orchestrated run,
        this session's pipeline (approved as `pipeline/job` under the run's own id)."""
        self._run_dir = run_dir
        self._run_id = run_id
        self._prefix = f"{pipeline}/" if pipeline else ""
        self._interactive = interactive
        self._approved = set(approved)
        self._cancelled = cancelled or threading.Event()

    def wait(
        self,
        job: str,
        environment: str,
        say: Callable[[str], None],
        timeout: float | None = None,
        stopped: threading.Event | None = None,
    ) -> None:
        """Return once `job` is approved; raise when it cannot be, when the job's `timeout`
        passes first, or when the run or the job (`stopped`) is cancelled."""
        what = _What(f"deploy to {environment}", f"deploying to {environment}")
        self._hold(job, what, say, timeout, stopped)

    def wait_manual(
        self,
        job: str,
        say: Callable[[str], None],
        timeout: float | None = None,
        stopped: threading.Event | None = None,
    ) -> None:
        """`wait`, for a `when: manual` job before it starts."""
        self._hold(job, _What("start this manual job", "a manual job"), say, timeout, stopped)

    def _hold(
        self,
        job: str,
        what: _What,
        say: Callable[[str], None],
        timeout: float | None,
        stopped: threading.Event | None,
    ) -> None:
        named = f"{self._prefix}{job}"
        command = f"dockstep approve {self._run_id} {named}"
        if job in self._approved or approval_file(self._run_dir, job).exists():
            say(f"{what.action} approved")
            return
        if not self._interactive:
            raise ApprovalMissing(
                f"job {job!r}: {what.needs} needs approval and this run cannot "
                f"wait for one (no terminal, or CI); pass --approve {named}, or run it "
                f"interactively and approve with `{command}`"
            )
        say(f"waiting for approval to {what.action}: run `{command}`")
        deadline = None if timeout is None else time.monotonic() + timeout
        while not approval_file(self._run_dir, job).exists():
            if self._cancelled.wait(POLL) or (stopped is not None and stopped.is_set()):
                raise ApprovalMissing(f"job {job!r}: cancelled while waiting for approval")
            if deadline is not None and time.monotonic() > deadline:
                raise ApprovalMissing(f"job {job!r}: no approval within its timeout")
        say(f"{what.action} approved")

    def cancel(self) -> None:
        self._cancelled.set()


class ManualJobs:
    """Wraps a kind runner: a `when: manual` job waits for its approval before it starts.

    The plan already skipped the manual jobs nobody can approve (an unattended run), so
    what reaches here either is approved up front or can be waited for.
    """

    def __init__(self, inner: KindRunner[Any], gate: Gate) -> None:
        self._inner = inner
        self._gate = gate

    def run(self, job: Job, action: Any, context: JobContext) -> Outcome:
        if job.manual:
            context.log.phase(Phase(stage=Stage.APPROVAL))
            self._gate.wait_manual(
                job.name, context.log.line, timeout=job.timeout, stopped=context.slot.stopped
            )
        return self._inner.run(job, action, context)

    def cancel(self) -> None:
        self._gate.cancel()
        self._inner.cancel()
