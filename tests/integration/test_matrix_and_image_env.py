"""Matrix cells on the real engine, the image's own env under `${}`, and --junit."""

from __future__ import annotations

import contextlib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import xmlschema

from tests.integration.fixtures.workspace import Workspace

SCHEMA = xmlschema.XMLSchema(Path(__file__).resolve().parents[1] / "fixtures" / "junit.xsd")


@pytest.fixture
def built_images(engine: docker.DockerClient) -> Iterator[list[str]]:
    images: list[str] = []
    yield images
    for image in set(images):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            engine.images.remove(image, force=True)


def test_cells_build_with_their_values_and_see_the_images_path(
    workspace: Workspace, built_images: list[str]
) -> None:
    nonce = uuid.uuid4().hex
    workspace.write(
        "images/x/Dockerfile",
        f"FROM {workspace.image}\nARG FLAVOUR\nENV FLAVOUR=$FLAVOUR PATH=/opt/tools:/bin\n"
        f"LABEL io.dockstep.test.nonce={nonce}\n",
    )
    workspace.pipeline("""\
        stages: [test, report]
        jobs:
          check:
            matrix: {FLAVOUR: [sweet, sour]}
            image: {build: images/x, args: {FLAVOUR: "${FLAVOUR}"}}
            env: {PATH: "/opt/venv/bin:${PATH}", SEEN: "cell ${FLAVOUR}"}
            steps: ['echo "path=$PATH image=$FLAVOUR seen=$SEEN"']
          summary:
            stage: report
            needs: [check]
            steps: ['echo done']
        """)
    result = workspace.run("--junit", "junit.xml")
    for name in ("check.FLAVOUR-sweet", "check.FLAVOUR-sour"):
        if result.report is not None and result.jobs[name]["image"]:
            built_images.append(result.jobs[name]["image"])
    assert result.code == 0, result
    for flavour in ("sweet", "sour"):
        lines = result.lines_of(f"check.FLAVOUR-{flavour}")
        assert f"path=/opt/venv/bin:/opt/tools:/bin image={flavour} seen=cell {flavour}" in lines
    assert result.jobs["check.FLAVOUR-sweet"]["image"] != result.jobs["check.FLAVOUR-sour"]["image"]
    junit = (workspace.path / "junit.xml").read_text()
    SCHEMA.validate(junit)
    names = {case.get("name") for case in ET.fromstring(junit).iter("testcase")}
    assert {"check.FLAVOUR-sweet", "check.FLAVOUR-sour", "summary"} <= names


def test_a_name_the_image_does_not_define_fails_the_job_by_name(workspace: Workspace) -> None:
    workspace.pipeline("""\
        jobs:
          typo:
            env: {P: "${NOT_IN_THE_IMAGE}"}
            steps: ['touch ran']
        """)
    result = workspace.run("--job", "typo", report=None)
    assert result.code == 2, result
    assert "job 'typo': undefined variable ${NOT_IN_THE_IMAGE}" in result.stderr, result
    assert "own env" in result.stderr, result
    assert not (workspace.path / "ran").exists()
