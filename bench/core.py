"""Benchmark: dockstep's overhead against the raw `docker` commands doing the same work.

Prints the median of several runs for three cases and the ratio dockstep/raw:
  (a) 1 job, 1 step `true`      vs `docker run --rm IMAGE true`
  (b) 1 job, 10 `true` steps    vs one container and 10 `docker exec`
  (c) 10 jobs, 1 `true` step    vs 10 `docker run --rm` started in parallel
Raw runs on the default bridge; dockstep gives every run its own network, so the raw
figures with a per-run network (create, run, remove) are printed too.

Usage: python bench/core.py [--runs N]   (the image is made by images/bootstrap.sh tiny)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from common import DOCKSTEP, bootstrap, median_of, sh


def parallel(commands: list[list[str]]) -> None:
    processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL) for c in commands]
    if any(p.wait() != 0 for p in processes):
        raise RuntimeError("a raw docker command failed")


def with_network(action: Callable[[str], None]) -> None:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    sh("docker", "network", "create", name)
    try:
        action(name)
    finally:
        sh("docker", "network", "rm", name)


def raw_exec_loop(image: str, steps: int, network: str = "bridge") -> None:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    idle = ["sh", "-c", "while :; do sleep 3600; done"]
    sh("docker", "run", "-d", "--network", network, "--name", name, image, *idle)
    try:
        for _ in range(steps):
            sh("docker", "exec", name, "true")
    finally:
        sh("docker", "rm", "-f", name)


def pipeline(image: str, jobs: int, steps: int) -> str:
    body = [f"version: 1\nname: bench\ndefaults: {{image: '{image}'}}\njobs:"]
    step_list = ", ".join(["'true'"] * steps)
    body += [f"  job{n}: {{steps: [{step_list}]}}" for n in range(jobs)]
    return "\n".join(body) + "\n"


def dockstep_case(workspace: Path, name: str, text: str) -> Callable[[], None]:
    path = workspace / "pipelines" / f"{name}.yml"
    path.write_text(text)
    return lambda: sh(*DOCKSTEP, "run", str(path), "--jobs", "10", cwd=workspace)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    image = bootstrap("tiny")
    run_raw = ["docker", "run", "--rm", image, "true"]
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        (workspace / "pipelines").mkdir()
        sh("git", "init", "-q", cwd=workspace)
        cases = [
            (
                "(a) 1 job x 1 step",
                dockstep_case(workspace, "a", pipeline(image, 1, 1)),
                lambda: sh(*run_raw),
                lambda: with_network(lambda n: sh(*run_raw[:3], "--network", n, *run_raw[3:])),
            ),
            (
                "(b) 1 job x 10 steps",
                dockstep_case(workspace, "b", pipeline(image, 1, 10)),
                lambda: raw_exec_loop(image, 10),
                lambda: with_network(lambda n: raw_exec_loop(image, 10, n)),
            ),
            (
                "(c) 10 jobs x 1 step",
                dockstep_case(workspace, "c", pipeline(image, 10, 1)),
                lambda: parallel([run_raw] * 10),
                lambda: with_network(
                    lambda n: parallel([[*run_raw[:3], "--network", n, *run_raw[3:]]] * 10)
                ),
            ),
        ]
        print(f"medians of {runs} runs, seconds")
        print(f"{'case':<22}{'dockstep':>10}{'raw':>8}{'ratio':>7}{'raw+net':>9}{'ratio':>7}")
        for label, ours, raw, raw_net in cases:
            mine, base, base_net = (median_of(runs, f) for f in (ours, raw, raw_net))
            print(
                f"{label:<22}{mine:>10.3f}{base:>8.3f}{mine / base:>7.2f}"
                f"{base_net:>9.3f}{mine / base_net:>7.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
