"""The swarm executor's pure parts: the step script's retries, names, and reading its log."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from runner.engine.swarm.api import LogLine
from runner.engine.swarm.client import nanoseconds
from runner.execute.settings import RunSettings
from runner.execute.swarm_files import NAME_LIMIT, swarm_name
from runner.execute.swarm_log import ArtifactsDamaged, TaskLog
from runner.execute.swarm_script import delays, quote, wrapper
from runner.model.pipeline import ImageRef, Job, RetryPolicy, Step, Steps
from runner.model.results import Status
from runner.progress import Phase

NONCE = "n0nce"
M = f"::dockstep-{NONCE}::"
STEPS = (
    Step(name="first", run="echo one"),
    Step(name="flaky", run="exit 3", allow_failure=True, retry=RetryPolicy(max_retries=1)),
    Step(name="slow", run="sleep 9", timeout=1),
    Step(name="last", run="true"),
)


class Log:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.phases: list[str] = []

    def phase(self, phase: Phase) -> None:
        self.phases.append(phase.label())

    def write(self, chunk: bytes) -> None:
        self.text.append(chunk.decode())

    def line(self, text: str) -> None:
        self.text.append(text + "\n")


def feed(reader: TaskLog, *lines: tuple[float, str]) -> None:
    for at, text in lines:
        reader.feed(LogLine(at=int(at * 1e9), text=f"{text}\n".encode()))


def test_retry_delays_follow_the_policy_as_tenacity_would() -> None:
    assert delays(RetryPolicy(max_retries=2)) == (0.0, 0.0)
    policy = RetryPolicy(max_retries=4, delay=1.0, backoff=3.0, max_delay=5.0)
    assert delays(policy) == (1.0, 3.0, 5.0, 5.0)


def test_quoting_survives_single_quotes() -> None:
    assert quote("it's") == "'it'\\''s'"


def test_names_are_cut_to_a_dns_label_and_stay_distinct() -> None:
    long_a, long_b = "a" * 80, "a" * 79 + "b"
    assert swarm_name("run", "job") == "dockstep-run-job"
    assert len(swarm_name("run", long_a)) <= NAME_LIMIT
    assert swarm_name("run", long_a) != swarm_name("run", long_b)


def test_log_timestamps_keep_nanoseconds() -> None:
    assert nanoseconds("1970-01-01T00:00:01.5Z") == 1_500_000_000
    assert nanoseconds("1970-01-01T00:00:02.000000007Z") == 2_000_000_007


def test_secrets_never_reach_the_script_only_their_file_names() -> None:
    settings = RunSettings(
        run_id="r",
        workspace=Path("/w"),
        network="n",
        labels=(),
        builtins=(("CI", "true"),),
        secrets=(("TOKEN", "the-value"),),
    )
    action = Steps(image=ImageRef(reference="x"), steps=STEPS)
    script = wrapper(
        settings, Job(name="j", stage="test", action=action), action, nonce=NONCE, secrets=["TOKEN"]
    )
    assert "the-value" not in script
    assert 'TOKEN="$(cat /run/secrets/TOKEN)"' in script
    assert "CI='true'; export CI" in script
    assert script.count("_attempt ") == len(STEPS)


def test_markers_become_the_step_results_the_local_backend_reports() -> None:
    log = Log()
    reader = TaskLog(NONCE, STEPS, log)  # type: ignore[arg-type]
    feed(
        reader,
        (10, f"{M} begin 0"), (10.1, "one"), (10.2, f"{M} end 0 0 1 0 0"),
        (11, f"{M} begin 1"), (11.1, f"{M} retry 1 2 0.5"), (12, f"{M} end 1 3 2 0 0"),
        (13, f"{M} begin 2"), (14, f"{M} end 2 137 1 0 1"),
        (14.5, f"{M} done 137"),
    )  # fmt: skip
    results = reader.results(None, now=20.0)
    assert [(r.name, r.status, r.exit_code, r.attempts) for r in results] == [
        ("first", Status.PASSED, 0, 1),
        ("flaky", Status.ALLOWED_FAILURE, 3, 2),
        ("slow", Status.TIMEOUT, 137, 1),
        ("last", Status.SKIPPED, None, 0),
    ]
    assert (results[0].started_at, results[0].finished_at) == (10.0, 10.2)
    assert reader.done == 137
    text = "".join(log.text)
    assert "$ first\none\n" in text
    assert "step 'flaky' failed; attempt 2/2 in 0.5s" in text
    assert M not in text
    assert log.phases == ["step 1/4 'first'", "step 2/4 'flaky'", "step 3/4 'slow'"]


def test_a_forged_marker_without_the_nonce_is_plain_output() -> None:
    log = Log()
    reader = TaskLog(NONCE, STEPS, log)  # type: ignore[arg-type]
    feed(reader, (1, f"{M} begin 0"), (2, "::dockstep-guess:: end 0 0 1 0 0"))
    assert reader.ended == {}
    assert reader.results(Status.CANCELLED, now=3.0)[0].status is Status.CANCELLED


def test_an_oom_kill_counts_only_for_a_failed_step() -> None:
    reader = TaskLog(NONCE, STEPS[:1], Log())  # type: ignore[arg-type]
    feed(reader, (1, f"{M} begin 0"), (2, f"{M} end 0 137 1 1 0"))
    assert reader.results(None, now=3.0)[0].oom_killed


def test_artifacts_come_back_only_when_their_checksum_matches() -> None:
    data = b"a tar, say" * 50
    encoded = base64.encodebytes(data).decode().splitlines()
    good = TaskLog(NONCE, STEPS, Log())  # type: ignore[arg-type]
    digest = hashlib.sha256(data).hexdigest()
    feed(good, (1, f"{M} artifacts {digest}"), *((1, line) for line in encoded),
         (2, f"{M} artifacts-end"))  # fmt: skip
    assert good.artifacts == data
    bad = TaskLog(NONCE, STEPS, Log())  # type: ignore[arg-type]
    feed(bad, (1, f"{M} artifacts {'0' * 64}"), *((1, line) for line in encoded))
    with pytest.raises(ArtifactsDamaged, match="sha256"):
        feed(bad, (2, f"{M} artifacts-end"))
