"""What a job's steps see and how their end is reported: exit codes, timeouts, OOM, env."""

from __future__ import annotations

import hashlib
from pathlib import Path

import docker
import pytest

from tests.integration.fixtures.engine import of_run
from tests.integration.fixtures.workspace import Workspace

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def test_a_step_exit_code_is_the_job_exit_code_in_the_report(workspace: Workspace) -> None:
    workspace.pipeline("""\
        jobs:
          seven:
            steps:
              - {name: fine, run: "echo before"}
              - {name: exit seven, run: "exit 7"}
              - {name: never, run: "touch never-ran"}
        """)
    result = workspace.run()
    assert result.code == 1, result
    job = result.jobs["seven"]
    assert (job["status"], job["exit_code"]) == ("failed", 7)
    assert [(s["name"], s["status"], s["exit_code"]) for s in job["steps"]] == [
        ("fine", "passed", 0),
        ("exit seven", "failed", 7),
        ("never", "skipped", None),
    ]
    assert "7" in job["reason"]
    assert not (workspace.path / "never-ran").exists()
    row = result.row("seven")
    assert (row[2], row[4]) == ("failed", "7")
    assert result.report is not None and result.report["exit_code"] == 1


def test_the_exit_code_of_a_one_step_job_is_in_the_report(workspace: Workspace) -> None:
    workspace.pipeline("""\
        jobs:
          seven:
            steps: [{name: exit seven, run: "echo bye; exit 7"}]
        """)
    result = workspace.run()
    assert result.code == 1, result
    job = result.jobs["seven"]
    assert (job["status"], job["exit_code"]) == ("failed", 7)
    assert [(s["status"], s["exit_code"]) for s in job["steps"]] == [("failed", 7)]
    assert "bye" in result.lines_of("seven")


@pytest.mark.parametrize("followed", [False, True], ids=["only-step", "followed-by-a-step"])
def test_a_step_timeout_stops_the_step_and_skips_the_rest(
    workspace: Workspace, engine: docker.DockerClient, followed: bool
) -> None:
    after = '\n      - {name: after, run: "touch after-ran"}' if followed else ""
    workspace.pipeline(f"""\
jobs:
  hang:
    steps:
      - {{name: hang, run: "sleep 30", timeout: 1s}}{after}
""")
    result = workspace.run()
    assert result.code == 1, result
    job = result.jobs["hang"]
    assert job["status"] == "timeout"
    assert "timeout" in job["reason"]
    statuses = [(s["name"], s["status"]) for s in job["steps"]]
    assert statuses == [("hang", "timeout"), ("after", "skipped")][: 1 + followed]
    hang = job["steps"][0]
    assert hang["finished_at"] - hang["started_at"] < 10, "the step ran on past its timeout"
    assert job["finished_at"] - job["started_at"] < 10
    assert not (workspace.path / "after-ran").exists()
    assert result.row("hang")[2] == "timeout"
    assert of_run(engine, result.run_id) == []


@pytest.mark.parametrize("first", [False, True], ids=["only-step", "after-another-step"])
def test_a_step_using_more_memory_than_the_limit_is_reported_out_of_memory(
    workspace: Workspace, first: bool
) -> None:
    before = '\n      - {name: first, run: "echo first"}' if first else ""
    workspace.pipeline(f"""\
jobs:
  hungry:
    resources: {{memory: 32m}}
    steps:{before}
      - {{name: eat 200m, run: "head -c 200m /dev/zero | tail"}}
""")
    result = workspace.run()
    assert result.code == 1, result
    job = result.jobs["hungry"]
    assert job["status"] == "failed"
    assert job["steps"][-1]["status"] == "failed"
    assert "out of memory" in (job["reason"] or "").lower(), job


def test_secrets_are_masked_on_screen_in_the_job_log_and_in_the_report(
    workspace: Workspace,
) -> None:
    value = "s3cr3t-0f-th3-t3sts-7d41"
    workspace.pipeline("""\
        secrets: [API_TOKEN]
        jobs:
          show:
            steps:
              - echo "token=$API_TOKEN"
              - printf '%s' "$API_TOKEN" > seen-by-step.txt
        """)
    result = workspace.run(env={"API_TOKEN": value})
    assert result.code == 0, result
    assert (workspace.path / "seen-by-step.txt").read_text() == value  # the step had it
    assert "token=***" in result.lines_of("show")
    assert value not in result.stdout
    assert value not in result.stderr
    log = workspace.path / ".dockstep" / "runs" / result.run_id / "show.log"
    assert result.jobs["show"]["log_file"] == str(log)
    text = log.read_text()
    assert "token=***" in text
    assert value not in text
    report = (workspace.path / "report.json").read_text()
    assert value not in report
    assert result.jobs["show"]["status"] == "passed"


def test_steps_see_the_commit_and_branch_of_the_repository(workspace: Workspace) -> None:
    workspace.pipeline("""\
        jobs:
          where:
            steps: ['echo "sha=$DOCKSTEP_COMMIT_SHA branch=$DOCKSTEP_BRANCH"']
        """)
    head = workspace.commit("the commit the steps see")
    branch = workspace.git("rev-parse", "--abbrev-ref", "HEAD")
    result = workspace.run()
    assert result.code == 0, result
    assert f"sha={head} branch={branch}" in result.lines_of("where")


def test_the_host_ca_bundle_is_mounted_for_https_in_steps(workspace: Workspace) -> None:
    expected = hashlib.sha256(HOST_CA_BUNDLE.read_bytes()).hexdigest()
    workspace.pipeline("""\
        jobs:
          tls:
            steps:
              - test -s "$SSL_CERT_FILE"
              - sha256sum "$SSL_CERT_FILE"; echo "pip=$PIP_CERT requests=$REQUESTS_CA_BUNDLE"
        """)
    result = workspace.run()
    assert result.code == 0, result
    lines = result.lines_of("tls")
    assert any(line.startswith(expected) for line in lines), lines
    target = "/etc/ssl/certs/ca-certificates.crt"
    assert f"pip={target} requests={target}" in lines


def test_a_step_allowed_to_fail_that_times_out_lets_the_next_steps_run(
    workspace: Workspace,
) -> None:
    workspace.pipeline("""\
jobs:
  slow:
    steps:
      - {name: hang, run: "echo made > /tmp/mark; sleep 30", timeout: 1s, allow_failure: true}
      - {name: after, run: "cat /tmp/mark > after-ran"}
""")
    result = workspace.run()
    assert result.code == 0, result
    job = result.jobs["slow"]
    assert job["status"] == "passed", result
    assert [(s["name"], s["status"]) for s in job["steps"]] == [
        ("hang", "allowed-failure"),
        ("after", "passed"),
    ]
    assert (workspace.path / "after-ran").read_text() == "made\n", "the container's files stay"
