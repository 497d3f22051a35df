"""A run is a library call: two runs in one process, on two threads, against the real
engine; one is cancelled through its token while a step sleeps."""

from __future__ import annotations

import io
import threading
import time
from contextlib import closing
from pathlib import Path

import docker

from runner import session
from runner.cancel import CancelToken
from runner.engine.docker.engine import DockerEngine
from runner.model.results import Status
from runner.output import Console
from tests.integration.fixtures.engine import Owners, of_run
from tests.integration.fixtures.workspace import Workspace

SLEEPER = """
jobs:
  nap:
    steps:
      - echo napping
      - sleep 60
"""
QUICK = """
jobs:
  one:
    steps: [echo one]
  two:
    needs: [one]
    steps: [echo two, echo done]
"""


class Threaded:
    """A session run on its own thread, with its console captured."""

    def __init__(self, workspace: Workspace, pipeline: str, owners: Owners) -> None:
        self.output = io.StringIO()
        self.token = CancelToken()
        self.result: session.RunResult | None = None
        self.error: BaseException | None = None
        request = session.RunRequest(pipeline=workspace.path / pipeline)
        self.prepared = session.prepare(request, workspace.env, workspace.path)
        owners.run_ids.add(self.prepared.settings.run_id)
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            with closing(DockerEngine()) as engine:
                self.result = session.run(
                    self.prepared,
                    engine=engine,
                    console=Console(self.output, colour=False, mask=str),
                    token=self.token,
                )
        except BaseException as error:  # the test reports it
            self.error = error

    def wait_for(self, text: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output.getvalue():
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output.getvalue()}"
            time.sleep(0.05)

    def finished(self, seconds: float = 90) -> session.RunResult:
        self.thread.join(seconds)
        assert not self.thread.is_alive(), f"the run did not end:\n{self.output.getvalue()}"
        assert self.error is None, repr(self.error)
        assert self.result is not None
        return self.result


def test_two_runs_on_two_threads_one_cancelled_by_its_token(
    tmp_path: Path, tiny_image: str, owners: Owners, engine: docker.DockerClient
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    sleepy, green = Workspace(first, tiny_image, owners), Workspace(second, tiny_image, owners)
    slow = Threaded(sleepy, sleepy.pipeline(SLEEPER), owners)
    fast = Threaded(green, green.pipeline(QUICK), owners)

    slow.thread.start()
    slow.wait_for("nap | $ sleep 60")
    fast.thread.start()
    slow.token.cancel()
    cancelled_at = time.monotonic()

    cancelled, passed = slow.finished(), fast.finished()
    assert time.monotonic() - cancelled_at < 30
    assert cancelled.interrupted
    assert cancelled.exit_code == 130
    assert [(j.name, j.status) for j in cancelled.jobs] == [("nap", Status.CANCELLED)]
    assert of_run(engine, cancelled.run_id) == []

    assert not passed.interrupted
    assert passed.exit_code == 0
    assert [(j.name, j.status) for j in passed.jobs] == [
        ("one", Status.PASSED),
        ("two", Status.PASSED),
    ]
    assert "two | done" in fast.output.getvalue()
    assert of_run(engine, passed.run_id) == []


def test_a_token_cancelled_before_the_run_starts_cancels_every_job(
    workspace: Workspace, owners: Owners
) -> None:
    run = Threaded(workspace, workspace.pipeline(QUICK), owners)
    run.token.cancel()
    run.thread.start()
    result = run.finished()
    assert result.interrupted
    assert {j.status for j in result.jobs} == {Status.CANCELLED}
    assert (result.run_dir / "report.json").is_file()
