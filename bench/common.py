"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKSTEP = [sys.executable, "-m", "runner.cli"]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_of(runs: int, action: Callable[[], object], *, warm_up: bool = True) -> float:
    if warm_up:
        action()  # page cache, image layers
    return statistics.median(timed(action) for _ in range(runs))


def sh(*argv: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> None:
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)


def bootstrap(kind: str) -> str:
    """The id of a locally made base image (images/bootstrap.sh)."""
    done = subprocess.run(
        [str(ROOT / "images/bootstrap.sh"), kind], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()
