"""Benchmark: dockstep's fixed cost against the raw `docker` commands doing the same work.

  (a) 1 job, 1 step `true`      vs `docker run --rm IMAGE true`
  (b) 1 job, 10 `true` steps    vs one container and 10 `docker exec`
  (c) 10 jobs, 1 `true` step    vs 10 `docker run --rm` started in parallel
Raw runs use the default bridge; each dockstep run holds a user-defined network (from the
pool: see README "Performance"), so the raw commands on such a network are timed too.
gitlab-ci-local runs the same jobs when it is installed (bench/peer.py). Rounds are
interleaved (bench/common.py).

Usage: python bench/core.py [--rounds N]   (the image is made by images/bootstrap.sh tiny)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import peer
from common import DOCKSTEP, Scenario, bootstrap, report, sh

RAW_NET = "raw, user network"


def parallel(commands: list[list[str]]) -> None:
    processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL) for c in commands]
    if any(p.wait() != 0 for p in processes):
        raise RuntimeError("a raw docker command failed")


@contextmanager
def user_network() -> Iterator[str]:
    """A user-defined bridge network, made once: what a dockstep run's containers are on
    (isolation, and names that resolve), which costs each container start more than the
    default bridge does."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    sh("docker", "network", "create", name)
    try:
        yield name
    finally:
        subprocess.run(["docker", "network", "rm", name], capture_output=True, check=False)


def raw_exec_loop(image: str, steps: int, network: str = "bridge") -> None:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    idle = ["sh", "-c", "while :; do sleep 3600; done"]
    sh("docker", "run", "-d", "--network", network, "--name", name, image, *idle)
    try:
        for _ in range(steps):
            sh("docker", "exec", name, "true")
    finally:  # a busy engine can answer the first removal with a conflict
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def pipeline(image: str, jobs: int, steps: int) -> str:
    body = [f"version: 1\nname: bench\ndefaults: {{image: '{image}'}}\njobs:"]
    step_list = ", ".join(["'true'"] * steps)
    body += [f"  job{n}: {{steps: [{step_list}]}}" for n in range(jobs)]
    return "\n".join(body) + "\n"


def dockstep_case(workspace: Path, name: str, text: str) -> Callable[[], None]:
    path = workspace / "pipelines" / f"{name}.yml"
    path.write_text(text)
    return lambda: sh(*DOCKSTEP, "run", str(path), "--jobs", "10", cwd=workspace)


def scenarios(workspace: Path, image: str, network: str) -> list[Scenario]:
    """(a), (b), (c) in a scratch git repository; `raw, user network` runs the raw
    commands on `network` (a `user_network()`)."""
    (workspace / "pipelines").mkdir()
    sh("git", "init", "-q", cwd=workspace)
    run_raw = ["docker", "run", "--rm", image, "true"]
    on_net = ["docker", "run", "--rm", "--network", network, image, "true"]
    shapes = {"a": (1, 1), "b": (1, 10), "c": (10, 1)}
    peers = {
        key: peer.gitlab_ci_local(workspace, key, image, *shape) for key, shape in shapes.items()
    }
    peers["a"][RAW_NET] = lambda: sh(*on_net)
    peers["b"][RAW_NET] = lambda: raw_exec_loop(image, 10, network)
    peers["c"][RAW_NET] = lambda: parallel([on_net] * 10)
    return [
        Scenario(
            label="(a) 1 job, 1 `true` step",
            dockstep=dockstep_case(workspace, "a", pipeline(image, 1, 1)),
            raw=lambda: sh(*run_raw),
            target=1.3,
            peers=peers["a"],
        ),
        Scenario(
            label="(b) 10 steps in one job",
            dockstep=dockstep_case(workspace, "b", pipeline(image, 1, 10)),
            raw=lambda: raw_exec_loop(image, 10),
            raw_note="exec loop",
            target=1.1,
            peers=peers["b"],
        ),
        Scenario(
            label="(c) 10 independent jobs",
            dockstep=dockstep_case(workspace, "c", pipeline(image, 10, 1)),
            raw=lambda: parallel([run_raw] * 10),
            raw_note="parallel",
            target=1.2,
            peers=peers["c"],
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp, user_network() as network:
        report(scenarios(Path(tmp), bootstrap("tiny"), network), rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
