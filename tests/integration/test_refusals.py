"""What `dockstep run` refuses before its first Docker call: exit 2, a clear reason, and
no run started (no run id announced, nothing created on the engine)."""

from __future__ import annotations

import pytest

from tests.integration.fixtures.workspace import Workspace

PIPELINE = """
environments:
  production: {approval: required}
jobs:
  test:
    install: {run: make, env: {TARGET: "${INSTALL_TARGET}"}}
    steps: [echo ok]
  image:
    package: {context: .}
  deploy:
    needs: [image]
    deploy: {environment: production, package: image, service: refusals-web}
"""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("--report", "missing/dir/report.json"),
            "--report missing/dir/report.json: its directory does not exist",
            id="report-folder",
        ),
        pytest.param(
            ("--ca-bundle", "/nonexistent/ca.crt"),
            "CA bundle /nonexistent/ca.crt: no such file",
            id="ca-bundle",
        ),
        pytest.param(
            ("--approve", "test"),
            "--approve test: not a job of pipelines/ci.yml that waits for approval "
            "(jobs that do: deploy)",
            id="approve-not-a-gated-deploy",
        ),
    ],
)
def test_a_run_refuses_bad_options_before_docker(
    workspace: Workspace, args: tuple[str, ...], message: str
) -> None:
    workspace.write("Dockerfile", "FROM scratch\n")
    path = workspace.pipeline(PIPELINE.replace("${INSTALL_TARGET}", "x"))
    result = workspace.run(path, *args, report=None)
    assert result.code == 2, result
    assert message in result.stderr, result
    assert "dockstep run " not in result.stdout, "a run was started"


def test_an_undefined_variable_no_image_could_define_stops_the_run_before_docker(
    workspace: Workspace,
) -> None:
    workspace.write("Dockerfile", "FROM scratch\n")
    text = PIPELINE.replace("${INSTALL_TARGET}", "x").replace(
        "package: {context: .}", "package: {context: ., args: {V: '${PACKAGE_VERSION}'}}"
    )
    result = workspace.run(workspace.pipeline(text), report=None)
    assert result.code == 2, result
    assert "job 'image': undefined variable ${PACKAGE_VERSION}" in result.stderr, result
    assert "dockstep run " not in result.stdout, "a run was started"


def test_a_name_only_the_image_could_define_is_checked_before_any_container(
    workspace: Workspace,
) -> None:
    """An install's (or a job's, or a step's) env may name the image's own variables: when
    the image is already on the engine, the name is checked against it before any
    container of the run starts."""
    workspace.pipeline("""\
        jobs:
          test:
            install: {run: touch installed, env: {TARGET: "${INSTALL_TARGET}"}}
            steps: [echo ok]
        """)
    result = workspace.run(report=None)
    assert result.code == 2, result
    assert "job 'test': undefined variable ${INSTALL_TARGET}" in result.stderr, result
    assert "own env" in result.stderr, result
    assert not any("cache miss" in line for line in result.lines_of("test")), result
