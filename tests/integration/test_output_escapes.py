"""Terminal escapes: none with colour off, none ever in a job's log, a job's own with colour on.

Escapes come from steps that colour their output, and from the engine itself: its classic
builder wraps what a Dockerfile's RUN writes to stderr in red.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.integration.fixtures.workspace import Result, Workspace

ESC = "\x1b"


@pytest.fixture
def built_images(engine: docker.DockerClient) -> Iterator[list[str]]:
    """Image ids a test built; removed afterwards."""
    images: list[str] = []
    yield images
    for image in set(images):
        with contextlib.suppress(docker.errors.NotFound):
            engine.images.remove(image, force=True)


def colourful_run(
    workspace: Workspace, built_images: list[str], env: dict[str, str]
) -> tuple[Result, dict[str, str]]:
    """A run of a step printing red and of an image build whose RUN writes to stderr.

    Returns the result and each job's log file text.
    """
    nonce = uuid.uuid4().hex  # a context never built before, so its build output shows
    workspace.write(
        "images/noisy/Dockerfile",
        f"FROM {workspace.image}\nLABEL io.dockstep.test.nonce={nonce}\nRUN echo oops >&2\n",
    )
    red = json.dumps(r"printf '\033[31mred\033[0m\n'")  # the shell's printf writes the escapes
    workspace.pipeline(f"""\
        jobs:
          red:
            steps: [{red}]
          built:
            image: {{build: images/noisy}}
            steps: ["echo built"]
        """)
    result = workspace.run(env=env)
    if result.report is not None:
        built_images.append(result.jobs["built"]["image"])
    assert result.code == 0, result
    logs = {name: Path(job["log_file"]).read_text() for name, job in result.jobs.items()}
    assert any("oops" in line for line in logs["built"].splitlines()), logs["built"]
    return result, logs


@pytest.mark.parametrize(
    "env",
    [{"NO_COLOR": "1"}, {"NO_COLOR": ""}],  # NO_COLOR set, or simply not a terminal
    ids=["no-color", "not-a-terminal"],
)
def test_with_colour_off_no_escape_appears_anywhere(
    workspace: Workspace, built_images: list[str], env: dict[str, str]
) -> None:
    result, logs = colourful_run(workspace, built_images, env)
    assert "red" in result.lines_of("red")
    assert "oops" in result.lines_of("built")
    places = {"stdout": result.stdout, "stderr": result.stderr, **logs}
    places["report"] = (workspace.path / "report.json").read_text()
    assert [where for where, text in places.items() if ESC in text] == []


def test_with_colour_on_a_steps_colour_shows_and_the_logs_stay_plain(
    workspace: Workspace, built_images: list[str]
) -> None:
    result, logs = colourful_run(workspace, built_images, {"NO_COLOR": "", "FORCE_COLOR": "1"})
    assert f"{ESC}[31mred{ESC}[0m" in result.stdout
    assert [name for name, text in logs.items() if ESC in text] == []
    assert "red" in logs["red"].splitlines()
