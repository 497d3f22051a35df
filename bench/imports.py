"""The import cost of `dockstep run`'s path, as a ratio to `import docker` in the same process.

Parses `python -X importtime -c "import runner.commands.run"`: the cumulative time of
`runner.commands.run` and of `docker` within it (the Docker SDK every run needs), and the
wall time of the whole interpreter. With `--against DIR`, another checkout (e.g. one made
with `git archive`) is measured in the same interleaved rounds.

Usage: python bench/imports.py [--rounds N] [--against DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, load

LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)")


def measure(checkout: Path) -> tuple[float, float, float]:
    """(run path ms, docker ms, wall ms) of one fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import runner.commands.run"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    cumulative = {name: int(us) for us, _, name in LINE.findall(done.stderr)}
    return cumulative["runner.commands.run"] / 1000, cumulative["docker"] / 1000, wall * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--against", type=Path, action="append", default=[])
    options = parser.parse_args()
    checkouts = [ROOT, *options.against]
    found: dict[Path, list[tuple[float, float, float]]] = {c: [] for c in checkouts}
    for number in range(options.rounds):
        shift = number % len(checkouts)
        for checkout in checkouts[shift:] + checkouts[:shift]:
            found[checkout].append(measure(checkout))
    print(f"medians of {options.rounds} interleaved rounds, ms; load {load()}")
    print(f"{'checkout':<40}{'run path':>10}{'docker':>9}{'ratio':>7}{'wall':>8}")
    for checkout, rows in found.items():
        path, docker, wall = (statistics.median(column) for column in zip(*rows, strict=True))
        ratio = statistics.median(p / d for p, d, _ in rows)
        print(f"{checkout!s:<40}{path:>10.1f}{docker:>9.1f}{ratio:>7.2f}{wall:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
