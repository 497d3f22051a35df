"""What a task sends back is unpacked into the workspace and nowhere else, on every 3.11:
with tarfile's data filter where Python has it, and with dockstep's own checks where not."""

from __future__ import annotations

import contextlib
import io
import stat
import tarfile
from pathlib import Path

import pytest

from runner.execute import unpack


def member(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = "", data: bytes = b""
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mode = kind, link, len(data), 0o644
    return info, data


def archive(*members: tuple[tarfile.TarInfo, bytes]) -> tarfile.TarFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    buffer.seek(0)
    return tarfile.open(fileobj=buffer)


# this Python's filter where it has one (3.11.4 on), and the checks made where there is none
FLAVOURS = ["own checks", *(["data filter"] if hasattr(tarfile, "data_filter") else [])]


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "own checks":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    return str(request.param)


ESCAPES = {
    "absolute": [member("/tmp/dockstep-unpack-absolute", data=b"x")],
    "dot-dot": [member("../outside", data=b"x")],
    "inner dot-dot": [member("a/../../outside", data=b"x")],
    "symlink out": [member("link", tarfile.SYMTYPE, "/etc")],
    "relative symlink out": [member("a/link", tarfile.SYMTYPE, "../../etc")],
    "hard link out": [member("hard", tarfile.LNKTYPE, "../etc/passwd")],
    "device": [member("dev", tarfile.CHRTYPE)],
    # each link harmless alone; together `b` is the parent folder (safe on an empty disk)
    "symlink chain": [
        member("a", tarfile.SYMTYPE, "."),
        member("a/b", tarfile.SYMTYPE, ".."),
        member("b/pwned", data=b"x"),
    ],
}


@pytest.mark.parametrize("members", ESCAPES.values(), ids=ESCAPES.keys())
def test_nothing_lands_outside(
    tmp_path: Path, flavour: str, members: list[tuple[tarfile.TarInfo, bytes]]
) -> None:
    target = tmp_path / "workspace"
    target.mkdir()
    # refused, or (the filter, for an absolute name) written inside: never outside
    with (
        archive(member("fine.txt", data=b"ok"), *members) as tar,
        contextlib.suppress(unpack.UnsafeArchive),
    ):
        unpack.extract(tar, target)
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "outside").exists()
    assert not Path("/tmp/dockstep-unpack-absolute").exists()


def test_what_stays_inside_is_unpacked_with_safe_modes(tmp_path: Path, flavour: str) -> None:
    script, _ = runnable = member("out/run.sh", data=b"echo hi\n")
    script.mode = 0o4777  # set-uid and world-writable: both dropped
    with archive(
        member("out/made.txt", data=b"made\n"),
        runnable,
        member("out/rel", tarfile.SYMTYPE, "made.txt"),
        member("out/sub/up", tarfile.SYMTYPE, "../made.txt"),
        member("out/hard", tarfile.LNKTYPE, "out/made.txt"),
    ) as tar:
        unpack.extract(tar, tmp_path)
    assert (tmp_path / "out/made.txt").read_bytes() == b"made\n"
    assert (tmp_path / "out/rel").read_bytes() == b"made\n"
    assert (tmp_path / "out/hard").read_bytes() == b"made\n"
    mode = stat.S_IMODE((tmp_path / "out/run.sh").stat().st_mode)
    assert mode & 0o100 and not mode & (stat.S_ISUID | 0o022), oct(mode)
