"""What a task sends back is unpacked into the workspace and nowhere else, on every 3.11."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from runner.execute import unpack


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize(
    "bad",
    [
        member("/etc/passwd"),
        member("../outside"),
        member("a/../../outside"),
        member("link", tarfile.SYMTYPE, "/etc"),
        member("a/link", tarfile.SYMTYPE, "../../etc"),
        member("hard", tarfile.LNKTYPE, "../etc/passwd"),
        member("dev", tarfile.CHRTYPE),
    ],
    ids=lambda m: m.name,
)
def test_what_would_land_outside_is_refused(tmp_path: Path, bad: tarfile.TarInfo) -> None:
    with pytest.raises(unpack.UnsafeArchive):
        unpack.check([member("fine.txt"), bad], tmp_path)


def test_what_stays_inside_passes(tmp_path: Path) -> None:
    fine = [
        member("out/made.txt"),
        member("out/rel", tarfile.SYMTYPE, "made.txt"),
        member("out/sub/up", tarfile.SYMTYPE, "../made.txt"),
        member("out/hard", tarfile.LNKTYPE, "out/made.txt"),
    ]
    unpack.check(fine, tmp_path)


def test_an_archive_is_unpacked_into_the_folder(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"made\n"
        info = tarfile.TarInfo("out/made.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        unpack.extract(tar, tmp_path)
    assert (tmp_path / "out/made.txt").read_bytes() == b"made\n"
