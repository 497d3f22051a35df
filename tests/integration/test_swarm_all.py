"""`dockstep run --all --backend swarm`: an orchestrated run whose pipelines' steps jobs run
as tasks on the one-node swarm, a chained pipeline included, with nothing left behind."""

from __future__ import annotations

import pytest

from runner.execute import swarm_script
from tests.integration.fixtures.swarm import swarm_args
from tests.integration.fixtures.workspace import Workspace
from tests.integration.registry import Registry

pytestmark = pytest.mark.usefixtures("swarm", "nothing_left_on_the_swarm")

WHERE = f"test -f {swarm_script.PATH} && echo ran-as-a-swarm-task"


def test_every_pipeline_of_an_orchestrated_run_goes_to_the_swarm(
    workspace: Workspace, registry: Registry
) -> None:
    workspace.pipeline(
        f"""\
        on: {{push: {{}}}}
        jobs:
          build:
            steps: [{{run: "{WHERE}"}}]
        """,
        name="app",
    )
    workspace.pipeline(
        f"""\
        on: {{pipelines: {{names: [app]}}}}
        jobs:
          check:
            steps: [{{run: "{WHERE}"}}]
        """,
        name="after",
    )
    workspace.commit("two pipelines")
    result = workspace.run("--all", *swarm_args(registry))
    assert result.code == 0, result
    for job in ("app/build", "after/check"):
        assert "ran-as-a-swarm-task" in result.lines_of(job), result
