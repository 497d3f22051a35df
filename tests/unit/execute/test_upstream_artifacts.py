"""Artifacts across pipelines: a downstream pipeline's steps jobs get its upstream pipelines'
archives read-only at /artifacts/<pipeline>/<job>, verified against the upstream results."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from runner import session
from runner.cancel import CancelToken
from runner.execute import artifacts
from runner.execute.artifacts import ArtifactError
from runner.model.results import Artifacts, JobResult, Status, UpstreamArtifacts, upstream_artifacts
from runner.output import Console
from tests.fake_engine import FakeEngine
from tests.unit.harness import prepared
from tests.unit.pipelines import IMAGE

DOWNSTREAM = """
jobs:
  check: {steps: ["cat /artifacts/api/build/out.txt"]}
"""


def archived(tmp_path: Path) -> UpstreamArtifacts:
    """What pipeline `api`'s job `build` archived in its own run's folder."""
    workspace = tmp_path / "upstream"
    workspace.mkdir()
    (workspace / "out.txt").write_text("built\n")
    made = artifacts.archive("build", ("out.txt",), workspace, tmp_path / "runs" / "r0-api")
    return UpstreamArtifacts(pipeline="api", job="build", artifacts=made)


def run_downstream(tmp_path: Path, handed: UpstreamArtifacts, engine: FakeEngine) -> JobResult:
    engine.present.setdefault(IMAGE, "sha256:" + "1" * 64)
    ready = prepared(DOWNSTREAM, tmp_path)
    settings = dataclasses.replace(ready.settings, upstream_artifacts=(handed,))
    result = session.run(
        dataclasses.replace(ready, settings=settings),
        engine=engine,
        console=Console(io.StringIO(), colour=False, mask=str),
        token=CancelToken(),
    )
    (job,) = result.jobs
    return job


def test_a_finished_pipeline_hands_over_the_archives_of_its_jobs() -> None:
    made = Artifacts(folder="/x/build", files=(("a", "0" * 64),))
    results = [
        JobResult(name="build", stage="test", status=Status.PASSED, artifacts=made),
        JobResult(name="lint", stage="test", status=Status.PASSED),
    ]
    (handed,) = upstream_artifacts("api", results)
    assert handed == UpstreamArtifacts(pipeline="api", job="build", artifacts=made)
    assert artifacts.mount_point(handed.producer) == "/artifacts/api/build"


def test_every_steps_job_downstream_mounts_the_upstream_archive_read_only(tmp_path: Path) -> None:
    handed = archived(tmp_path)
    engine = FakeEngine()
    job = run_downstream(tmp_path, handed, engine)
    assert job.status is Status.PASSED, job.reason
    (spec,) = engine.created.values()
    mount = next(m for m in spec.mounts if m.target == "/artifacts/api/build")
    assert mount.source == handed.artifacts.folder
    assert mount.read_only


def test_an_upstream_archive_changed_between_the_pipelines_fails_the_job(tmp_path: Path) -> None:
    handed = archived(tmp_path)
    (Path(handed.artifacts.folder) / "out.txt").write_text("tampered\n")
    engine = FakeEngine()
    job = run_downstream(tmp_path, handed, engine)
    assert job.status is Status.FAILED
    assert job.reason == "artifacts of 'api/build': out.txt does not match its checksum"
    assert not engine.created  # no container ever saw the changed file


def test_a_job_named_like_an_upstream_pipeline_cannot_hide_its_archives() -> None:
    made = Artifacts(folder="/x", files=())
    inputs = {"api": JobResult(name="api", stage="s", status=Status.PASSED, artifacts=made)}
    upstream = (UpstreamArtifacts(pipeline="api", job="build", artifacts=made),)
    with pytest.raises(ArtifactError, match=r"both be at /artifacts/api; rename the job"):
        artifacts.handed(inputs, upstream)
    assert [name for name, _ in artifacts.handed({}, upstream)] == ["api/build"]
