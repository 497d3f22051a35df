"""Unpacking an archive a task sent back, into one folder and nowhere else.

tarfile's `data` filter does that from Python 3.11.4 on (and 3.12); on older 3.11 releases,
such as Debian 12's 3.11.2, `filter=` does not exist, so the same refusals are made here:
no absolute names, no `..`, no links leading out, no devices.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from runner.errors import DockstepError


class UnsafeArchive(DockstepError):
    pass


def extract(tar: tarfile.TarFile, target: Path) -> None:
    if hasattr(tarfile, "data_filter"):
        tar.extractall(target, filter="data")
        return
    check(tar.getmembers(), target)
    tar.extractall(target)  # checked just above


def check(members: list[tarfile.TarInfo], target: Path) -> None:
    """Raise UnsafeArchive for the first member that would land outside `target`."""
    root = target.resolve()
    for member in members:
        where = (root / member.name).resolve()
        if Path(member.name).is_absolute() or not where.is_relative_to(root):
            raise UnsafeArchive(f"archive member {member.name!r} would land outside {root}")
        if member.isdev():
            raise UnsafeArchive(f"archive member {member.name!r} is a device")
        if member.issym() or member.islnk():
            base = where.parent if member.issym() else root
            link = (base / member.linkname).resolve()
            if Path(member.linkname).is_absolute() or not link.is_relative_to(root):
                raise UnsafeArchive(f"archive link {member.name!r} leads outside {root}")
