"""Artifacts: files a job leaves for the jobs that need it, archived with a checksum manifest.

After a job passes, its `artifacts:` paths are copied from the workspace into the run
directory with a sha256 per file. A job that needs it gets that copy mounted read-only at
/artifacts/<job>, after every checksum was verified, so it sees exactly what the producer
made, whatever happened to the workspace in between. In an orchestrated run, every steps
job of a downstream pipeline also gets its upstream pipelines' archives, verified the same
way against the upstream jobs' results, at /artifacts/<pipeline>/<job>.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from runner.errors import DockstepError
from runner.model.results import Artifacts, JobResult, UpstreamArtifacts

MANIFEST = "manifest.json"
MOUNT_ROOT = "/artifacts"


class ArtifactError(DockstepError):
    pass


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root: Path, relative: str) -> list[Path]:
    found = root / relative
    if found.is_file():
        files = [found]
    elif found.is_dir():
        files = sorted(p for p in found.rglob("*") if p.is_file())
    else:
        raise ArtifactError(f"artifact {relative!r} is not in the workspace")
    inside = root.resolve()
    for path in files:  # a symlink must not smuggle a host file into the artifacts
        if not path.resolve().is_relative_to(inside):
            name = path.relative_to(root).as_posix()
            raise ArtifactError(f"artifact {name!r} links outside the workspace")
    return files


def archive(job: str, paths: tuple[str, ...], workspace: Path, run_dir: Path) -> Artifacts:
    """Copy the paths into the run directory and write the manifest (for people to read)."""
    target = run_dir / "artifacts" / job
    files = {}
    for relative in paths:
        for source in _files(workspace, relative):
            name = source.relative_to(workspace).as_posix()
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
            files[name] = _digest(target / name)
    (target / MANIFEST).write_text(json.dumps({"job": job, "files": files}, indent=2) + "\n")
    return Artifacts(folder=str(target), files=tuple(sorted(files.items())))


def verified(job: str, recorded: Artifacts) -> Path:
    """The archive of `job`, once its files are exactly the recorded ones, checksums and all.

    The run directory sits in the workspace, which every job may write, so only the
    digests the runner recorded in the job's result count, never the manifest beside them.
    """
    target = Path(recorded.folder)
    files = dict(recorded.files)
    for name, digest in files.items():
        path = target / name
        if not path.is_file() or _digest(path) != digest:
            raise ArtifactError(f"artifacts of {job!r}: {name} does not match its checksum")
    present = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    extra = sorted(present - set(files) - {MANIFEST})
    if extra:
        raise ArtifactError(f"artifacts of {job!r}: {extra[0]} was added after the job ended")
    return target


def mount_point(job: str) -> str:
    return f"{MOUNT_ROOT}/{job}"


def handed(
    inputs: Mapping[str, JobResult], upstream: tuple[UpstreamArtifacts, ...]
) -> list[tuple[str, Artifacts]]:
    """What a job gets, by producer: the archives of the jobs it waits for (`job`), then
    those of the upstream pipelines (`pipeline/job`). Nothing is verified yet."""
    found = [(name, r.artifacts) for name, r in sorted(inputs.items()) if r.artifacts]
    pipelines = {each.pipeline for each in upstream}
    for name, _ in found:
        if name in pipelines:  # /artifacts/<job> would hide /artifacts/<pipeline>/…
            raise ArtifactError(
                f"artifacts of job {name!r} and of the upstream pipeline {name!r} would both "
                f"be at {mount_point(name)}; rename the job"
            )
    return found + [(each.producer, each.artifacts) for each in upstream]
