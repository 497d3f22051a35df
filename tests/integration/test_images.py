"""Getting a job's image: a missing one fails the job by name; a built one is built once."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import docker
import docker.errors
import pytest

from tests.integration.fixtures.workspace import Workspace

ZEROS = "sha256:" + "0" * 64


@pytest.mark.parametrize(
    ("image", "pull"),
    [
        pytest.param(f"busybox@{ZEROS}", "never", id="pull-never"),
        # the default policy pulls; port 1 on this machine refuses, so no registry answers
        # (and nothing is ever asked of Docker Hub)
        pytest.param(f"localhost:1/busybox@{ZEROS}", None, id="pull-if-not-present"),
    ],
)
def test_a_missing_image_fails_the_job_and_names_job_and_image(
    workspace: Workspace, image: str, pull: str | None
) -> None:
    policy = f"\n    pull: {pull}" if pull else ""
    workspace.pipeline(f"""\
jobs:
  missing:
    image: "{image}"{policy}
    steps: ["touch ran"]
  fine:
    steps: ["echo fine"]
""")
    result = workspace.run("--keep-going")
    assert result.code == 1, result
    job = result.jobs["missing"]
    assert job["status"] == "failed"
    assert image in job["reason"]
    assert result.jobs["fine"]["status"] == "passed"
    named = [line for line in result.lines_of("missing") if image in line]
    assert named, f"no line of job 'missing' names {image}:\n{result.stdout}"
    assert result.row("missing")[2] == "failed"
    assert not (workspace.path / "ran").exists()
    assert "Traceback" not in result.stderr


@pytest.fixture
def built_images(engine: docker.DockerClient) -> Iterator[list[str]]:
    """Image ids a test built; removed afterwards so the next session builds afresh."""
    images: list[str] = []
    yield images
    for image in set(images):
        with contextlib.suppress(docker.errors.NotFound):
            engine.images.remove(image, force=True)


def test_a_build_image_is_built_once_and_reused_by_the_next_run(
    workspace: Workspace, built_images: list[str]
) -> None:
    nonce = uuid.uuid4().hex  # a context no earlier session has built
    workspace.write(
        "images/x/Dockerfile",
        f"FROM {workspace.image}\nLABEL io.dockstep.test.nonce={nonce}\n",
    )
    workspace.pipeline("""\
        jobs:
          inside:
            image: {build: images/x}
            steps: ['echo "in the built image"']
        """)
    first = workspace.run()
    if first.report is not None:
        built_images.append(first.jobs["inside"]["image"])
    assert first.code == 0, first
    assert any(line.startswith("building images/x") for line in first.lines_of("inside")), first
    second = workspace.run()
    assert second.code == 0, second
    assert "in the built image" in second.lines_of("inside")
    assert not [line for line in second.stdout.splitlines() if "building" in line], second
    assert second.jobs["inside"]["image"] == first.jobs["inside"]["image"]
