"""Deploys to a Swarm service on the one-node swarm: the package job's pushed digest becomes
the service's image, and a failed verification rolls the service back with the swarm's own
rollback. The service listens on 127.0.0.1:PORT of the node (`network: host`): a swarm
deploy publishes no ports, and all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import docker
import pytest

from runner.engine import labels
from tests.integration.fixtures.delivery import Deliveries
from tests.integration.fixtures.workspace import Workspace
from tests.integration.registry import Registry, free_port
from tests.integration.test_delivery import Webapp, get, outputs, passed

pytestmark = pytest.mark.usefixtures("swarm", "nothing_left_on_the_swarm")


def swarm_deploy(service: str, port: int) -> str:
    return (
        "\n".join(
            [
                "  deploy:",
                "    stage: deploy",
                "    needs: [image]",
                "    deploy:",
                "      environment: staging",
                "      package: image",
                f"      service: {service}",
                "      target: swarm",
                "      network: host",
                f"      command: httpd -f -p 127.0.0.1:{port} -h /www",
            ]
        )
        + "\n"
    )


def verify(port: int, body: str, deadline: str) -> str:
    return (
        "\n".join(
            [
                "  smoke:",
                "    stage: verify",
                "    needs: [deploy]",
                "    verify:",
                "      deployment: deploy",
                "      checks:",
                f'        - http: {{url: "http://127.0.0.1:{port}/version", body: "{body}",'
                f" deadline: {deadline}, interval: 100ms}}",
                "        - command: test -s /www/version",
            ]
        )
        + "\n"
    )


def spec_image(swarm: docker.DockerClient, service: str) -> str:
    found = swarm.services.get(service)  # type: ignore[no-untyped-call]
    return str(found.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])


def test_a_failed_verification_rolls_the_swarm_service_back_to_the_first_version(
    workspace: Workspace,
    deliveries: Deliveries,
    registry: Registry,
    swarm: docker.DockerClient,
    swarm_services: list[str],
) -> None:
    app = Webapp.make(workspace, deliveries)
    service, port = f"web-{deliveries.token}", free_port()
    swarm_services.append(service)
    package, deploy = app.package(push=registry.address), swarm_deploy(service, port)
    good = app.pipeline(package, deploy, verify(port, body="^one", deadline="30s"))
    bad = app.pipeline(package, deploy, verify(port, body="^nope", deadline="1s"), name="bad")

    first = app.run(good, version="one")
    passed(first, "image", "deploy", "smoke")
    pushed = outputs(first, "image")["pushed"]
    assert outputs(first, "deploy")["image"] == pushed and "@sha256:" in pushed
    assert spec_image(swarm, service) == pushed
    found = swarm.services.get(service)  # type: ignore[no-untyped-call]
    assert found.attrs["Spec"]["Labels"][labels.SERVICE] == service
    assert get(port, "/version") == (200, "one\n")

    second = app.run(bad, version="two")
    assert second.code == 1, second
    assert second.jobs["deploy"]["status"] == "passed", second
    assert outputs(second, "deploy")["previous"] == pushed
    smoke = second.jobs["smoke"]
    assert smoke["status"] == "failed" and smoke["reason"].endswith("; rolled back"), smoke
    assert "with the swarm's rollback" in "\n".join(second.lines_of("smoke")), second

    assert spec_image(swarm, service) == pushed, "the swarm must run the first spec again"
    assert get(port, "/version") == (200, "one\n"), "the first version must answer again"
