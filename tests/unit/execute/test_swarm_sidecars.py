"""Service sidecars on a swarm: `ready:` as the task's health check, the wait for it, and
what the SDK is given for a sidecar's spec."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from runner.engine.swarm.api import Attachment, HealthCheck, ServiceSpec, Task
from runner.engine.swarm.client import _spec
from runner.execute import readiness, swarm_task
from runner.execute.swarm_log import TaskLog
from runner.execute.swarm_sidecars import SCHEDULE_WAIT, _health, wait
from runner.model.services import Readiness, ReadyKind


class Tasks:
    """A service whose task goes through the given states, one per look."""

    def __init__(self, *states: str, error: str = "", exit_code: int | None = None) -> None:
        self._states: Iterator[str] = iter(states)
        self._last: str | None = None
        self._error, self._code = error, exit_code
        self.looks = 0

    def task(self, _service: str) -> Task | None:
        self.looks += 1
        self._last = next(self._states, self._last)
        if self._last is None:
            return None
        return Task(state=self._last, exit_code=self._code, error=self._error)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def pause(self, seconds: float) -> bool:
        self.now += seconds
        return False


TCP = Readiness(kind=ReadyKind.TCP, target="5432", timeout=2.0)


def test_ready_once_the_task_runs_its_check_having_passed() -> None:
    clock, tasks = Clock(), Tasks("pending", "preparing", "starting", "starting", "running")
    assert wait(tasks, "svc", TCP, clock.pause, clock) is None  # type: ignore[arg-type]
    assert tasks.looks == 5


def test_the_timeout_counts_from_the_start_of_the_container_not_the_pull() -> None:
    clock = Clock()
    pulling = ["preparing"] * 50  # 10 s of pulling at 0.2 s a look: not the service's fault
    tasks = Tasks(*pulling, "starting")
    problem = wait(tasks, "svc", TCP, clock.pause, clock)  # type: ignore[arg-type]
    assert problem is not None and problem.startswith("tcp 5432 still failing after 2s")
    assert 10.0 + 2.0 <= clock.now <= 10.0 + 2.0 + 0.4


def test_a_task_never_placed_is_given_up_with_the_managers_reason() -> None:
    clock = Clock()
    tasks = Tasks("pending", error="no suitable node (insufficient resources on 1 node)")
    problem = wait(tasks, "svc", TCP, clock.pause, clock)  # type: ignore[arg-type]
    assert problem == (
        f"its task did not start within {SCHEDULE_WAIT:g}s "
        "(pending: no suitable node (insufficient resources on 1 node))"
    )
    assert SCHEDULE_WAIT <= clock.now <= SCHEDULE_WAIT + 0.4


def test_a_task_that_ends_says_why() -> None:
    clock = Clock()
    tasks = Tasks("starting", "failed", error="task: non-zero exit (1)", exit_code=1)
    problem = wait(tasks, "svc", TCP, clock.pause, clock)  # type: ignore[arg-type]
    assert problem == "its task ended (failed: task: non-zero exit (1), exit code 1)"


def test_a_stopped_job_stops_waiting_and_says_where_the_task_was() -> None:
    tasks = Tasks("pending")
    problem = wait(tasks, "svc", TCP, lambda _seconds: True)  # type: ignore[arg-type]
    assert problem == "the job was stopped while waiting (its task: pending)"


def test_ready_checks_become_the_tasks_health_check() -> None:
    assert _health(TCP) == HealthCheck(command=readiness.probe(TCP), interval=TCP.interval)
    # no check: the image's own HEALTHCHECK must not hold the job back either
    assert _health(Readiness()) == HealthCheck(command=(), interval=Readiness().interval)
    assert _health(Readiness(kind=ReadyKind.HEALTHCHECK)) is None  # the image's own


def test_the_sdk_gets_the_network_alias_the_image_entrypoint_and_the_check() -> None:
    spec = ServiceSpec(
        name="dockstep-run-test-db",
        image="127.0.0.1:5000/d/services@sha256:" + "a" * 64,
        labels=(("dockstep.run", "run"),),
        args=("sh", "-c", "postgres"),
        networks=(Attachment(network="net-id", aliases=("db",)),),
        health=HealthCheck(command=("sh", "-c", "exit 0"), interval=0.5),
    )
    template = _spec(spec)
    container = template["ContainerSpec"]
    assert container.get("Command") is None  # the image's entrypoint stays, as locally
    assert container["Args"] == ["sh", "-c", "postgres"]
    assert container["Healthcheck"]["Test"] == ["CMD", "sh", "-c", "exit 0"]
    assert container["Healthcheck"]["Interval"] == 500_000_000
    [network] = template["Networks"]
    assert (network["Target"], network["Aliases"]) == ("net-id", ["db"])
    off = _spec(
        ServiceSpec(name="n", image="i", labels=(), health=HealthCheck(command=(), interval=1))
    )
    assert off["ContainerSpec"]["Healthcheck"]["Test"] == ["NONE"]
    assert (
        "Networks" not in off
        and "Healthcheck" not in _spec(ServiceSpec(name="n", image="i", labels=()))["ContainerSpec"]
    )


class Log:
    def line(self, _text: str) -> None: ...

    def write(self, _chunk: bytes) -> None: ...


class OneTask:
    """A swarm where every service's task has ended at once, and removals are recorded."""

    def __init__(self) -> None:
        self.removed: list[list[str]] = []

    def create_service(self, spec: ServiceSpec) -> str:
        return f"id-{spec.name}"

    def task(self, _service: str) -> Task:
        return Task(state="complete", exit_code=0, error="")

    def logs(self, _service: str, _since: int) -> list[object]:
        return []

    def remove_service(self, service: str) -> None:
        self.removed.append([service])


def test_a_jobs_service_beside_sidecars_is_left_for_them_to_remove_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(swarm_task, "DRAIN", 0.0)  # no markers will come: no waiting for them
    swarm, spec = OneTask(), ServiceSpec(name="job", image="i", labels=())
    reader = TaskLog("n", (), Log())  # type: ignore[arg-type]
    alone = swarm_task.run_to_end(swarm, spec, reader, threading.Event())  # type: ignore[arg-type]
    assert alone is not None and swarm.removed == [["id-job"]]
    beside: list[str] = ["id-db"]
    swarm_task.run_to_end(swarm, spec, reader, threading.Event(), removed_with=beside)  # type: ignore[arg-type]
    assert swarm.removed == [["id-job"]] and beside == ["id-db", "id-job"]
