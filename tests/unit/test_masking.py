"""Masking as a user sees it: no form of a secret a step may print survives."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from runner.output import Console, JobLog
from runner.secrets import MINIMUM, Masker, unmasked_warnings

SECRET = "s3cr3t+/value?&=x"  # its base64 holds '+' and '/' at some alignments


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def urlsafe(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


ENCODINGS: dict[str, Callable[[bytes], str]] = {
    "standard": b64,
    "standard-unpadded": lambda data: b64(data).rstrip("="),
    "urlsafe": urlsafe,
    "urlsafe-unpadded": lambda data: urlsafe(data).rstrip("="),
}


def run_lines(mask: Masker, chunks: list[bytes], tmp_path: Path) -> tuple[str, str]:
    """What the console and the job's log file show for a job writing these chunks."""
    screen = io.StringIO()
    log = JobLog("job", Console(screen, colour=False, mask=mask), tmp_path / "job.log", mask)
    for chunk in chunks:
        log.write(chunk)
    log.close()
    return screen.getvalue(), (tmp_path / "job.log").read_text()


# ---------------------------------------------------------------- plain values


def test_a_plain_value_is_masked() -> None:
    assert Masker.of([SECRET])(f"token={SECRET}!") == "token=***!"


def test_a_value_split_across_writes_is_masked_in_the_console_and_the_log(
    tmp_path: Path,
) -> None:
    raw = f"token={SECRET} done\n".encode()
    chunks = [raw[i : i + 3] for i in range(0, len(raw), 3)]  # the value never whole in a chunk
    screen, log = run_lines(Masker.of([SECRET]), chunks, tmp_path)
    assert screen == "job | token=*** done\n"
    assert log == "token=*** done\n"


def test_each_line_of_a_multi_line_value_is_masked(tmp_path: Path) -> None:
    key = "-----BEGIN KEY-----\nMIIEabcdefgh\nijklmnopQRST\n-----END KEY-----"
    screen, log = run_lines(Masker.of([key]), [f"{key}\n".encode()], tmp_path)
    assert "MIIE" not in screen + log
    assert "ijkl" not in screen + log
    assert log.splitlines() == ["***", "***", "***", "***"]


def test_a_trailing_newline_is_not_part_of_the_value() -> None:
    mask = Masker.of(["abcd\n"])  # as read from an env var that was set from a file
    assert mask("echo says abcd.") == "echo says ***."


# ---------------------------------------------------------------- base64


@pytest.mark.parametrize("encoding", ENCODINGS, ids=list(ENCODINGS))
@pytest.mark.parametrize("newline", ["", "\n"], ids=["printf", "echo"])
def test_the_base64_of_a_value_is_masked_whole(encoding: str, newline: str) -> None:
    encoded = ENCODINGS[encoding](f"{SECRET}{newline}".encode())
    assert SECRET not in encoded
    assert Masker.of([SECRET])(f"seen: {encoded}") == "seen: ***"


@pytest.mark.parametrize("encoding", ENCODINGS, ids=list(ENCODINGS))
@pytest.mark.parametrize("before", [b"", b"a", b"ab", b"abc", b"abcd"])
def test_a_value_inside_a_longer_base64_stream_is_masked_but_its_edges(
    encoding: str, before: bytes
) -> None:
    """Only the characters that share bits with the bytes around the value may stay."""
    stream = ENCODINGS[encoding](b'{"user": ' + before + SECRET.encode() + b'", "n": 1}')
    start = 9 + len(before)  # the value's first byte in the stream
    first = 8 * start // 6  # the first character holding a bit of the value
    end = math.ceil(8 * (start + len(SECRET)) / 6)  # after the last such character
    masked = Masker.of([SECRET])(stream)
    head, mask, tail = masked.partition("***")
    assert mask, f"nothing masked in {stream}"
    assert stream.startswith(head)
    assert stream.endswith(tail)
    assert len(head) <= first + 1, "more than the first, shared character is visible"
    assert len(stream) - len(tail) >= end - 1, "more than the last, shared character is visible"


def test_long_values_are_masked_on_every_line_base64_wraps_them_on() -> None:
    key = "k" * 40 + "-" * 40 + "z" * 40
    wrapped = b64(key.encode())
    lines = [wrapped[i : i + 76] for i in range(0, len(wrapped), 76)]  # as `base64` prints it
    mask = Masker.of([key])
    assert [mask(line) for line in lines] == ["***", "***", "***"]


def test_the_base64_of_a_short_value_does_not_mask_ordinary_text() -> None:
    mask = Masker.of(["abc", "wxyz"])  # inner base64 runs of 3 to 5 characters are too common
    assert mask("d3h5 YmM d3h5e") == "d3h5 YmM d3h5e"  # parts of the two values' base64
    assert mask(f"{b64(b'abc')} {b64(b'wxyz')}") == "*** ***"  # whole, they are still masked


# ---------------------------------------------------------------- URL encoding


@pytest.mark.parametrize(
    "encode",
    [quote, quote_plus, lambda text: quote(text, safe="")],
    ids=["quote", "quote_plus", "quote-safe-nothing"],
)
def test_the_url_encoded_value_is_masked(encode: Callable[[str], str]) -> None:
    value = "p@ss w/rd&x=1"
    encoded = encode(value)
    assert encoded != value
    assert Masker.of([value])(f"https://h/?token={encoded}&n=1") == "https://h/?token=***&n=1"


# ---------------------------------------------------------------- too short to mask


def test_a_value_too_short_to_mask_is_warned_about_by_name_never_by_value() -> None:
    values = {"PIN": "zq", "TOKEN": "long-enough", "EMPTY": "", "NEWLINE": "q\n"}
    warnings = list(unmasked_warnings(values))
    assert warnings == [
        f"secret PIN is shorter than {MINIMUM} characters, so it will not be masked in the output",
        f"secret NEWLINE is shorter than {MINIMUM} characters, "
        "so it will not be masked in the output",
    ]
    assert not any("zq" in warning for warning in warnings)
