"""Benchmark: package and deploy-to-healthy, beside raw docker doing the same.

  package           `dockstep run` of a package job (build with an unchanged context, so
                    the build cache answers, then push to a local registry) against raw
                    `docker build` + `docker push` of the same context
  deploy→healthy    from the deploy job's start to the verify job's end (one HTTP check),
                    read from dockstep's report, against raw `docker rm -f` + `docker run -d`
                    + a GET loop until the service answers 200
Both use examples/webapp on the local busybox image and a registry on a free 127.0.0.1 port.

Usage: python bench/delivery.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def local_registry() -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "DOCKSTEP_STATE": state, "DOCKSTEP_REGISTRY_PORT": str(port)}
        sh(str(ROOT / "scripts/ensure-registry.sh"), env=env)
        try:
            yield f"127.0.0.1:{port}"
        finally:
            sh(str(ROOT / "scripts/stop-registry.sh"), env=env)


def pipeline(registry: str, port: int, *, deploy: bool) -> str:
    text = f"""version: 1
name: bench-delivery
environments: {{bench: {{}}}}
jobs:
  image:
    stage: package
    package: {{context: webapp, args: {{BASE: "${{BASE_IMAGE}}"}}, push: ["{registry}/webapp"]}}
"""
    if deploy:
        text += f"""  deploy:
    stage: deploy
    needs: [image]
    deploy: {{environment: bench, package: image, service: bench-webapp, ports: ["{port}:8000"]}}
  verify:
    stage: verify
    needs: [deploy]
    verify:
      deployment: deploy
      checks: [{{http: {{url: "http://127.0.0.1:{port}/health", deadline: 20s, interval: 50ms}}}}]
"""
    return text


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} never answered")


def deploy_span(workspace: Path, path: Path, base: str) -> float:
    report = workspace / "report.json"
    sh(
        *DOCKSTEP,
        "run",
        str(path),
        "--var",
        f"BASE_IMAGE={base}",
        "--report",
        str(report),
        cwd=workspace,
    )
    jobs = {j["name"]: j for j in json.loads(report.read_text())["jobs"]}
    return float(jobs["verify"]["finished_at"] - jobs["deploy"]["started_at"])


def raw_package(build: list[str], image: str) -> Callable[[], None]:
    def action() -> None:
        # the engine's CLI warns on stderr that its legacy builder is deprecated
        subprocess.run(build, check=True, capture_output=True)
        sh("docker", "push", image)

    return action


def raw_deploy(image: str, port: int) -> Callable[[], None]:
    def action() -> None:
        subprocess.run(["docker", "rm", "-f", "bench-raw"], capture_output=True, check=False)
        sh("docker", "run", "-d", "--name", "bench-raw", "-p", f"127.0.0.1:{port}:8000", image)
        wait_healthy(f"http://127.0.0.1:{port}/health")

    return action


def prepare(workspace: Path) -> None:
    """The webapp example in a committed git repository: a commit gives the image a fixed
    `created` label, so the context is unchanged and the build cached."""
    shutil.copytree(ROOT / "examples" / "webapp", workspace / "webapp")
    (workspace / "pipelines").mkdir()
    sh("git", "init", "-q", cwd=workspace)
    sh("git", "add", "-A", cwd=workspace)
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    sh("git", *identity, "commit", "-qm", "bench", cwd=workspace)


def package_cases(
    workspace: Path, registry: str, base: str
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(dockstep's package job, raw `docker build` + `docker push` of the same context)."""
    package_only = workspace / "pipelines" / "package.yml"
    package_only.write_text(pipeline(registry, free_port(), deploy=False))
    raw_image = f"{registry}/webapp:raw"
    context = str(workspace / "webapp")
    raw_build = ["docker", "build", "-q", "--build-arg", f"BASE={base}", "-t", raw_image, context]
    ours = ["run", str(package_only), "--var", f"BASE_IMAGE={base}"]
    return lambda: sh(*DOCKSTEP, *ours, cwd=workspace), raw_package(raw_build, raw_image)


def scenario(stack: ExitStack, workspace: Path, base: str) -> Scenario:
    """(e): a package job whose build the cache answers, pushed to a local registry."""
    registry = stack.enter_context(local_registry())
    prepare(workspace)
    ours, raw = package_cases(workspace, registry, base)
    return Scenario(
        label="(e) package: cached build + push",
        dockstep=ours,
        raw=raw,
        target=1.5,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    base = bootstrap("tiny")
    ours_port, raw_port = free_port(), free_port()
    with local_registry() as registry, tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        prepare(workspace)
        full = workspace / "pipelines" / "full.yml"
        full.write_text(pipeline(registry, ours_port, deploy=True))
        ours, raw = package_cases(workspace, registry, base)
        try:
            package = medians(interleaved({"dockstep": ours, "raw": raw}, rounds))
            deploy_span(workspace, full, base)  # warm-up: the first deploy has no previous
            raw_image = f"{registry}/webapp:raw"
            deploy = statistics.median(deploy_span(workspace, full, base) for _ in range(rounds))
            deploy_raw = median_of(rounds, raw_deploy(raw_image, raw_port))
        finally:
            for name in ("bench-webapp", "bench-webapp-previous", "bench-raw"):
                subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    print(f"medians of {rounds} runs (package in interleaved rounds), seconds; load {load()}")
    print(f"{'case':<18}{'dockstep':>10}{'raw':>8}{'ratio':>7}")
    mine, base_time = package["dockstep"], package["raw"]
    print(f"{'package':<18}{mine:>10.3f}{base_time:>8.3f}{mine / base_time:>7.2f}")
    print(f"{'deploy->healthy':<18}{deploy:>10.3f}{deploy_raw:>8.3f}{deploy / deploy_raw:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
