"""What a run leaves behind when it ends: the summary on the console, the JSON report
beside its logs (and where `--report` asks), the JUnit file, and the notes that go with
them. The results are already decided; this only writes them down."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from runner import report
from runner.engine import cleanup
from runner.errors import EngineLost
from runner.model.results import JobResult, Status
from runner.output import Console
from runner.plan.plan import Plan

if TYPE_CHECKING:
    from runner.session import Prepared


def junit_tail(result: JobResult) -> str:
    """What a JUnit failure shows: the end of the job's log (saved masked)."""
    from runner import junit  # noqa: PLC0415 (only --junit)

    return junit.log_tail(result.log_file) if result.status.blocks else ""


def all_cancelled(chosen: Plan) -> list[JobResult]:
    """Every job of a run stopped before it started: cancelled (or skipped by `if:`)."""
    return [
        JobResult(
            name=p.name,
            stage=p.job.stage,
            status=Status.SKIPPED if p.skip_reason else Status.CANCELLED,
            reason=p.skip_reason or "interrupted",
        )
        for p in chosen.jobs
    ]


def not_triggered(prepared: Prepared, console: Console) -> tuple[str, ...]:
    """Say why the event does not start this pipeline, and write that where `--report`
    asks (nothing ran: no run folder); the reasons."""
    resolved = prepared.resolved
    reasons = resolved.decision.reasons if resolved.decision else ()
    event = resolved.request.event
    console.note(
        f"{resolved.pipeline.name}: not run for this {event.name if event else 'push'} event: "
        f"{'; '.join(reasons)} (--force runs it anyway)"
    )
    if resolved.request.report_file is not None:
        document = report.not_triggered_json(
            run_id=prepared.settings.run_id,
            pipeline=resolved.pipeline.path,
            event=event,
            reasons=reasons,
            mask=console.mask,
        )
        resolved.request.report_file.write_text(document + "\n")
    return reasons


def write(
    prepared: Prepared,
    console: Console,
    results: list[JobResult],
    *,
    interrupted: bool,
    lost: EngineLost | None = None,
) -> None:
    resolved, run_id = prepared.resolved, prepared.settings.run_id
    summary = resolved.request.summary
    if summary:
        console.note("")
        console.note(report.table(results, mask=console.mask))
    document = report.to_json(
        results,
        run_id=run_id,
        pipeline=resolved.pipeline.path,
        mask=console.mask,
        interrupted=interrupted,
        event=resolved.request.event,
        engine_lost=lost is not None,
    )
    # every run keeps its report beside its logs; --report puts a copy where asked
    prepared.run_dir.mkdir(parents=True, exist_ok=True)
    for path in (prepared.run_dir / "report.json", resolved.request.report_file):
        if path is not None:
            path.write_text(document + "\n")
    if resolved.request.junit_file is not None:
        from runner import junit  # noqa: PLC0415 (only --junit)

        xml = junit.to_xml(
            results, pipeline=resolved.pipeline.name, tail=junit_tail, mask=console.mask
        )
        resolved.request.junit_file.write_text(xml, encoding="utf-8")
    shutil.rmtree(prepared.approvals, ignore_errors=True)  # nothing waits any more
    if lost is not None:
        console.note(lost.render())
    verdict = report.verdict(results, interrupted=interrupted, engine_lost=lost is not None)
    console.note(f"pipeline {verdict} (run {run_id})" if summary else f"{verdict} (run {run_id})")
    if prepared.keep:
        console.note(
            f"{cleanup.KEEP_ENV} is set: the run's containers and network were kept; "
            "remove them with `dockstep clean` once this process has ended"
        )
