"""Timing helpers shared by the benchmarks: interleaved rounds, medians, the table.

On a shared machine load comes and goes; timing one case N times and then the next puts
each case in a different weather. So every round runs each contender once, in an order
rotated by one per round, and the medians compare runs made side by side.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKSTEP = [sys.executable, "-m", "runner.cli"]
# this checkout's dockstep, whichever checkout the venv's editable install points at
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
Action = Callable[[], object]


def timed(action: Action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_of(runs: int, action: Action, *, warm_up: bool = True) -> float:
    if warm_up:
        action()  # page cache, image layers
    return statistics.median(timed(action) for _ in range(runs))


def interleaved(
    contenders: Mapping[str, Action], rounds: int, *, warm_up: bool = True
) -> dict[str, list[float]]:
    """Each contender's times: every round runs each once, the order rotated per round."""
    names = list(contenders)
    if warm_up:
        for name in names:
            contenders[name]()  # page cache, image layers, build cache
    times: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(timed(contenders[name]))
    return times


def medians(times: Mapping[str, Sequence[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in times.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One row of the table: dockstep against raw docker doing the same (and a peer)."""

    label: str
    dockstep: Action
    raw: Action
    raw_note: str = ""
    target: float  # the dockstep/raw ratio issue 14 aims for
    peers: Mapping[str, Action] = field(default_factory=dict)

    def measure(self, rounds: int) -> dict[str, float]:
        return medians(
            interleaved({"dockstep": self.dockstep, "raw": self.raw, **self.peers}, rounds)
        )


def header(peers: Sequence[str]) -> str:
    columns = ["scenario", "dockstep", *peers, "raw docker", "dockstep / raw", "target"]
    return "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns)


def row(scenario: Scenario, found: Mapping[str, float], peers: Sequence[str]) -> str:
    ratio = found["dockstep"] / found["raw"]
    met = "met" if ratio <= scenario.target else "not met"
    raw = f"{found['raw']:.3f}" + (f" ({scenario.raw_note})" if scenario.raw_note else "")
    cells = [
        scenario.label,
        f"{found['dockstep']:.3f}",
        *(f"{found[p]:.3f}" if p in found else "-" for p in peers),
        raw,
        f"{ratio:.2f}x",
        f"<= {scenario.target}x ({met})",
    ]
    return "| " + " | ".join(cells) + " |"


def report(scenarios: Sequence[Scenario], rounds: int) -> None:
    """Measure each scenario in interleaved rounds and print the table as it goes."""
    peers = sorted({name for s in scenarios for name in s.peers})
    print(f"medians of {rounds} interleaved rounds, seconds; load {load()}")
    print(header(peers), flush=True)
    for scenario in scenarios:
        print(row(scenario, scenario.measure(rounds), peers), flush=True)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def sh(*argv: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> None:
    """Run a command quietly; its output is shown when it fails."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{output}")


def bootstrap(kind: str) -> str:
    """The id of a locally made base image (images/bootstrap.sh)."""
    done = subprocess.run(
        [str(ROOT / "images/bootstrap.sh"), kind], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()
