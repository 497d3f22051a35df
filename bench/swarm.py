"""Benchmark: steps jobs on a one-node Docker Swarm against the local backend and raw Swarm.

Prints the median of several interleaved rounds (every variant once per round, so a slow
moment of the machine hits all of them alike) and the ratios, for two cases:
  (a) 1 job, 1 step `true`
  (b) 10 jobs in parallel, 1 step `true` each
  (c) 1 job, 1 step `true`, beside a service sidecar whose ready check is `true`
each as `dockstep run --backend swarm`, `dockstep run` (local) and raw `docker service
create` of the same image by digest (replicated, 1 replica, restart none), polled until its
task ends and then removed until its tasks are gone, as dockstep does; for (c) raw also
makes the attachable overlay network, starts the sidecar on it (DNS round robin, the check
as its health check) and waits until it runs, then removes both at once and the network.
Raw services get dockstep's `--init` and `--stop-grace-period 2s` (a shell as PID 1 ignores
SIGTERM, and Docker's default grace is 10 s).

A registry is started on a free 127.0.0.1 port for the run (docker-registry, as the tests
do) unless --registry HOST:PORT is given. The engine must be a Swarm manager
(scripts/setup.sh makes a one-node swarm).

Usage: python bench/swarm.py [--runs N] [--registry 127.0.0.1:5000]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import DOCKSTEP, bootstrap, sh, timed

ENDED = ("Complete", "Failed", "Rejected", "Shutdown")


@contextlib.contextmanager
def local_registry(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yml"
        storage = f"storage: {{filesystem: {{rootdirectory: {tmp}}}}}"
        config.write_text(
            f"version: 0.1\nlog: {{level: warn}}\n{storage}\nhttp: {{addr: 127.0.0.1:{port}}}\n"
        )
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1.0)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def pushed(image: str, registry: str) -> str:
    """The tiny image in the registry, as REPO@sha256:…"""
    tag = f"{registry}/bench/tiny:1"
    sh("docker", "tag", image, tag)
    sh("docker", "push", tag)
    return out("docker", "image", "inspect", "--format", "{{index .RepoDigests 0}}", tag).strip()


def out(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def raw_service(
    reference: str, *options: str, command: str = "true", until: tuple[str, ...] = ENDED
) -> str:
    """What dockstep does on the swarm, by hand: create, poll to the end (or `until`)."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    sh("docker", "service", "create", "--detach", "--quiet", "--no-resolve-image",
       "--restart-condition", "none", "--endpoint-mode", "dnsrr",
       "--init", "--stop-grace-period", "2s", *options,
       "--name", name, reference, "sh", "-c", command)  # fmt: skip
    while not out("docker", "service", "ps", name, "--format", "{{.CurrentState}}").startswith(
        until
    ):
        time.sleep(0.1)
    return name


def remove_services(*names: str) -> None:
    """Remove them at once and wait until their containers are gone, as dockstep does."""
    sh("docker", "service", "rm", *names)
    for name in names:
        label = f"label=com.docker.swarm.service.name={name}"
        while out("docker", "ps", "-aq", "--filter", label).strip():
            time.sleep(0.05)


def raw_job(reference: str) -> None:
    remove_services(raw_service(reference))


def raw_with_sidecar(reference: str) -> None:
    network = f"bench-{uuid.uuid4().hex[:8]}"
    sh("docker", "network", "create", "--driver", "overlay", "--attachable", network)
    sidecar = raw_service(
        reference, "--network", f"name={network},alias=web",
        "--health-cmd", "true", "--health-interval", "200ms",
        command="sleep 60", until=("Running",),
    )  # fmt: skip
    remove_services(raw_service(reference, "--network", network), sidecar)
    removal = ["docker", "network", "rm", network]
    while subprocess.run(removal, check=False, capture_output=True).returncode:
        time.sleep(0.05)


def parallel(action: Callable[[], None], count: int) -> None:
    with ThreadPoolExecutor(count) as pool:
        for future in [pool.submit(action) for _ in range(count)]:
            future.result()


def pipeline(image: str, jobs: int, sidecar: bool = False) -> str:
    body = [f"version: 1\nname: bench\ndefaults: {{image: '{image}'}}\njobs:"]
    services = (
        f"services: {{web: {{image: '{image}', command: 'sleep 60', "
        "ready: {command: 'true', interval: 200ms}}}, "
        if sidecar
        else ""
    )
    body += [f"  job{n}: {{{services}steps: ['true']}}" for n in range(jobs)]
    return "\n".join(body) + "\n"


def dockstep(workspace: Path, name: str, *extra: str) -> Callable[[], None]:
    path = workspace / "pipelines" / f"{name}.yml"
    return lambda: sh(*DOCKSTEP, "run", str(path), "--jobs", "10", *extra, cwd=workspace)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--registry", default=None, metavar="HOST:PORT")
    args = parser.parse_args()
    image = bootstrap("tiny")
    with local_registry(args.registry) as registry, tempfile.TemporaryDirectory() as tmp:
        reference = pushed(image, registry)
        workspace = Path(tmp)
        (workspace / "pipelines").mkdir()
        sh("git", "init", "-q", cwd=workspace)
        for name, jobs in (("a", 1), ("b", 10)):
            (workspace / "pipelines" / f"{name}.yml").write_text(pipeline(image, jobs))
        (workspace / "pipelines" / "c.yml").write_text(pipeline(image, 1, sidecar=True))
        on_swarm = ("--backend", "swarm", "--registry", f"{registry}/bench")
        cases = {
            "(a) 1 job x 1 step": (
                dockstep(workspace, "a", *on_swarm),
                dockstep(workspace, "a"),
                lambda: raw_job(reference),
            ),
            "(b) 10 jobs x 1 step": (
                dockstep(workspace, "b", *on_swarm),
                dockstep(workspace, "b"),
                lambda: parallel(lambda: raw_job(reference), 10),
            ),
            "(c) 1 job + sidecar": (
                dockstep(workspace, "c", *on_swarm),
                dockstep(workspace, "c"),
                lambda: raw_with_sidecar(reference),
            ),
        }
        times: dict[str, list[list[float]]] = {label: [[], [], []] for label in cases}
        for variants in cases.values():  # warm up: the workspace image, page cache
            for variant in variants:
                variant()
        for _ in range(args.runs):
            for label, variants in cases.items():
                for slot, variant in enumerate(variants):
                    times[label][slot].append(timed(variant))
    print(f"medians of {args.runs} interleaved rounds, seconds")
    print(f"{'case':<22}{'swarm':>8}{'local':>8}{'raw svc':>9}{'swarm/local':>13}{'swarm/raw':>11}")
    for label, (swarm, local, raw) in times.items():
        s, lo, r = (statistics.median(t) for t in (swarm, local, raw))
        print(f"{label:<22}{s:>8.3f}{lo:>8.3f}{r:>9.3f}{s / lo:>13.2f}{s / r:>11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
