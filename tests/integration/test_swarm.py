"""Steps jobs on a one-node Docker Swarm: what the local backend reports, reported the same.

Every run here uses `--backend swarm` with the session's real registry; afterwards nothing
of the run may be left on the swarm (services, tasks, secrets, configs) or the engine.
"""

from __future__ import annotations

import re
import signal

import docker
import pytest

from tests.integration.fixtures.swarm import swarm_args, swarm_leftovers, wait_for_the_jobs_task
from tests.integration.fixtures.workspace import Workspace
from tests.integration.registry import Registry

pytestmark = pytest.mark.usefixtures("swarm", "nothing_left_on_the_swarm")
PINNED = re.compile(
    r"(?P<repo>127\.0\.0\.1:\d+/(?P<path>[a-z0-9/_.-]+))@(?P<digest>sha256:[0-9a-f]{64})"
)


def assert_pinned_in_registry(image: str, registry: Registry) -> None:
    """A task image is REPO@sha256:… and the registry holds that very manifest: on one node
    a missing push would go unnoticed, the image being on the engine already."""
    found = PINNED.fullmatch(image)
    assert found, f"not a digest reference into the registry: {image}"
    assert found["repo"].startswith(registry.address)
    repository = found["path"]
    status, _ = registry.get(f"/v2/{repository}/manifests/{found['digest']}")
    assert status == 200, f"{image} is not in the registry"


def test_a_dag_runs_green_with_artifacts_secrets_and_pinned_images(
    workspace: Workspace, registry: Registry
) -> None:
    workspace.write("src/input.txt", "from the workspace\n")
    workspace.commit()
    workspace.write("src/input.txt", "uncommitted change\n")  # shipped too
    workspace.pipeline("""\
        secrets: [API_TOKEN]
        jobs:
          build:
            stage: build
            artifacts: [out]
            steps:
              - {name: make, run: "mkdir -p out && cat src/input.txt > out/made.txt"}
              - {name: say, run: "echo token=$API_TOKEN; echo to-stderr >&2"}
          left:
            needs: [build]
            steps: ["cat /artifacts/build/out/made.txt"]
          right:
            needs: [build]
            steps:
              - {name: flaky, run: "exit 3", allow_failure: true, retry: {max: 1}}
              - "test -f /artifacts/build/out/made.txt"
        """)
    secret = "s3cr3t-f0r-th3-swarm-91"
    result = workspace.run(*swarm_args(registry), env={"API_TOKEN": secret})
    assert result.code == 0, result
    jobs = result.jobs
    assert {name: job["status"] for name, job in jobs.items()} == dict.fromkeys(
        ("build", "left", "right"), "passed"
    )
    assert "uncommitted change" in result.lines_of("left")
    assert "token=***" in result.lines_of("build") and "to-stderr" in result.lines_of("build")
    assert secret not in result.stdout + (workspace.path / jobs["build"]["log_file"]).read_text()
    flaky = jobs["right"]["steps"][0]
    assert (flaky["status"], flaky["exit_code"], flaky["attempts"]) == ("allowed-failure", 3, 2)
    for job in jobs.values():
        assert_pinned_in_registry(job["image"], registry)
        for step in job["steps"]:
            assert job["started_at"] <= step["started_at"] <= step["finished_at"]
    assert jobs["build"]["finished_at"] <= min(jobs[n]["started_at"] for n in ("left", "right"))
    assert (workspace.path / "out/made.txt").read_text() == "uncommitted change\n"


