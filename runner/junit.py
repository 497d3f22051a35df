"""Results -> JUnit XML, the report CI servers already read. Pure: the log tail is passed in.

One `<testsuite>` for the run; a `<testcase>` per job (classname `<pipeline>.<stage>`) and
one per step (classname `<pipeline>.<stage>.<job>`). A failed or timed-out job or step is
a `<failure>` with the reason as its message and the job's log tail as its text; a
cancelled one an `<error>`; a skipped one, or one allowed to fail, `<skipped>`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence

from runner.model.results import JobResult, Status, StepResult

TAIL_LINES = 30
_FAILURE = {Status.FAILED: "failure", Status.TIMEOUT: "failure", Status.CANCELLED: "error"}
_SKIPPED = (Status.SKIPPED, Status.ALLOWED_FAILURE)


def to_xml(
    results: Sequence[JobResult],
    *,
    pipeline: str,
    tail: Callable[[JobResult], str],
    mask: Callable[[str], str] = str,
) -> str:
    """The run as a JUnit document; `tail(result)` is the end of a job's log (masked)."""
    suite = ET.Element("testsuite", name=mask(pipeline))
    for result in results:
        suite.append(_job_case(result, pipeline, tail, mask))
        suite.extend(_step_case(step, result, pipeline, mask) for step in result.steps)
    cases = list(suite)
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
        "errors": str(sum(1 for c in cases if c.find("error") is not None)),
        "skipped": str(sum(1 for c in cases if c.find("skipped") is not None)),
        "time": _time(sum(r.duration or 0.0 for r in results)),
    }
    suite.attrib.update(counts)
    root = ET.Element("testsuites", {"name": mask(pipeline), **counts})
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _job_case(
    result: JobResult, pipeline: str, tail: Callable[[JobResult], str], mask: Callable[[str], str]
) -> ET.Element:
    case = ET.Element(
        "testcase",
        name=result.name,
        classname=f"{pipeline}.{result.stage}",
        time=_time(result.duration or 0.0),
    )
    reason = mask(result.reason or result.status.value)
    _outcome(case, result.status, reason, mask(tail(result)))
    return case


def _step_case(
    step: StepResult, job: JobResult, pipeline: str, mask: Callable[[str], str]
) -> ET.Element:
    case = ET.Element(
        "testcase",
        name=mask(step.name),
        classname=f"{pipeline}.{job.stage}.{job.name}",
        time=_time(step.duration),
    )
    code = "" if step.exit_code is None else f" (exit {step.exit_code})"
    _outcome(case, step.status, f"step {step.status.value}{code}", "")
    return case


def _outcome(case: ET.Element, status: Status, message: str, text: str) -> None:
    if status in _FAILURE:
        element = ET.SubElement(case, _FAILURE[status], message=_clean(message), type=status.value)
        element.text = _clean(text) or None
    elif status in _SKIPPED:
        ET.SubElement(case, "skipped", message=_clean(message))


def _time(seconds: float) -> str:
    return f"{max(0.0, seconds):.3f}"


def _clean(text: str) -> str:
    """XML 1.0 cannot hold most control characters: a log may."""
    return "".join(c if c in "\t\n\r" or c >= " " else "?" for c in text)


def log_tail(path: str | None, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a job's log file, or "" when it has none."""
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            return "".join(log.readlines()[-lines:])
    except OSError:
        return ""
