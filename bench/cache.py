"""Benchmark: the dependency cache, cold against warm, beside raw docker doing the same.

A small Python project with a real requirements lock (requests and its four
dependencies, from PyPI). Prints medians of:
  dockstep cold   `dockstep run --no-cache`: the install runs and its layer is committed
  dockstep warm   `dockstep run`: the layer is hit, the install does not run
  no install      the same job and step with no install phase at all
  raw cold        `docker run` creating a venv in a host directory and installing into it
  raw warm        the same `docker run` again with that host venv kept: pip finds every
                  requirement satisfied (the warm re-run a user gets without dockstep)
  raw floor       `docker run` of the step alone with the venv mounted
Every case runs the same step: python importing requests (the no-install case imports json).

Usage: python bench/cache.py [--rounds N]   (needs network access to PyPI)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from common import (
    DOCKSTEP,
    ROOT,
    Scenario,
    bootstrap,
    interleaved,
    load,
    median_of,
    medians,
    sh,
)

LOCK = """\
requests==2.32.3
urllib3==2.2.3
idna==3.10
certifi==2024.8.30
charset-normalizer==3.4.0
"""
CA = "/etc/ssl/certs/ca-certificates.crt"
INSTALL = "python3 -m venv {venv} && {venv}/bin/pip install -q --no-cache-dir -r requirements.lock"
CHECK = "{venv}/bin/python -c 'import requests'"
REUSE = (
    "[ -x {venv}/bin/python ] || python3 -m venv {venv}; "
    "{venv}/bin/pip install -q -r requirements.lock"
)


def pipeline(base: str, *, install: bool) -> str:
    job = [
        "version: 1",
        "name: bench-cache",
        "jobs:",
        "  test:",
        f"    image: {{build: images/python, args: {{BASE: '{base}'}}}}",
    ]
    if install:
        job += [
            "    install:",
            "      keys: [requirements.lock]",
            f"      run: {INSTALL.format(venv='/opt/venv')}",
            "    steps:",
            f"      - {CHECK.format(venv='/opt/venv')}",
        ]
    else:
        job += ["    steps:", "      - python3 -c 'import json'"]
    return "\n".join(job) + "\n"


def python_image(workspace: Path) -> str:
    """The step image dockstep builds for the pipeline, so raw docker uses the very same."""
    tags = subprocess.run(
        [
            "docker",
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "dockstep-build/images-python",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=workspace,
    ).stdout.split()
    return tags[0]


def raw(image: str, workspace: Path, venv: Path, script: str) -> Callable[[], None]:
    argv = [
        "docker",
        "run",
        "--rm",
        "-v",
        f"{workspace}:/workspace",
        "-w",
        "/workspace",
        "-v",
        f"{venv}:/venv",
        "-v",
        f"{CA}:{CA}:ro",
        "-e",
        f"PIP_CERT={CA}",
        image,
        "sh",
        "-c",
        script,
    ]
    return lambda: sh(*argv)


def dockstep(workspace: Path, pipeline: Path, *extra: str) -> Callable[[], None]:
    return lambda: sh(*DOCKSTEP, "run", str(pipeline), *extra, cwd=workspace)


def prepare(workspace: Path, base: str) -> tuple[Path, Path]:
    """The project, its two pipelines and a git repository: (cached, bare)."""
    shutil.copytree(ROOT / "images" / "python", workspace / "images" / "python")
    (workspace / "pipelines").mkdir()
    (workspace / "requirements.lock").write_text(LOCK)
    sh("git", "init", "-q", cwd=workspace)
    cached, bare = workspace / "pipelines" / "cached.yml", workspace / "pipelines" / "bare.yml"
    cached.write_text(pipeline(base, install=True))
    bare.write_text(pipeline(base, install=False))
    return cached, bare


def raw_cold(image: str, workspace: Path) -> Callable[[], None]:
    venv = workspace / "venv"

    def action() -> None:
        shutil.rmtree(venv, ignore_errors=True)
        venv.mkdir()
        raw(image, workspace, venv, INSTALL.format(venv="/venv"))()

    return action


def raw_warm(image: str, workspace: Path) -> Callable[[], None]:
    script = f"{REUSE.format(venv='/venv')} && {CHECK.format(venv='/venv')}"
    return raw(image, workspace, workspace / "venv", script)


def scenario(workspace: Path, base: str) -> Scenario:
    """(d): the lockfile unchanged, dockstep's cache hit against a kept host venv."""
    cached, _ = prepare(workspace, base)
    dockstep(workspace, cached)()  # builds the step image, installs, commits the layer
    image = python_image(workspace)
    raw_cold(image, workspace)()
    return Scenario(
        label="(d) Python deps, lockfile unchanged",
        dockstep=dockstep(workspace, cached),
        raw=raw_warm(image, workspace),
        raw_note="host venv",
        target=1.1,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    base = bootstrap("debian")
    print(f"load {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        cached, bare = prepare(workspace, base)
        cold = median_of(rounds, dockstep(workspace, cached, "--no-cache"))  # warm-up builds
        image = python_image(workspace)
        cold_raw = median_of(rounds, raw_cold(image, workspace))
        warm = medians(
            interleaved(
                {
                    "dockstep": dockstep(workspace, cached),
                    "no install": dockstep(workspace, bare),
                    "raw": raw_warm(image, workspace),
                    "floor": raw(image, workspace, workspace / "venv", CHECK.format(venv="/venv")),
                },
                rounds,
            )
        )
        subprocess.run(
            ["docker", "image", "prune", "-f", "--filter", "label=io.dockstep.cache"],
            check=False,
            capture_output=True,
        )
    print(f"medians of {rounds} runs (warm cases in interleaved rounds), seconds")
    print(f"{'dockstep cold (--no-cache)':<30}{cold:>8.3f}")
    print(
        f"{'dockstep warm (cache hit)':<30}{warm['dockstep']:>8.3f}   "
        f"warm/cold {warm['dockstep'] / cold:.2f}"
    )
    gap = warm["dockstep"] - warm["no install"]
    print(f"{'dockstep, no install phase':<30}{warm['no install']:>8.3f}   warm - this {gap:+.3f}")
    print(f"{'raw docker cold':<30}{cold_raw:>8.3f}")
    print(
        f"{'raw docker warm (host venv)':<30}{warm['raw']:>8.3f}   dockstep warm/raw warm "
        f"{warm['dockstep'] / warm['raw']:.2f}"
    )
    print(
        f"{'raw docker floor (step only)':<30}{warm['floor']:>8.3f}   dockstep warm/floor "
        f"{warm['dockstep'] / warm['floor']:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
