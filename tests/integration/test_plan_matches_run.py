"""`plan` decides every `if:` exactly as `run` does, for the same --var and --event."""

from __future__ import annotations

import pytest

from tests.integration.fixtures.workspace import Result, Workspace

PIPELINE = """
env:
  MODE: ${MODE:-dev}
jobs:
  build:
    steps: [echo build]
  deploy:
    needs: [build]
    if: $DEPLOY == '1'
    steps: [echo deploy]
  docs:
    if: $MODE == 'release' || event == 'tag'
    steps: [echo docs]
"""


def planned_skips(result: Result) -> dict[str, str]:
    """The jobs `plan` shows without a wave, with the note it gives for each."""
    assert result.code == 0, result
    lines = result.stdout.splitlines()
    rows = lines[lines.index(next(line for line in lines if line.startswith("---"))) + 1 :]
    return {
        line.split()[1]: line.rsplit("  ", 1)[-1].strip() for line in rows if line.startswith("-")
    }


@pytest.mark.parametrize(
    "options",
    [
        pytest.param((), id="defaults"),
        pytest.param(("--var", "DEPLOY=1"), id="var-deploy"),
        pytest.param(("--var", "MODE=release"), id="var-through-pipeline-env"),
        pytest.param(("--event", "tag", "--tag", "v1.0.0"), id="event"),
    ],
)
def test_plan_skips_exactly_what_run_skips(workspace: Workspace, options: tuple[str, ...]) -> None:
    path = workspace.pipeline(PIPELINE)
    workspace.commit()
    workspace.git("tag", "v1.0.0")
    planned = planned_skips(workspace.dockstep("plan", path, *options))
    ran = workspace.run(path, *options)
    assert ran.code == 0, ran
    skipped = {name: job["reason"] for name, job in ran.jobs.items() if job["status"] == "skipped"}
    assert planned == skipped
    assert set(ran.jobs) - set(skipped) == {
        name for name, job in ran.jobs.items() if job["status"] == "passed"
    }


def test_the_cases_above_differ(workspace: Workspace) -> None:
    """Each option above changes what runs, so the comparison means something."""
    path = workspace.pipeline(PIPELINE)
    workspace.commit()
    workspace.git("tag", "v1.0.0")
    seen = [
        set(planned_skips(workspace.dockstep("plan", path, *options)))
        for options in (
            (),
            ("--var", "DEPLOY=1"),
            ("--var", "MODE=release"),
            ("--event", "tag", "--tag", "v1.0.0"),
        )
    ]
    assert seen == [{"deploy", "docs"}, {"docs"}, {"deploy"}, {"deploy"}]
