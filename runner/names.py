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
