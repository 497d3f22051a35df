"""Secret values: read on the host at run time, masked in every line printed or saved."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

from runner.errors import UsageError
from runner.model.pipeline import Secret

MASK = "***"
MINIMUM = 3  # shortest value masked
FRAGMENT = 6  # shortest part of a value (a line, an inner base64 run) masked on its own
BASE64_WRAP = 76  # the column `base64` (coreutils, busybox) wraps its output at
URL_SAFE = str.maketrans("+/", "-_")


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


def unmasked_warnings(values: Mapping[str, str]) -> Iterator[str]:
    """A warning for each secret too short to be masked, naming its variable, never its value.

    For the caller to print before the run starts: such a value is printed in clear.
    """
    for name, value in values.items():
        if 0 < len(value.rstrip("\n")) < MINIMUM:
            yield (
                f"secret {name} is shorter than {MINIMUM} characters, "
                "so it will not be masked in the output"
            )


@dataclass(frozen=True, slots=True)
class Masker:
    """Replaces every secret value, its encoded forms and each line of a multi-line one with ***.

    The encoded forms are those a step prints by accident or on purpose: base64 (standard
    and URL-safe, padded or not, standing alone or inside a longer stream) and URL encoding.
    """

    needles: tuple[str, ...]

    @classmethod
    def of(cls, values: Iterable[str]) -> Masker:
        needles = {form for value in values for form in forms(value)}
        # longest first, so a secret containing another is masked whole
        return cls(tuple(sorted(needles, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        for needle in self.needles:
            text = text.replace(needle, MASK)
        return text


def forms(value: str) -> set[str]:
    """Every string that gives the value away when printed; none for a too short value."""
    core = value.rstrip("\n")  # a file's or `echo`'s trailing newline is not the secret
    if len(core) < MINIMUM:
        # a value of one or two characters would mask every occurrence of them in all output
        return set()
    found = {core, *_url_encoded(core), *_base64_inner(core.encode())}
    for data in (core.encode(), f"{core}\n".encode()):  # `echo "$SECRET" | base64`
        found |= _base64_whole(data)
    # each line of a multi-line secret (or of a wrapped encoding) too, but not trivial ones
    # like "}" or "-----"
    return found | {line for form in found for line in form.splitlines() if len(line) >= FRAGMENT}


def _url_encoded(text: str) -> set[str]:
    return {quote(text), quote(text, safe=""), quote_plus(text), quote_plus(text, safe="/")}


def _base64_whole(data: bytes) -> set[str]:
    """The value's base64 on its own: both alphabets, padded or not, and as `base64` wraps it."""
    padded = base64.b64encode(data).decode()
    found: set[str] = set()
    for text in (padded, padded.translate(URL_SAFE)):
        wrapped = "\n".join(text[i : i + BASE64_WRAP] for i in range(0, len(text), BASE64_WRAP))
        found |= {text, text.rstrip("="), wrapped}
    return found


def _base64_inner(data: bytes) -> set[str]:
    """The value's base64 inside a longer stream: the part that does not depend on the rest.

    Base64 turns every 3 bytes into 4 characters of 6 bits, so the value starts at one of
    three alignments. The characters that also carry bits of the bytes around it differ
    from stream to stream; the ones in between are always the same, and are masked.
    """
    found: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode()
        first = -(-8 * offset // 6)  # the first character made of the value's bits alone
        end = 8 * (offset + len(data)) // 6
        inner = encoded[first:end]
        if len(inner) >= FRAGMENT:
            found |= {inner, inner.translate(URL_SAFE)}
    return found
