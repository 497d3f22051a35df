"""`dockstep serve --backend swarm --registry …`: a signed webhook queues a run whose steps
jobs run as tasks on the one-node swarm, and nothing of it is left on the swarm."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runner.execute import swarm_script
from tests.integration.fixtures.service import Served, push_body
from tests.integration.fixtures.swarm import swarm_args
from tests.integration.fixtures.workspace import Workspace
from tests.integration.registry import Registry

pytestmark = pytest.mark.usefixtures("swarm", "nothing_left_on_the_swarm")

ON_THE_SWARM = f"""
on: {{push: {{}}}}
jobs:
  where:
    steps:
      - run: test -f {swarm_script.PATH} && echo ran-as-a-swarm-task
"""


def test_a_webhook_queues_a_run_onto_the_swarm(
    workspace: Workspace, served: Callable[..., Served], registry: Registry
) -> None:
    workspace.pipeline(ON_THE_SWARM)
    commit = workspace.commit("pipelines")
    workspace.git("checkout", "--quiet", "-B", "main")
    service = served(args=swarm_args(registry))
    accepted = service.hook(push_body(commit), "d-swarm-1")
    assert accepted.status_code == 202, accepted.text
    run_id = accepted.json()["run"]
    run = service.finished(run_id)
    assert run["status"] == "passed", service.console(run_id)
    logs = service.state / "service" / "logs" / str(run_id)
    printed = "".join(path.read_text() for path in logs.rglob("*.log"))
    assert "ran-as-a-swarm-task" in printed, service.console(run_id)
