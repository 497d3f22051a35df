"""--junit: one test case per job and per step, valid against the JUnit schema CI servers use."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import xmlschema

from runner import junit, session
from runner.cancel import CancelToken
from runner.model.results import JobResult, Status, StepResult
from runner.output import Console
from tests.fake_engine import FakeEngine
from tests.unit.harness import prepared
from tests.unit.pipelines import IMAGE

SCHEMA = xmlschema.XMLSchema(Path(__file__).resolve().parents[1] / "fixtures" / "junit.xsd")


def step(name: str, status: Status, code: int | None) -> StepResult:
    return StepResult(name=name, status=status, exit_code=code, started_at=1.0, finished_at=1.5)


RESULTS = [
    JobResult(
        name="lint",
        stage="test",
        status=Status.PASSED,
        started_at=0.0,
        finished_at=2.0,
        exit_code=0,
        steps=(step("ruff", Status.PASSED, 0),),
    ),
    JobResult(
        name="test.PY-3.12",
        stage="test",
        status=Status.FAILED,
        started_at=0.0,
        finished_at=3.0,
        exit_code=2,
        reason="step 'pytest' exited 2",
        steps=(step("pytest", Status.FAILED, 2), step("coverage", Status.SKIPPED, None)),
    ),
    JobResult(name="ship", stage="deploy", status=Status.SKIPPED, reason="test.PY-3.12 failed"),
    JobResult(name="slow", stage="test", status=Status.TIMEOUT, reason="hit a timeout"),
    JobResult(name="stop", stage="test", status=Status.CANCELLED, reason="interrupted"),
    JobResult(name="flaky", stage="test", status=Status.ALLOWED_FAILURE, reason="exited 1"),
]


def tail(result: JobResult) -> str:
    return f"last lines of {result.name}\n\x1b bell\n" if result.status.blocks else ""


def document() -> ET.Element:
    text = junit.to_xml(
        RESULTS, pipeline="ci", tail=tail, mask=lambda t: t.replace("'pytest'", "***")
    )
    SCHEMA.validate(text)
    return ET.fromstring(text)


def test_one_case_per_job_and_per_step_counted_in_the_suite() -> None:
    suite = document().find("testsuite")
    assert suite is not None
    cases = [(c.get("classname"), c.get("name")) for c in suite.iter("testcase")]
    assert cases == [
        ("ci.test", "lint"),
        ("ci.test.lint", "ruff"),
        ("ci.test", "test.PY-3.12"),
        ("ci.test.test.PY-3.12", "pytest"),
        ("ci.test.test.PY-3.12", "coverage"),
        ("ci.deploy", "ship"),
        ("ci.test", "slow"),
        ("ci.test", "stop"),
        ("ci.test", "flaky"),
    ]
    counts = {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped", "time")}
    assert counts == {"tests": "9", "failures": "3", "errors": "1", "skipped": "3", "time": "5.000"}


def test_a_failure_has_the_reason_and_the_log_tail() -> None:
    suite = document().find("testsuite")
    assert suite is not None
    failed = next(c for c in suite.iter("testcase") if c.get("name") == "test.PY-3.12")
    failure = failed.find("failure")
    assert failure is not None
    assert (failure.get("message"), failure.get("type")) == ("step *** exited 2", "failed")
    assert failure.text == "last lines of test.PY-3.12\n? bell\n"  # no control characters
    pytest_step = next(c for c in suite.iter("testcase") if c.get("name") == "pytest")
    assert pytest_step.find("failure") is not None


def test_the_schema_would_refuse_a_broken_document() -> None:
    text = junit.to_xml(RESULTS, pipeline="ci", tail=tail)
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        SCHEMA.validate(text.replace('tests="9"', 'tests="nine"', 1))
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        SCHEMA.validate(text.replace("<testcase name=", "<testcase nom=", 1))


def test_a_run_writes_it_with_the_log_tail(tmp_path: Path) -> None:
    engine = FakeEngine(
        present={IMAGE: "sha256:" + "1" * 64},
        script=lambda c: (3, b"something broke\n") if c == "boom" else (0, b""),
    )
    text = "jobs:\n  ok: {steps: [fine]}\n  bad: {steps: [boom]}\n"
    ready = prepared(text, tmp_path)
    request = replace(ready.resolved.request, junit_file=tmp_path / "junit.xml")
    ready = replace(ready, resolved=replace(ready.resolved, request=request))
    console = Console(io.StringIO(), colour=False, mask=str)
    session.run(ready, engine=engine, console=console, token=CancelToken())
    written = (tmp_path / "junit.xml").read_text()
    SCHEMA.validate(written)
    assert "something broke" in written
    assert 'failures="2"' in written  # the job and its step
