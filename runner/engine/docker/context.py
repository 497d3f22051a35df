"""A build context with extra files in it (dockstep's generated Dockerfile, the CA bundle),
made the way the SDK makes one from a directory: `.dockerignore` applied, as a tar."""

from __future__ import annotations

import os
import tempfile
from typing import IO

from docker.utils.build import create_archive, exclude_paths

from runner.model.pipeline import Pairs


def archive(directory: str, dockerfile: str, files: Pairs) -> IO[bytes] | None:
    """The context as a tar with `files` added; None when there is nothing to add."""
    if not files:
        return None
    patterns = _ignored(directory)
    kept = sorted(exclude_paths(directory, patterns, dockerfile=dockerfile))
    made = tempfile.NamedTemporaryFile()  # noqa: SIM115 (the SDK reads it, then it goes)
    create_archive(root=directory, files=kept, fileobj=made, extra_files=list(files))
    made.seek(0)
    return made


def _ignored(directory: str) -> list[str]:
    path = os.path.join(directory, ".dockerignore")
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        lines = [line.strip() for line in handle.read().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]
