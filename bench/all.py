"""The table of issue 14: every scenario, dockstep against raw docker (and gitlab-ci-local
when bench/install-peer.sh installed it), medians of interleaved rounds, with the targets.

  (a) (b) (c)  bench/core.py        the fixed cost of a run, its steps, parallel jobs
  (d)          bench/cache.py       Python deps with the lockfile unchanged (needs PyPI)
  (e)          bench/delivery.py    package: cached build + push to a local registry

Usage: python bench/all.py [--rounds N]   (`make bench`)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import cache
import core
import delivery
import peer
from common import bootstrap, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    if not peer.installed():
        print("gitlab-ci-local is not installed (bench/install-peer.sh): no peer column")
    tiny, debian = bootstrap("tiny"), bootstrap("debian")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("core", "cache", "delivery"):
            (root / name).mkdir()
        scenarios = [
            *core.scenarios(root / "core", tiny, stack.enter_context(core.user_network())),
            cache.scenario(root / "cache", debian),
            delivery.scenario(stack, root / "delivery", tiny),
        ]
        report(scenarios, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
