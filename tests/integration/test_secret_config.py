"""A secret is never in a container's or an image's config: only each exec carries it.

`docker inspect` shows a container's env, labels and command to every engine user while
it lives, and an image keeps its config and history for good. The run below uses a
secret in a single-step job, in a multi-step job with an install, and in a job whose
image is built; every container it creates is inspected while it lives, and every image
it makes afterwards.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import docker
import docker.errors

from tests.integration.fixtures.cache import TEST_TOKEN, CacheArea
from tests.integration.fixtures.engine import OWNER_PID
from tests.integration.fixtures.workspace import Workspace, wait_for_file

USES = 'test -n "$TOKEN" && echo "secret of ${#TOKEN} characters"'
WAIT = wait_for_file("go", 60)


def _pipeline(workspace: Workspace, area: CacheArea) -> None:
    workspace.write("deps.lock", area.token)
    workspace.write(
        "images/x/Dockerfile",
        f"FROM {workspace.image}\nARG V\nLABEL {TEST_TOKEN}={area.token}\nRUN echo $V > /v\n",
    )
    install = f"mkdir -p /opt; {USES} > /opt/seen; sleep 2"
    workspace.pipeline(f"""\
        secrets: [TOKEN]
        jobs:
          {area.job("one")}: {{steps: [{json.dumps(f"{USES}; {WAIT}")}]}}
          {area.job("deps")}:
            install: {{keys: [deps.lock], run: {json.dumps(install)}}}
            steps: [{json.dumps(USES)}, {json.dumps(WAIT)}]
          {area.job("built")}:
            image: {{build: images/x, args: {{V: "1"}}}}
            steps: [{json.dumps(f"{USES}; {WAIT}")}]
        """)


def _watch(
    engine: docker.DockerClient, process: subprocess.Popen[str], workspace: Workspace
) -> dict[str, str]:
    """Every container of the run, inspected while it lives; `go` once the three jobs wait."""
    seen: dict[str, str] = {}
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        found = engine.containers.list(
            all=True, filters={"label": f"{OWNER_PID}={process.pid}"}, ignore_removed=True
        )
        for container in found:
            seen[container.name or "?"] = json.dumps(container.attrs)
        jobs = [name for name in seen if not name.endswith("-install")]
        if len(jobs) >= 3 and any(name.endswith("-install") for name in seen):
            workspace.write("go", "")
        time.sleep(0.05)
    return seen


def test_a_secret_is_in_no_container_or_image_config(
    workspace: Workspace, engine: docker.DockerClient, cache_area: CacheArea
) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    _pipeline(workspace, cache_area)
    env = {**cache_area.env, "TOKEN": secret}
    process = workspace.start("run", "--report", "report.json", env=env)
    containers = _watch(engine, process, workspace)
    result = workspace.finish(process, "report.json")
    assert result.code == 0, result
    for job in ("one", "deps", "built"):  # each step had the secret all the same
        assert f"secret of {len(secret)} characters" in result.lines_of(cache_area.job(job))
    assert len(containers) >= 4, sorted(containers)  # three jobs and the install
    leaking = [name for name, attrs in containers.items() if secret in attrs]
    assert leaking == [], "the secret is in the config of " + ", ".join(leaking)
    for image_id in _images(engine, cache_area):
        image = engine.images.get(image_id)
        assert secret not in json.dumps(image.attrs), image_id
        assert secret not in json.dumps(image.history()), image_id


def _images(engine: docker.DockerClient, area: CacheArea) -> list[str]:
    """The run's cache layer and built image."""
    built = engine.images.list(filters={"label": f"{TEST_TOKEN}={area.token}"})
    found = [*area.layers(), *(image.id or "" for image in built)]
    assert len(found) == 2, found
    return found
