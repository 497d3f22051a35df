"""Benchmark: the runner service's latency and throughput, against plain `dockstep run`.

  (a) webhook received -> first step started: the POST is sent, the run is fetched,
      checked out, queued and started; "started" is the first step's start time from the
      run's report. Compared with `dockstep run` started by hand -> its first step.
  (b) a burst of N signed webhooks (distinct deliveries) at concurrency C: runs per minute
      from the first POST to the last run's end, every run recorded exactly once (none
      lost, none duplicated). Compared with N `dockstep run`s one after the other.
Medians of several rounds for (a); the image is made by images/bootstrap.sh tiny.

Usage: python bench/serve.py [--runs N] [--burst N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from common import DOCKSTEP, ROOT, bootstrap, sh

from runner.service.webhooks import signature

SECRET = "bench-secret"
PIPELINE = """version: 1
defaults: {{image: "{image}"}}
on: {{push: {{}}}}
jobs:
  one:
    steps:
      - run: echo started
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def repository(where: Path, image: str) -> str:
    (where / "pipelines").mkdir(parents=True)
    (where / "pipelines" / "ci.yml").write_text(PIPELINE.format(image=image))
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@dockstep.invalid"]
    sh("git", "init", "--quiet", "-b", "main", cwd=where)
    sh(*git, "add", "--all", cwd=where)
    sh(*git, "commit", "--quiet", "-m", "bench", cwd=where)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, check=True
    ).stdout.strip()


class Service:
    def __init__(self, repo: Path, state: Path, concurrency: int, env: dict[str, str]) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        command = [*DOCKSTEP, "serve", "--repo", str(repo), "--concurrency", str(concurrency)]
        command += ["--listen", self.url.removeprefix("http://")]
        env = {**env, "DOCKSTEP_CACHE_DIR": str(state), "DOCKSTEP_WEBHOOK_SECRET": SECRET}
        self.process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        self.state = state
        self._wait(self._answers)

    def _answers(self) -> bool:
        try:
            return requests.get(self.url + "/api/runs", timeout=2).ok
        except requests.ConnectionError:
            return False

    @staticmethod
    def _wait(check: Any, timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            time.sleep(0.01)
        raise RuntimeError("the service did not get there in time")

    def push(self, commit: str) -> int:
        body = json.dumps(
            {"ref": "refs/heads/main", "after": commit, "before": "0" * 40, "n": uuid.uuid4().hex}
        ).encode()
        headers = {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": uuid.uuid4().hex,
            "X-Hub-Signature-256": signature(SECRET, body),
        }
        response = requests.post(self.url + "/hooks/github", data=body, headers=headers, timeout=60)
        response.raise_for_status()
        return int(response.json()["run"])

    def run(self, run_id: int) -> dict[str, Any]:
        found: dict[str, Any] = requests.get(f"{self.url}/api/runs/{run_id}", timeout=10).json()
        return found

    def finished(self, run_id: int) -> dict[str, Any]:
        return dict(self._wait(lambda: (r := self.run(run_id))["finished_at"] and r))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def first_step(report: Path) -> float:
    return float(json.loads(report.read_text())["jobs"][0]["steps"][0]["started_at"])


def service_latency(service: Service, commit: str) -> float:
    sent = time.time()
    run_id = service.push(commit)
    service.finished(run_id)
    return (
        first_step(service.state / "service" / "logs" / str(run_id) / "ci" / "report.json") - sent
    )


def cli_latency(repo: Path, env: dict[str, str]) -> float:
    report = repo / "bench-report.json"
    started = time.time()
    sh(*DOCKSTEP, "run", "pipelines/ci.yml", "--report", str(report), cwd=repo, env=env)
    return first_step(report) - started


def burst(service: Service, commit: str, count: int) -> tuple[float, int, int]:
    before = {r["id"] for r in requests.get(service.url + "/api/runs?limit=500", timeout=10).json()}
    started = time.time()
    ids = [service.push(commit) for _ in range(count)]
    ends = [service.finished(run_id)["finished_at"] for run_id in ids]
    runs = requests.get(service.url + "/api/runs?limit=500", timeout=10).json()
    recorded = [r["id"] for r in runs if r["id"] not in before]
    lost = len(set(ids) - set(recorded))
    duplicated = len(recorded) - len(set(recorded)) + max(0, len(recorded) - count)
    return count / (max(ends) - started) * 60, lost, duplicated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=2)
    options = parser.parse_args()
    image = bootstrap("tiny")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    with tempfile.TemporaryDirectory(prefix="dockstep-bench-serve-") as temp:
        repo, state = Path(temp) / "repo", Path(temp) / "state"
        commit = repository(repo, image)
        env["DOCKSTEP_CACHE_DIR"] = str(Path(temp) / "cli-state")
        cli_latency(repo, env)  # warm-up: page cache, image layers
        cli = statistics.median(cli_latency(repo, env) for _ in range(options.runs))
        service = Service(repo, state, options.concurrency, env)
        try:
            service_latency(service, commit)  # warm-up
            hook = statistics.median(service_latency(service, commit) for _ in range(options.runs))
            rate, lost, duplicated = burst(service, commit, options.burst)
        finally:
            service.stop()
        started = time.time()
        for _ in range(options.burst):
            sh(*DOCKSTEP, "run", "pipelines/ci.yml", cwd=repo, env=env)
        sequential = options.burst / (time.time() - started) * 60
    print(f"webhook -> first step started  median {hook:.3f}s")
    print(f"dockstep run -> first step     median {cli:.3f}s   ratio serve/run {hook / cli:.2f}")
    print(
        f"burst of {options.burst} at concurrency {options.concurrency}: {rate:.1f} runs/min, "
        f"{lost} lost, {duplicated} duplicated"
    )
    print(f"{options.burst} sequential dockstep runs:  {sequential:.1f} runs/min   "
          f"ratio {rate / sequential:.2f}")  # fmt: skip
    return 0 if lost == duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
