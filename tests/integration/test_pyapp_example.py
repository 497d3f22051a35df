"""The worked example, examples/pyapp, as `make pyapp` runs it: a uv project's tests against
a PostgreSQL service in two cells, its `.venv` an install output, warm on the second run."""

from __future__ import annotations

import shutil

from tests.integration.fixtures.engine import REPO
from tests.integration.fixtures.workspace import Result, Workspace

CELLS = ("test.ISOLATION-read_committed", "test.ISOLATION-serializable")  # matrix cells
COLD = 600  # seconds: a cold run builds the Python and PostgreSQL images with apt


def example(workspace: Workspace) -> None:
    shutil.copytree(REPO / "examples" / "pyapp", workspace.path / "examples" / "pyapp",
                    ignore=shutil.ignore_patterns(".venv", "__pycache__"))  # fmt: skip
    shutil.copytree(REPO / "images" / "python", workspace.path / "images" / "python")
    workspace.commit("the worked example")


def passed(result: Result) -> None:
    assert result.code == 0, result
    for cell in CELLS:
        lines = result.lines_of(cell)
        assert "service db: ready (command pg_isready -h 127.0.0.1 -U postgres)" in lines
        assert any(line.startswith("2 passed") for line in lines), result


def test_the_pyapp_example_runs_its_two_cells_against_postgres(
    workspace: Workspace, debian_image: str
) -> None:
    example(workspace)
    args = ("examples/pyapp/pipeline.yml", "--var", f"BASE_IMAGE={debian_image}")
    first = workspace.finish(workspace.start("run", *args, "--report", "report.json"),
                             "report.json", timeout=COLD)  # fmt: skip
    passed(first)
    second = workspace.run(*args)
    passed(second)
    assert [second.jobs[cell]["cache"] for cell in CELLS] == ["hit", "hit"], second