def test_failures_timeouts_and_oom_are_reported_as_on_the_local_engine(
    workspace: Workspace, registry: Registry
) -> None:
    workspace.pipeline("""\
        jobs:
          seven:
            steps:
              - {name: fine, run: "echo before"}
              - {name: exit seven, run: "exit 7"}
              - {name: never, run: "echo never-ran"}
          hang:
            steps:
              - {name: hang, run: "sleep 30", timeout: 1s}
              - {name: after, run: "echo after-ran"}
          hungry:
            resources: {memory: 32m}
            steps:
              - {name: first, run: "echo first"}
              - {name: eat 200m, run: "head -c 200m /dev/zero | tail"}
        """)
    result = workspace.run(*swarm_args(registry), "--keep-going")
    assert result.code == 1, result
    jobs = result.jobs
    seven = jobs["seven"]
    assert (seven["status"], seven["exit_code"]) == ("failed", 7)
    assert [(s["name"], s["status"], s["exit_code"]) for s in seven["steps"]] == [
        ("fine", "passed", 0),
        ("exit seven", "failed", 7),
        ("never", "skipped", None),
    ]
    assert "never-ran" not in result.lines_of("seven")
    hang = jobs["hang"]
    assert hang["status"] == "timeout" and "timeout" in hang["reason"]
    assert [s["status"] for s in hang["steps"]] == ["timeout", "skipped"]
    assert hang["steps"][0]["finished_at"] - hang["steps"][0]["started_at"] < 10
    hungry = jobs["hungry"]
    assert hungry["status"] == "failed"
    assert hungry["steps"][-1]["status"] == "failed"
    assert "out of memory" in (hungry["reason"] or "").lower(), hungry
    assert result.row("hang")[2] == "timeout"


def test_a_cancelled_run_leaves_nothing_on_the_swarm(
    workspace: Workspace, registry: Registry, swarm: docker.DockerClient
) -> None:
    workspace.pipeline("""\
        secrets: [API_TOKEN]
        jobs:
          sleeper: {steps: ["echo started; sleep 60"]}
        """)
    process = workspace.start(
        "run", *swarm_args(registry), "--report", "report.json", env={"API_TOKEN": "abcdefgh"}
    )
    wait_for_the_jobs_task(swarm, process)
    process.send_signal(signal.SIGINT)
    result = workspace.finish(process, "report.json", timeout=60)
    assert result.code == 130, result
    assert result.jobs["sleeper"]["status"] == "cancelled"
    assert swarm_leftovers(swarm, result.run_id) == []


def test_the_workspace_image_is_reused_when_nothing_changed(
    workspace: Workspace, registry: Registry
) -> None:
    workspace.write("code.txt", "one\n")
    workspace.pipeline("""\
        jobs:
          show: {steps: ["cat code.txt"]}
        """)
    workspace.commit()
    index = (workspace.path / ".git/index").read_bytes()
    first = workspace.run(*swarm_args(registry))
    assert first.code == 0, first
    assert any("pushed as" in line for line in first.lines_of("show")), first
    again = workspace.run(*swarm_args(registry))
    assert again.code == 0, again
    assert any("unchanged" in line and "reused" in line for line in again.lines_of("show"))
    assert again.jobs["show"]["image"] == first.jobs["show"]["image"]
    workspace.write("code.txt", "two\n")
    changed = workspace.run(*swarm_args(registry))
    assert "two" in changed.lines_of("show")
    assert changed.jobs["show"]["image"] != first.jobs["show"]["image"]
    assert (workspace.path / ".git/index").read_bytes() == index, "the user's index was touched"


def test_what_a_task_cannot_do_is_refused_before_anything_runs(
    workspace: Workspace, registry: Registry
) -> None:
    path = workspace.pipeline("""\
        jobs:
          root: {privileged: true, steps: [id]}
        """)
    refused = workspace.run(*swarm_args(registry), report=None)
    assert refused.code == 2, refused
    assert f"{path}:4:" in refused.stderr and "cannot run on the swarm backend" in refused.stderr
    workspace.pipeline("""\
        jobs:
          plain: {steps: [id]}
        """)
    no_registry = workspace.run("--backend", "swarm", report=None)
    assert no_registry.code == 2 and "--registry" in no_registry.stderr, no_registry
