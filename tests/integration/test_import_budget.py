"""The import budget of `dockstep run` (issue 14): what the run path does not load.

Checked in a fresh interpreter (the test process has imported everything by now), so this
sits with the integration tests, which may start processes. The budget is held without a
clock: no timed assertion is reliable on a shared 2-core machine. `bench/imports.py`
measures the time the same budget buys, as a ratio to `import docker`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a run of steps jobs never needs: loaded by the job kind, feature or command that does.
NOT_ON_THE_RUN_PATH = (
    "tabulate",  # the summary table, at the end of a run
    "tenacity",  # retried steps and pushes only
    "sqlite3",  # the run history, opened on a thread of its own
    "runner.service.history",
    "runner.delivery.package",  # package, deploy and verify jobs
    "runner.delivery.deploy",
    "runner.delivery.verify",
    "runner.delivery.probes",
    "runner.engine.swarm.client",  # the swarm backend
    "runner.execute.swarm_job",
    "runner.orchestrate",  # `run --all`
    "runner.grouped_report",
    "runner.junit",  # --junit
    "xml.etree.ElementTree",
    "starlette",  # `serve`
    "uvicorn",
)
# Modules the run path may load beyond the Docker SDK's own (and the interpreter's).
BEYOND_DOCKER = 140


def _loaded(statement: str) -> set[str]:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout))


def test_the_run_path_loads_none_of_what_only_some_runs_need() -> None:
    loaded = _loaded("import runner.commands.run")
    assert sorted(loaded.intersection(NOT_ON_THE_RUN_PATH)) == []


def test_the_run_path_loads_little_beyond_the_docker_sdk() -> None:
    extra = _loaded("import runner.commands.run") - _loaded("import docker")
    assert len(extra) <= BEYOND_DOCKER, sorted(extra)


def test_after_setup_s_compile_the_package_loads_from_bytecode_it_never_writes() -> None:
    """`make setup` compiles the package (scripts/setup.sh): with PYTHONDONTWRITEBYTECODE=1
    (an editable install here) every start would otherwise compile it again."""
    assert "-m compileall -q runner" in (ROOT / "scripts" / "setup.sh").read_text()
    subprocess.run([sys.executable, "-m", "compileall", "-q", "runner"], cwd=ROOT, check=True)
    done = subprocess.run(
        [sys.executable, "-v", "-c", "import runner.commands.run"],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = [line for line in done.stderr.splitlines() if "/runner/" in line]
    # `python -v` says "# code object from '…/x.pyc'" for bytecode, "… from …/x.py" for source
    objects = [line for line in loaded if line.startswith("# code object from")]
    assert objects, done.stderr[-2000:]
    assert [line for line in objects if line.endswith(".py")] == []
