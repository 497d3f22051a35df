"""A job's `services:` on a one-node swarm: Swarm services on an overlay network of the
job's own, reached by alias, ready (by their `ready:` check, run inside them) before the
job's task starts, their output shown when the job fails, and nothing left afterwards."""

from __future__ import annotations

import signal
import subprocess

import docker
import pytest

from runner.engine import labels
from tests.integration.fixtures.swarm import swarm_args, swarm_leftovers, wait_for_the_jobs_task
from tests.integration.fixtures.workspace import Workspace, overlap
from tests.integration.registry import Registry
from tests.integration.test_swarm import assert_pinned_in_registry

pytestmark = pytest.mark.usefixtures("swarm", "nothing_left_on_the_swarm")

# busybox (whose wget crashes, so nc): the page appears a second after the start, so a job
# that did not wait for readiness would fetch nothing
WEB = """\
      web:
        image: "{image}"
        env: {{PAGE: "{page}"}}
        command: >-
          sleep 1; mkdir -p /www; echo $PAGE > /www/index.html;
          echo serving $PAGE; exec httpd -f -p 8080 -h /www
        ready: {{command: "nc 127.0.0.1 8080 </dev/null", interval: 200ms}}
"""
READY = "service web: ready (command nc 127.0.0.1 8080 </dev/null)"
FETCH = 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc web 8080 | tail -n 1'


def job(name: str, image: str, page: str, steps: str) -> str:
    return (
        f"  {name}:\n    services:\n" + WEB.format(image=image, page=page) + f"    steps:\n{steps}"
    )


def service_images(engine: docker.DockerClient, run_id: str) -> list[str]:
    """The images the run's service tasks were given, read from the manager's task records."""
    return [
        task["Spec"]["ContainerSpec"]["Image"]
        for task in engine.api.tasks()  # type: ignore[no-untyped-call]
        if (task["Spec"]["ContainerSpec"].get("Labels") or {}).get(labels.RUN) == run_id
        and labels.JOB_SERVICE in (task["Spec"]["ContainerSpec"].get("Labels") or {})
    ]


def test_each_job_reaches_its_own_ready_service_by_alias(
    workspace: Workspace, registry: Registry, swarm: docker.DockerClient
) -> None:
    jobs = job("one", workspace.image, "page-of-one", f"      - {FETCH}\n      - sleep 1\n")
    jobs += job("two", workspace.image, "page-of-two", f"      - {FETCH}\n      - sleep 1\n")
    workspace.pipeline("jobs:\n" + jobs)
    result = workspace.run(*swarm_args(registry))
    assert result.code == 0, result
    for name in ("one", "two"):
        lines = result.lines_of(name)
        assert f"page-of-{name}" in lines, result  # its own web, not the other job's
        assert lines.index(READY) < lines.index(f"page-of-{name}"), lines
    assert overlap(result.jobs["one"], result.jobs["two"]), result
    assert swarm_leftovers(swarm, result.run_id) == []


def test_a_failing_job_shows_its_service_output_and_leaves_nothing(
    workspace: Workspace, registry: Registry, swarm: docker.DockerClient
) -> None:
    never = f"""\
  never:
    services:
      web:
        image: "{workspace.image}"
        command: "echo web-was-here; sleep 60"
        ready: {{command: "exit 1", timeout: 2s, interval: 200ms}}
    steps: [touch ran]
"""
    healthcheck = f"""\
  nocheck:
    services:
      web: {{image: "{workspace.image}", ready: healthcheck}}
    steps: [touch ran]
"""
    failing = job("failing", workspace.image, "page", f"      - {FETCH}\n      - exit 4\n")
    workspace.pipeline("jobs:\n" + never + healthcheck + failing)
    result = workspace.run(*swarm_args(registry), "--keep-going")
    assert result.code == 1, result
    jobs = result.jobs
    reason = jobs["never"]["reason"]
    assert reason.startswith("service 'web' is not ready: command exit 1 still failing"), reason
    assert "  web-was-here" in result.lines_of("never"), result
    assert not (workspace.path / "ran").exists()
    assert "the image has no HEALTHCHECK" in jobs["nocheck"]["reason"], result
    assert (jobs["failing"]["status"], jobs["failing"]["exit_code"]) == ("failed", 4)
    shown = result.lines_of("failing")
    assert any(line.startswith("service web: last ") for line in shown), result
    assert "  serving page" in shown, result
    for image in service_images(swarm, result.run_id):
        assert_pinned_in_registry(image, registry)
    assert swarm_leftovers(swarm, result.run_id) == []


def start_sleeper(
    workspace: Workspace, registry: Registry, swarm: docker.DockerClient
) -> subprocess.Popen[str]:
    """A run whose job (with a ready `web` service) sleeps, once its task is running."""
    sleeper = job("sleeper", workspace.image, "page", "      - echo started; sleep 60\n")
    workspace.pipeline("secrets: [API_TOKEN]\njobs:\n" + sleeper)
    process = workspace.start(
        "run", *swarm_args(registry), "--report", "report.json", env={"API_TOKEN": "abcdefgh"}
    )
    wait_for_the_jobs_task(swarm, process)
    return process


def test_ctrl_c_removes_the_services_and_their_network(
    workspace: Workspace, registry: Registry, swarm: docker.DockerClient
) -> None:
    process = start_sleeper(workspace, registry, swarm)
    process.send_signal(signal.SIGINT)
    result = workspace.finish(process, "report.json", timeout=60)
    assert result.code == 130, result
    assert result.jobs["sleeper"]["status"] == "cancelled"
    assert swarm_leftovers(swarm, result.run_id) == []


def test_clean_sweeps_what_a_killed_run_left_on_the_swarm(
    workspace: Workspace, registry: Registry, swarm: docker.DockerClient
) -> None:
    process = start_sleeper(workspace, registry, swarm)
    label = f"{labels.OWNER_PID}={process.pid}"
    run_id = swarm.services.list(filters={"label": label})[0].attrs["Spec"]["Labels"][labels.RUN]
    workspace.owners.run_ids.add(run_id)
    process.kill()  # no sweep of its own: everything stays until `dockstep clean`
    process.communicate(timeout=30)
    left = swarm_leftovers(swarm, run_id)
    assert any(item.startswith("network ") for item in left), left
    assert sum(item.startswith("service ") for item in left) == 2, left  # the job, its web
    cleaned = workspace.dockstep("clean")
    assert cleaned.code == 0, cleaned
    assert swarm_leftovers(swarm, run_id) == []
    assert "removed network dockstep-" in cleaned.stdout, cleaned
