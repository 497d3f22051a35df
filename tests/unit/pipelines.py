"""Build pipelines for unit tests from YAML text, the way users write them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TypeVar

import pytest

from runner.errors import PipelineInvalid
from runner.format.load import load_pipeline_text
from runner.model.pipeline import Job, Pipeline, Steps

IMAGE = "busybox@sha256:" + "a" * 64


def pipeline(text: str, workspace: Path = Path("/nonexistent")) -> Pipeline:
    body = textwrap.dedent(text)
    if "defaults:" not in body:
        body = f"defaults: {{image: '{IMAGE}'}}\n{body}"
    if "version:" not in body:
        body = f"version: 1\n{body}"
    return load_pipeline_text(body, file="pipelines/test.yml", workspace=workspace)


FILE = "pipelines/ci.yml"


def load(text: str, workspace: Path, *, allow_unpinned: bool = False) -> Pipeline:
    """A pipeline from YAML text as the loader reads `pipelines/ci.yml`."""
    return load_pipeline_text(
        textwrap.dedent(text), file=FILE, workspace=workspace, allow_unpinned=allow_unpinned
    )


def problems(text: str, workspace: Path, *, allow_unpinned: bool = False) -> list[str]:
    """The lines a user sees for an invalid file."""
    with pytest.raises(PipelineInvalid) as caught:
        load(text, workspace, allow_unpinned=allow_unpinned)
    return [str(problem) for problem in caught.value.problems]


A = TypeVar("A")


def action(job: Job, kind: type[A]) -> A:
    """The job's action, checked to be of `kind`."""
    assert isinstance(job.action, kind), f"{job.name} is a {job.kind} job"
    return job.action


def steps_of(job: Job) -> Steps:
    return action(job, Steps)
