"""Installs that write into the repository (`install.outputs`): a uv project's `.venv` and
an npm project's `node_modules`, installed once into the cached layer, seen by the steps at
the paths the tools expect, never written to the host, and never stale after a lock edit."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from tests.integration.fixtures.cache import CacheArea
from tests.integration.fixtures.workspace import Result, Workspace

DATA = Path(__file__).parent / "data"
UV_VERSION = "0.13.9"
UV_INSTALL = (
    f"python3 -m venv /opt/uv && /opt/uv/bin/pip install --quiet uv=={UV_VERSION} && "
    "/opt/uv/bin/uv sync --frozen"
)
UV_STEPS = (
    "test -x .venv/bin/python",
    "/opt/uv/bin/uv run --frozen python -c 'import six; print(\"six\", six.__version__)'",
    ".venv/bin/python -c 'import idna; print(\"idna\", idna.__version__)' || echo no-idna",
)
NPM_STEPS = (
    "test -f node_modules/ms/package.json",
    'node -e \'console.log("ms", require("ms")("2h"))\'',
    'node -e \'console.log("pad", require("left-pad")("7", 3, "0"))\'',
)


def pipeline(
    workspace: Workspace,
    area: CacheArea,
    *,
    image: str,
    install: str,
    steps: tuple[str, ...],
    outputs: str,
    volume: str,
) -> str:
    """A pipeline of one job (named after the outputs) with this install and steps."""
    job = area.job(outputs.strip("."))
    body = "\n".join(f"      - {json.dumps(step)}" for step in steps)
    workspace.write(
        "pipelines/ci.yml",
        f"""\
version: 1
defaults: {{image: "{image}"}}
jobs:
  {job}:
    install:
      run: {json.dumps(install)}
      outputs: [{outputs}]
      env: {{TEST_TOKEN: "{area.token}", UV_LINK_MODE: copy}}
    cache:
      volumes: [{volume}]
    steps:
{body}
""",
    )
    return job


def run(workspace: Workspace, area: CacheArea) -> tuple[Result, float]:
    started = time.monotonic()
    result = workspace.run("pipelines/ci.yml", env=area.env)
    return result, time.monotonic() - started


def check(result: Result, job: str, cache: str) -> list[str]:
    assert result.code == 0, result
    assert result.jobs[job]["cache"] == cache, result
    return result.lines_of(job)


def test_a_uv_project_gets_its_venv_from_the_layer(
    workspace: Workspace, cache_area: CacheArea, python_image: str
) -> None:
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(DATA / "uv" / name, workspace.path / name)
    job = pipeline(
        workspace,
        cache_area,
        image=python_image,
        install=UV_INSTALL,
        steps=UV_STEPS,
        outputs=".venv",
        volume="/root/.cache/uv",
    )

    cold, cold_time = run(workspace, cache_area)
    lines = check(cold, job, "miss")
    assert "six 1.17.0" in lines and "idna 3.10" in lines, cold
    assert "install outputs kept in the layer: /workspace/.venv" in lines, cold

    warm, warm_time = run(workspace, cache_area)
    lines = check(warm, job, "hit")
    assert "six 1.17.0" in lines and "idna 3.10" in lines, warm
    print(f"uv: cold {cold_time:.1f}s, warm {warm_time:.1f}s")  # the README's numbers

    # the host's .venv is only a mount point: nothing was written into the repository
    assert list((workspace.path / ".venv").iterdir()) == []

    # a lockfile without idna: a new layer, and no idna left over from the old one
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(DATA / "uv" / "without-idna" / name, workspace.path / name)
    edited, _ = run(workspace, cache_area)
    lines = check(edited, job, "miss")
    assert "six 1.17.0" in lines and "no-idna" in lines, edited


def test_an_npm_project_gets_its_node_modules_from_the_layer(
    workspace: Workspace, cache_area: CacheArea, node_image: str
) -> None:
    for name in ("package.json", "package-lock.json"):
        shutil.copy(DATA / "npm" / name, workspace.path / name)
    job = pipeline(
        workspace,
        cache_area,
        image=node_image,
        install="npm ci --no-audit --no-fund",
        steps=NPM_STEPS,
        outputs="node_modules",
        volume="/root/.npm",
    )

    cold, cold_time = run(workspace, cache_area)
    lines = check(cold, job, "miss")
    assert "ms 7200000" in lines and "pad 007" in lines, cold

    warm, warm_time = run(workspace, cache_area)
    lines = check(warm, job, "hit")
    assert "ms 7200000" in lines and "pad 007" in lines, warm
    print(f"npm: cold {cold_time:.1f}s, warm {warm_time:.1f}s")  # the README's numbers
    assert list((workspace.path / "node_modules").iterdir()) == []
