"""Image builds behind this machine's TLS-intercepting proxy: the host CA bundle and the
proxy variables reach the build's RUN instructions without any change to the Dockerfile,
the built image's environment stays the Dockerfile's own, and a failed build shows the
failing instruction's last output lines."""

from __future__ import annotations

import docker

from runner.execute.builds import CA_IN_IMAGE
from tests.integration.fixtures.cache import TEST_TOKEN, CacheArea
from tests.integration.fixtures.workspace import Workspace

DOCKERFILE = f"""\
ARG BASE
FROM ${{BASE}}
LABEL {TEST_TOKEN}=TOKEN
RUN echo "proxy=[$no_proxy]"
RUN python3 -m pip download --no-deps --dest /tmp/wheels six==1.17.0 && ls /tmp/wheels
"""


def setup(workspace: Workspace, area: CacheArea, python_image: str) -> None:
    workspace.write("images/app/Dockerfile", DOCKERFILE.replace("TOKEN", area.token))
    workspace.write(
        "pipelines/ci.yml",
        f"""\
version: 1
jobs:
  test:
    image: {{build: images/app, args: {{BASE: "{python_image}"}}}}
    steps: ['echo "env: $SSL_CERT_FILE $PIP_CERT $no_proxy"']
""",
    )


def test_a_build_gets_the_host_ca_and_proxy_but_the_image_keeps_its_own_env(
    workspace: Workspace, cache_area: CacheArea, python_image: str, engine: docker.DockerClient
) -> None:
    setup(workspace, cache_area, python_image)
    env = {**cache_area.env, "no_proxy": "example.invalid"}
    result = workspace.run("pipelines/ci.yml", env=env)
    assert result.code == 0, result
    lines = result.lines_of("test")
    assert "proxy=[example.invalid]" in lines, result
    assert "six-1.17.0-py2.py3-none-any.whl" in lines, result
    image = engine.images.get(result.jobs["test"]["image"])
    config_env = image.attrs["Config"]["Env"] or []
    assert not [v for v in config_env if v.split("=")[0] in ("SSL_CERT_FILE", "PIP_CERT")]
    assert not [v for v in config_env if "proxy" in v.lower()], config_env
    # the steps get the CA variables as ever (from dockstep, not from the image)
    assert lines[-1].startswith("env: /etc/ssl/certs/ca-certificates.crt"), lines
    history = " ".join(str(layer.get("CreatedBy")) for layer in image.history())
    assert "example.invalid" not in history  # predefined proxy args stay out of history
    assert CA_IN_IMAGE in history  # what the README says the image holds


def test_without_the_ca_the_build_fails_with_the_instructions_last_lines(
    workspace: Workspace, cache_area: CacheArea, python_image: str
) -> None:
    setup(workspace, cache_area, python_image)
    result = workspace.run("pipelines/ci.yml", "--ca-bundle", "", env=cache_area.env)
    assert result.code == 1, result
    reason = result.jobs["test"]["reason"]
    assert "returned a non-zero code" in reason, reason
    assert "last lines of the failing instruction's output:" in reason, reason
    assert "CERTIFICATE_VERIFY_FAILED" in reason, reason
