"""`dockstep serve` end to end: real git repositories, real HTTP on 127.0.0.1, the real engine."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import docker
import requests

from runner.service.webhooks import signature
from tests.integration.fixtures.engine import labelled
from tests.integration.fixtures.service import (
    SECRET,
    Served,
    push_body,
    wait_for,
)
from tests.integration.fixtures.workspace import Workspace

Serve = Callable[..., Served]

QUICK = """
on: {push: {}}
jobs:
  build:
    steps:
      - run: echo built
"""


def first_commit(workspace: Workspace, body: str = QUICK) -> str:
    workspace.pipeline(body)
    commit = workspace.commit("pipelines")
    workspace.git("checkout", "--quiet", "-B", "main")
    return commit


def test_only_signed_first_deliveries_start_runs(workspace: Workspace, served: Serve) -> None:
    commit = first_commit(workspace)
    service = served()
    body = push_body(commit)
    assert service.hook(body, "d-unsigned", sign=None).status_code == 401
    assert service.hook(body, "d-wrong", sign="another secret").status_code == 401
    tampered = body.replace(b"refs/heads/main", b"refs/heads/evil")
    response = _send_with_signature_of(service, tampered, body, "d-tampered")
    assert response.status_code == 401
    accepted = service.hook(body, "d-1")
    assert accepted.status_code == 202, accepted.text
    assert service.hook(body, "d-1").status_code == 409  # the same delivery again
    assert service.hook(body, "d-2").status_code == 409  # the same body under a new id
    gitlab = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "not the secret"}
    wrong = requests.post(f"{service.url}/hooks/gitlab", data=body, headers=gitlab, timeout=30)
    assert wrong.status_code == 401
    huge = service.hook(b"{" + b" " * (1024 * 1024 + 1) + b"}", "d-huge")
    assert huge.status_code == 413
    unknown = push_body("f" * 40, x=1)
    assert service.hook(unknown, "d-3").status_code == 422  # not a commit of the remote
    run = service.finished(accepted.json()["run"])
    assert run["status"] == "passed"
    assert run["commit"] == commit and run["event"] == "push" and run["branch"] == "main"
    assert [r["id"] for r in service.runs()] == [run["id"]]  # nothing else started


def test_a_second_service_on_the_same_state_folder_is_refused(
    workspace: Workspace, served: Serve
) -> None:
    first_commit(workspace)
    service = served()
    command = [sys.executable, "-m", "runner.cli", "serve", "--listen", "127.0.0.1:1"]
    env = service.env()
    second = subprocess.run(
        command,
        cwd=workspace.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode == 3, second.stderr
    assert "another dockstep service" in second.stderr
    assert service.runs() == []  # the first one still answers


def _send_with_signature_of(service: Served, body: bytes, signed: bytes, delivery: str) -> Any:
    """`body` with the signature of another body: what a man in the middle would send."""
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature(SECRET, signed),
    }
    return requests.post(f"{service.url}/hooks/github", data=body, headers=headers, timeout=30)


def test_a_path_filtered_push_starts_only_the_matching_pipeline(
    workspace: Workspace, served: Serve
) -> None:
    for name in ("api", "web"):
        workspace.pipeline(
            f"""
            on: {{push: {{paths: ["{name}/**"]}}}}
            jobs:
              check:
                steps:
                  - run: echo {name}
            """,
            name=name,
        )
        workspace.write(f"{name}/README", "first\n")
    before = workspace.commit("both")
    workspace.git("checkout", "--quiet", "-B", "main")
    workspace.write("web/README", "changed\n")
    after = workspace.commit("web only")
    service = served()
    response = service.hook(push_body(after, before=before), "d-paths")
    assert response.status_code == 202, response.text
    run = service.finished(response.json()["run"])
    assert run["status"] == "passed"
    assert [p["path"] for p in run["pipelines"]] == ["pipelines/web.yml"]
    assert [j["name"] for j in run["pipelines"][0]["jobs"]] == ["check"]


def test_a_burst_of_webhooks_is_recorded_once_each_within_the_limit(
    workspace: Workspace, served: Serve
) -> None:
    commit = first_commit(workspace)
    service = served(concurrency=2)
    answers: dict[int, int] = {}

    def deliver(number: int) -> None:
        body = push_body(commit, burst=number)  # distinct bodies: a same body is a replay
        answers[number] = service.hook(body, f"burst-{number}").status_code

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers.values()) == [202] * 20
    runs = service.runs()
    assert len(runs) == 20 and len({r["id"] for r in runs}) == 20
    finished = [service.finished(r["id"], timeout=240) for r in runs]
    failed = [r["id"] for r in finished if r["status"] != "passed"]
    assert not failed, "\n".join(service.console(run_id) for run_id in failed)
    assert most_at_once(finished) <= 2


def most_at_once(runs: list[dict[str, Any]]) -> int:
    edges = sorted(
        [(r["started_at"], 1) for r in runs] + [(r["finished_at"], -1) for r in runs],
        key=lambda e: (e[0], e[1]),  # an end before a start at the same instant
    )
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def test_kill_9_mid_run_then_restart_marks_it_interrupted_and_leaves_nothing(
    workspace: Workspace, served: Serve, engine: docker.DockerClient
) -> None:
    commit = first_commit(
        workspace,
        """
        on: {push: {}}
        jobs:
          slow:
            steps:
              - run: echo started; sleep 120
        """,
    )
    service = served()
    run_id = service.hook(push_body(commit), "d-slow").json()["run"]
    wait_for("the job to start", lambda: _job_status(service, run_id, "slow") == "running")
    sessions = service.session_runs()
    wait_for("its container", lambda: _containers_of(engine, sessions))
    service.stop(signal.SIGKILL)
    assert _containers_of(engine, sessions)  # killed: nothing cleaned up yet
    restarted = served()
    run = restarted.run(run_id)
    assert run["status"] == "interrupted"
    assert not _containers_of(engine, sessions)
    assert not list((service.state / "service" / "work").iterdir())


def _job_status(service: Served, run_id: int, job: str) -> str:
    pipelines = service.run(run_id)["pipelines"]
    found = [j["status"] for p in pipelines for j in p["jobs"] if j["name"] == job]
    return found[0] if found else ""


def _containers_of(engine: docker.DockerClient, sessions: set[str]) -> list[str]:
    return [i.name for i in labelled(engine) if i.run_id in sessions]


def test_a_rerun_of_the_failed_jobs_keeps_what_passed(workspace: Workspace, served: Serve) -> None:
    commit = first_commit(
        workspace,
        """
        on: {push: {}}
        jobs:
          build:
            steps:
              - run: echo built
          test:
            needs: [build]
            steps:
              - run: echo failing; exit 3
        """,
    )
    service = served()
    first = service.finished(service.hook(push_body(commit), "d-fail").json()["run"])
    assert first["status"] == "failed"
    assert service.post(f"/api/runs/{first['id']}/rerun?failed=1", token=None).status_code == 401
    response = service.post(f"/api/runs/{first['id']}/rerun?failed=1")
    assert response.status_code == 202, response.text
    again = service.finished(response.json()["run"])
    jobs = {j["name"]: j for j in again["pipelines"][0]["jobs"]}
    assert jobs["build"]["status"] == "passed"
    assert jobs["build"]["reason"] == f"reused from run {first['id']}"
    assert jobs["test"]["status"] == "failed" and jobs["test"]["exit_code"] == 3
    assert again["commit"] == commit and again["status"] == "failed"
