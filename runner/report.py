"""Results -> the summary table, the JSON report and the exit code. Pure."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from runner.errors import EXIT_INFRASTRUCTURE, EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK
from runner.model.events import Event
from runner.model.results import Artifacts, JobResult, Packaged, StepResult, pipeline_passed

REPORT_VERSION = 1
NOT_TRIGGERED = "not-triggered"  # the status of a run whose event does not match its `on:`


def exit_code(
    results: Sequence[JobResult], *, interrupted: bool = False, engine_lost: bool = False
) -> int:
    if interrupted:
        return EXIT_INTERRUPTED
    if engine_lost:
        return EXIT_INFRASTRUCTURE
    return EXIT_OK if pipeline_passed(list(results)) else EXIT_JOB_FAILED


def verdict(
    results: Sequence[JobResult], *, interrupted: bool = False, engine_lost: bool = False
) -> str:
    if interrupted:
        return "interrupted"
    if engine_lost:
        return "failed"
    return "passed" if pipeline_passed(list(results)) else "failed"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}s"


def _short(text: str, limit: int = 100) -> str:
    """The table keeps one line per job; the full reason is in the log and the report."""
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def masked(value: Any, mask: Callable[[str], str]) -> Any:
    """Mask every string before encoding: JSON escapes (\\u00e4, \\") would hide a secret
    from a mask applied to the encoded text."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask(k): masked(v, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, mask) for v in value]
    return value


def table(results: Sequence[JobResult], mask: Callable[[str], str] = str) -> str:
    rows = [
        [
            r.name,
            r.stage,
            r.status.value,
            _seconds(r.duration),
            "" if r.exit_code is None else r.exit_code,
            r.cache.status.value if r.cache else "",
            _short(mask(r.reason or "")),
        ]
        for r in results
    ]
    headers = ["job", "stage", "status", "duration", "exit", "cache", "note"]
    from tabulate import tabulate  # noqa: PLC0415 (the summary, at the end of a run)

    return tabulate(rows, headers=headers, tablefmt="simple")


def _step(step: StepResult) -> dict[str, Any]:
    return {
        "name": step.name,
        "status": step.status.value,
        "exit_code": step.exit_code,
        "attempts": step.attempts,
        "oom_killed": step.oom_killed,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
        "duration": round(step.duration, 4),
    }


def job_json(result: JobResult) -> dict[str, Any]:
    duration = result.duration
    return {
        "name": result.name,
        "stage": result.stage,
        "status": result.status.value,
        "exit_code": result.exit_code,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "duration": None if duration is None else round(duration, 4),
        "reason": result.reason,
        "image": result.image,
        "cache": result.cache.status.value if result.cache else None,
        "cache_key": result.cache.key if result.cache else None,
        "cache_inputs": dict(result.cache.inputs) if result.cache else {},
        "outputs": outputs(result),
        "packaged": _packaged(result.packaged),
        "deployment": asdict(result.deployment) if result.deployment else None,
        "artifacts": _artifacts(result.artifacts),
        "log_file": result.log_file,
        "steps": [_step(s) for s in result.steps],
    }


def outputs(result: JobResult) -> dict[str, str]:
    """The flat name -> text view of a job's outputs, as report version 1 had it."""
    found: dict[str, str] = {}
    if result.packaged:
        found |= {
            "image": result.packaged.image,
            "tags": " ".join(result.packaged.tags),
            "pushed": " ".join(p.reference for p in result.packaged.pushed),
        }
    if result.deployment:
        deployed = result.deployment
        found |= {
            "service": deployed.service,
            "environment": deployed.environment,
            "image": deployed.image,
            "previous": deployed.previous_image or "",
        }
    if result.baseline:
        found |= {
            "requests": str(result.baseline.requests),
            "p50_ms": f"{result.baseline.p50 * 1000:.2f}",
            "p95_ms": f"{result.baseline.p95 * 1000:.2f}",
            "error_rate": f"{result.baseline.error_rate:.4f}",
        }
    if result.rolled_back:
        found["rolled_back"] = "true"
    if result.artifacts:
        found["artifacts"] = result.artifacts.folder
    return found


def _packaged(packaged: Packaged | None) -> dict[str, Any] | None:
    if packaged is None:
        return None
    pushed = [{**asdict(p), "reference": p.reference} for p in packaged.pushed]
    return {"image": packaged.image, "tags": list(packaged.tags), "pushed": pushed}


def _artifacts(artifacts: Artifacts | None) -> dict[str, Any] | None:
    if artifacts is None:
        return None
    return {"folder": artifacts.folder, "files": dict(artifacts.files)}


def to_json(
    results: Sequence[JobResult],
    *,
    run_id: str,
    pipeline: str,
    mask: Callable[[str], str],
    interrupted: bool = False,
    event: Event | None = None,
    engine_lost: bool = False,
) -> str:
    """The run as JSON; masked like every other line dockstep writes."""
    document = {
        "version": REPORT_VERSION,
        "run_id": run_id,
        "pipeline": pipeline,
        "status": verdict(results, interrupted=interrupted, engine_lost=engine_lost),
        "exit_code": exit_code(results, interrupted=interrupted, engine_lost=engine_lost),
        "event": event_json(event),
        "jobs": [job_json(r) for r in results],
    }
    return json.dumps(masked(document, mask), indent=2)


def not_triggered_json(
    *,
    run_id: str,
    pipeline: str,
    event: Event | None,
    reasons: Sequence[str],
    mask: Callable[[str], str],
) -> str:
    """A run the event did not trigger: no job ran, the exit code is 0, and why."""
    document = {
        "version": REPORT_VERSION,
        "run_id": run_id,
        "pipeline": pipeline,
        "status": NOT_TRIGGERED,
        "exit_code": EXIT_OK,
        "event": event_json(event),
        "jobs": [],
        "reasons": list(reasons),
    }
    return json.dumps(masked(document, mask), indent=2)


def event_json(event: Event | None) -> dict[str, Any] | None:
    """The event a run was for (None: none was given), with its changed paths."""
    return None if event is None else asdict(event)
