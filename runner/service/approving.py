"""`approve RUN JOB` for a run in the history, from the dashboard or the command line.

An approval is the session's file in the state folder (what the waiting deploy polls
for), written for each of the run's pipelines whose deploy `JOB` waits, and a row in the
history saying who gave it.
"""

from __future__ import annotations

from collections.abc import Mapping

from runner import session
from runner.errors import UsageError
from runner.service.history import History


def approve(
    history: History, environ: Mapping[str, str], run_id: int, job: str, who: str
) -> tuple[str, ...]:
    """The pipelines whose `job` was approved; raises when none waits for it."""
    detail = history.get_run(run_id)
    if detail is None:
        raise UsageError(f"no run {run_id} in the history")
    if detail.run.status.final:
        raise UsageError(f"run {run_id} has already ended ({detail.run.status.value})")
    approved, problems = [], []
    for pipeline, session_run in detail.run.session_runs:
        try:
            session.approve(environ, session_run, job)
        except UsageError as error:
            problems.append(str(error))
            continue
        approved.append(pipeline)
    if not approved:
        raise UsageError("; ".join(problems) or f"run {run_id} has no pipeline to approve")
    history.record_approval(run_id, job, who)
    return tuple(approved)
