"""The name rules every part of dockstep shares, and the one "did you mean" helper."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection

VARIABLE = r"[A-Za-z_][A-Za-z0-9_]*"
VARIABLE_NAME = re.compile(VARIABLE)  # env keys, --var names, ${NAME}, $NAME in `if:`
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # jobs, environments, services
NAME_RULE = "letters, digits, '_', '.' and '-', starting with a letter or digit"


def suggest(word: str, choices: Collection[str]) -> str:
    """` (did you mean 'x'?)` when a choice is close to `word`, else ""."""
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# What users coming from GitHub Actions write, and what dockstep has instead. A hint
# naming a key is given only where that key is allowed; the others always.
_GITHUB_ACTIONS: dict[str, tuple[str | None, str]] = {
    "working-directory": ("workdir", "dockstep's key is workdir: (an absolute path, or relative "
                          "to the job's workdir on a step)"),
    "timeout-minutes": ("timeout", "dockstep's key is timeout:, a duration like 10m"),
    "continue-on-error": ("allow_failure", "dockstep's key is allow_failure: true"),
    "strategy": ("matrix", "write matrix: directly on the job (and fail_fast: false, if wanted)"),
    "fail-fast": ("fail_fast", "dockstep's key is fail_fast:, on the job beside matrix:"),
    "services": ("services", "dockstep's key is services:, each a pinned image"),
    "uses": (None, "dockstep has no actions: run the tool in a step (run: ...), or install "
             "it in the job's image (image: {build: <dir>}) or in install:"),
    "runs-on": (None, "dockstep runs every job in its image, on this machine's engine: set "
                "image: (or defaults.image) instead"),
    "with": (None, "dockstep has no actions, so no inputs: pass values through env:"),
}  # fmt: skip


def suggest_key(word: str, allowed: Collection[str]) -> str:
    """What to write instead of an unknown key: a GitHub Actions hint, else a close key."""
    hint = _GITHUB_ACTIONS.get(word)
    if hint is not None and (hint[0] is None or hint[0] in allowed):
        return f" ({hint[1]})"
    return suggest(word, allowed)
