"""The repository's own delivery example, pipelines/delivery.yml, end to end.

Only the registry address and the published port change (to the test registry and a free
port); everything else runs as `make delivery` runs it.
"""

from __future__ import annotations

import contextlib
import shutil
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.integration.fixtures.engine import REPO
from tests.integration.fixtures.workspace import Workspace
from tests.integration.registry import Registry, free_port

SERVICE = f"webapp-staging-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def service(engine: docker.DockerClient) -> Iterator[str]:
    yield SERVICE
    for name in (SERVICE, f"{SERVICE}-previous"):
        with contextlib.suppress(docker.errors.NotFound):
            engine.containers.get(name).remove(force=True)


def example(workspace: Workspace, registry: Registry, port: int) -> None:
    shutil.copytree(REPO / "examples", workspace.path / "examples")
    text = (REPO / "pipelines" / "delivery.yml").read_text()
    text = text.replace("127.0.0.1:5000", registry.address).replace("18080", str(port))
    text = text.replace("service: webapp-staging", f"service: {SERVICE}")
    workspace.write("pipelines/delivery.yml", text)
    workspace.commit("the delivery example")


def test_the_delivery_example_tests_packages_deploys_and_verifies(
    workspace: Workspace, registry: Registry, service: str
) -> None:
    port = free_port()
    example(workspace, registry, port)
    result = workspace.run("pipelines/delivery.yml", "--var", f"BASE_IMAGE={workspace.image}")
    assert result.code == 0, result
    assert result.report is not None
    jobs = {j["name"]: j for j in result.report["jobs"]}
    assert [jobs[n]["status"] for n in ("test", "image", "deploy-staging", "smoke")] == [
        "passed"
    ] * 4
    (pushed,) = jobs["image"]["outputs"]["pushed"].split()
    assert pushed.startswith(f"{registry.address}/webapp@sha256:")
    assert f"sha-{workspace.git('rev-parse', 'HEAD')[:12]}" in registry.tags("webapp")
    assert float(jobs["smoke"]["outputs"]["p95_ms"]) > 0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
        assert answer.read() == b"ok\n"
    manifest = Path(jobs["test"]["outputs"]["artifacts"]) / "manifest.json"
    assert "examples/webapp/www/health" in manifest.read_text()
