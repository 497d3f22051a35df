"""One job over the fake engine: steps, retries, timeouts, env, masking, images."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.model.results import Status
from tests.fake_engine import FakeEngine
from tests.unit.harness import run_pipeline


def test_steps_run_in_order_and_stop_at_the_first_failure(tmp_path: Path) -> None:
    engine = FakeEngine(script=lambda c: (3, b"") if c == "two" else (0, b""))
    text = "jobs:\n  j: {steps: [one, two, three]}\n"
    result = run_pipeline(text, tmp_path, engine).results["j"]
    assert [(s.name, s.status) for s in result.steps] == [
        ("one", Status.PASSED),
        ("two", Status.FAILED),
        ("three", Status.SKIPPED),
    ]
    assert result.exit_code == 3
    assert result.reason == "step 'two' exited 3"


def test_an_allowed_step_failure_lets_the_next_steps_run(tmp_path: Path) -> None:
    engine = FakeEngine(script=lambda c: (1, b"") if c == "flaky" else (0, b""))
    text = "jobs:\n  j:\n    steps:\n      - {run: flaky, allow_failure: true}\n      - after\n"
    result = run_pipeline(text, tmp_path, engine).results["j"]
    assert [s.status for s in result.steps] == [Status.ALLOWED_FAILURE, Status.PASSED]
    assert result.status is Status.PASSED


def test_a_retried_step_passes_on_a_later_attempt_and_says_so(tmp_path: Path) -> None:
    codes = iter([1, 1, 0])
    engine = FakeEngine(script=lambda c: (next(codes), b""))
    text = "jobs:\n  j:\n    steps:\n      - {run: flaky, retry: 2}\n"
    outcome = run_pipeline(text, tmp_path, engine)
    step = outcome.results["j"].steps[0]
    assert (step.status, step.attempts) == (Status.PASSED, 3)
    assert "step 'flaky' failed; attempt 3/3" in outcome.output


def test_a_step_timeout_stops_the_container_and_reports_timeout(tmp_path: Path) -> None:
    engine = FakeEngine(step_seconds=5)
    text = "jobs:\n  j:\n    steps:\n      - {run: hang, timeout: 100ms}\n      - after\n"
    result = run_pipeline(text, tmp_path, engine).results["j"]
    assert result.status is Status.TIMEOUT
    assert [s.status for s in result.steps] == [Status.TIMEOUT, Status.SKIPPED]
    assert ("terminate", "dockstep-r1-j") in engine.calls  # SIGTERM first, not a kill


def test_secrets_are_masked_on_the_console_and_in_the_log(tmp_path: Path) -> None:
    engine = FakeEngine(script=lambda c: (0, b"token is hunter2-secret\n"))
    outcome = run_pipeline(
        "jobs:\n  j: {steps: [show]}\n", tmp_path, engine, secrets=(("TOKEN", "hunter2-secret"),)
    )
    assert "token is ***" in outcome.output
    assert "hunter2" not in outcome.output
    log = Path(outcome.results["j"].log_file or "").read_text()
    assert "token is ***" in log and "hunter2" not in log


def test_a_secret_too_short_to_mask_is_warned_about_before_the_run(tmp_path: Path) -> None:
    engine = FakeEngine(script=lambda c: (0, b"pin 42\n"))
    outcome = run_pipeline(
        "jobs:\n  j: {steps: [show]}\n", tmp_path, engine, secrets=(("PIN", "42"),)
    )
    warning = "warning: secret PIN is shorter than 3 characters, so it will not be masked"
    assert warning in outcome.output
    assert outcome.output.index(warning) < outcome.output.index("j | pin 42")


def test_env_merges_pipeline_then_job_then_step(tmp_path: Path) -> None:
    engine = FakeEngine()
    text = """
    env: {A: pipeline, B: pipeline, C: pipeline}
    jobs:
      j:
        env: {B: job, C: job}
        steps:
          - {run: show, env: {C: step}}
          - show
    """
    run_pipeline(text, tmp_path, engine)
    first, second = engine.exec_envs
    assert (first["A"], first["B"], first["C"]) == ("pipeline", "job", "step")
    assert second["C"] == "job"
    assert first["DOCKSTEP_JOB"] == "j"
    assert first["CI"] == "true"


def test_a_single_step_job_runs_the_step_as_the_container_command(tmp_path: Path) -> None:
    engine = FakeEngine(script=lambda c: (4, b"out\n"))
    text = "env: {A: pipeline}\njobs:\n  j:\n    steps:\n      - {run: only, env: {B: step}}\n"
    outcome = run_pipeline(text, tmp_path, engine)
    spec = engine.created["dockstep-r1-j"]
    assert spec.command == ("sh", "-e", "-c", "only")
    assert (dict(spec.env)["A"], dict(spec.env)["B"]) == ("pipeline", "step")
    assert not engine.exec_envs
    assert outcome.results["j"].exit_code == 4
    assert "j | out" in outcome.output


def test_a_missing_image_fails_the_job_naming_job_and_image(tmp_path: Path) -> None:
    engine = FakeEngine()
    image = "registry.example/app@sha256:" + "b" * 64
    text = f"jobs:\n  j: {{image: '{image}', steps: [x]}}\n"
    outcome = run_pipeline(text, tmp_path, engine)
    result = outcome.results["j"]
    assert result.status is Status.FAILED
    assert result.reason == (
        f"job 'j': image '{image}' is not available: pull failed: pull access denied for {image}"
    )
    assert ("start", "dockstep-r1-j") not in engine.calls


def test_an_allowed_step_that_times_out_lets_the_next_steps_run(tmp_path: Path) -> None:
    engine = FakeEngine(durations={"hang": 5})
    text = (
        "jobs:\n  j:\n    steps:\n"
        "      - {run: hang, timeout: 100ms, allow_failure: true}\n      - after\n"
    )
    outcome = run_pipeline(text, tmp_path, engine)
    result = outcome.results["j"]
    assert [s.status for s in result.steps] == [Status.ALLOWED_FAILURE, Status.PASSED]
    assert result.status is Status.PASSED
    assert ("start", "dockstep-r1-j") in engine.calls[
        engine.calls.index(("terminate", "dockstep-r1-j")) :
    ]
    assert "step 'hang' hit its timeout; allowed to fail, carrying on" in outcome.output


def test_a_job_timeout_is_not_excused_by_allow_failure_on_the_step(tmp_path: Path) -> None:
    engine = FakeEngine(durations={"hang": 5})
    text = (
        "jobs:\n  j:\n    timeout: 100ms\n    steps:\n"
        "      - {run: hang, allow_failure: true}\n      - after\n"
    )
    result = run_pipeline(text, tmp_path, engine).results["j"]
    assert result.status is Status.TIMEOUT
    assert [s.status for s in result.steps] == [Status.TIMEOUT, Status.SKIPPED]


def test_an_oom_kill_is_charged_to_the_step_it_happened_in(tmp_path: Path) -> None:
    engine = FakeEngine(
        script=lambda c: (137, b"") if c == "suicide" else (0, b""), oom_steps={"hungry child"}
    )
    text = "jobs:\n  j: {steps: [hungry child, suicide]}\n"
    result = run_pipeline(text, tmp_path, engine).results["j"]
    assert [(s.status, s.oom_killed) for s in result.steps] == [
        (Status.PASSED, True),
        (Status.FAILED, False),
    ]
    assert result.reason == "step 'suicide' exited 137"


def test_a_container_that_died_between_steps_is_reported_with_its_exit_code(
    tmp_path: Path,
) -> None:
    engine = FakeEngine()

    def script(command: str) -> tuple[int, bytes]:
        if command == "kill the container":
            engine.died["dockstep-r1-j"] = 137
        return 0, b""

    engine.script = script
    text = "jobs:\n  j: {steps: [kill the container, next, last]}\n"
    result = run_pipeline(text, tmp_path, engine).results["j"]
    assert [(s.name, s.status, s.exit_code) for s in result.steps] == [
        ("kill the container", Status.PASSED, 0),
        ("next", Status.FAILED, 137),
        ("last", Status.SKIPPED, None),
    ]
    assert result.status is Status.FAILED
    assert result.reason == (
        "the job's container stopped before step 'next' could run: it exited 137"
    )


@pytest.mark.parametrize("steps", ["[show]", "[first, show]"], ids=["one-step", "two-steps"])
def test_secrets_reach_steps_by_exec_only_never_the_containers_config(
    tmp_path: Path, steps: str
) -> None:
    engine = FakeEngine()
    text = f"jobs:\n  j: {{steps: {steps}}}\n"
    run_pipeline(text, tmp_path, engine, secrets=(("TOKEN", "hunter2-secret"),))
    assert all("TOKEN" not in dict(spec.env) for spec in engine.created.values())
    assert ("exec", "show") in engine.calls  # a single step becomes an exec to get it
    assert any(env.get("TOKEN") == "hunter2-secret" for env in engine.exec_envs)
