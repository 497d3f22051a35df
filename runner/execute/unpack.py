"""Unpacking an archive a task sent back, into one folder and nowhere else.

tarfile's `data` filter does that from Python 3.11.4 on (and 3.12); on older 3.11 releases,
such as Debian 12's 3.11.2, `filter=` does not exist, so the same refusals are made here,
member by member as each is written (a link an earlier member made counts, as it does for
the filter): no absolute names, nothing through a link out of the folder, no link leading
out, no devices; and, as the filter does, no owners taken from the archive and no
set-id bits or write bits for others.
"""

from __future__ import annotations

import copy
import os
import tarfile
from pathlib import Path

from runner.errors import DockstepError

SAFE_MODE = 0o755  # what the data filter keeps of a member's mode: no set-id, sticky, g/o write


class UnsafeArchive(DockstepError):
    pass


def extract(tar: tarfile.TarFile, target: Path) -> None:
    """Unpack `tar` into `target`; UnsafeArchive for a member that would get out."""
    if hasattr(tarfile, "data_filter"):
        try:
            tar.extractall(target, filter="data")
        except tarfile.FilterError as error:  # one error, whichever Python
            raise UnsafeArchive(str(error)) from error
        return
    root = target.resolve()
    for member in tar.getmembers():
        check(member, root)
        tar.extract(_tamed(member), root)


def check(member: tarfile.TarInfo, root: Path) -> None:
    """Raise UnsafeArchive if `member`, written now, would land or lead outside `root`
    (resolved, as the folder is on disk at this moment)."""
    name = member.name
    where = (root / name).resolve()
    if Path(name).is_absolute() or not where.is_relative_to(root):
        raise UnsafeArchive(f"archive member {name!r} would land outside {root}")
    if member.isdev():
        raise UnsafeArchive(f"archive member {name!r} is a device")
    if member.issym() or member.islnk():
        base = where.parent if member.issym() else root
        link = (base / member.linkname).resolve()
        if Path(member.linkname).is_absolute() or not link.is_relative_to(root):
            raise UnsafeArchive(f"archive link {name!r} leads outside {root}")


def _tamed(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """The member as this process's own, without the mode bits the data filter drops."""
    tamed = copy.copy(member)
    tamed.mode = member.mode & SAFE_MODE
    tamed.uid, tamed.gid, tamed.uname, tamed.gname = os.getuid(), os.getgid(), "", ""
    return tamed
