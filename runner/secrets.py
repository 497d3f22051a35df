"""Secret values: read on the host at run time, masked in every line printed or saved."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.errors import UsageError
from runner.model.pipeline import Secret

MASK = "***"
MINIMUM = 3  # shortest value masked


def read_secrets(
    secrets: Iterable[Secret], environ: Mapping[str, str], base: Path
) -> dict[str, str]:
    """Each secret's value by the variable name steps see; a missing one is an error."""
    values: dict[str, str] = {}
    for secret in secrets:
        if secret.from_file is not None:
            path = (base / Path(secret.from_file).expanduser()).resolve()
            try:
                values[secret.name] = path.read_text().rstrip("\n")
            except OSError as error:
                raise UsageError(f"secret {secret.name}: cannot read {path}: {error}") from error
        else:
            source = secret.from_env or secret.name
            if source not in environ:
                raise UsageError(f"secret {secret.name}: the environment has no {source}")
            values[secret.name] = environ[source]
    return values


@dataclass(frozen=True, slots=True)
class Masker:
    """Replaces every secret value (and each line of a multi-line one) with ***."""

    needles: tuple[str, ...]

    @classmethod
    def of(cls, values: Iterable[str]) -> Masker:
        # a value of one or two characters would mask every occurrence of them in all output
        needles = {value for value in values if len(value) >= MINIMUM}
        # each line of a multi-line secret too, but not trivial ones like "}" or "-----"
        needles |= {line for value in needles for line in value.splitlines() if len(line) >= 6}
        # longest first, so a secret containing another is masked whole
        return cls(tuple(sorted(needles, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        for needle in self.needles:
            text = text.replace(needle, MASK)
        return text
