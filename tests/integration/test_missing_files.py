"""Every file a pipeline names is checked before any Docker call: exit 2, file:line:col.

Install keys, secret files, build contexts and Dockerfiles: a missing one used to fail
its job mid-run (exit 1), after other jobs had started.
"""

from __future__ import annotations

import docker

from tests.integration.fixtures.engine import OWNER_PID, labelled
from tests.integration.fixtures.workspace import Workspace


def test_missing_files_are_reported_at_their_place_before_any_container(
    workspace: Workspace, engine: docker.DockerClient
) -> None:
    workspace.write("images/empty/README", "no Dockerfile here")
    path = workspace.pipeline("""\
        secrets:
          KEY: {file: keys/deploy}
        jobs:
          first: {stage: build, steps: ["touch first-ran"]}
          deps:
            install: {keys: [requirements.lock], run: "true"}
            steps: ["true"]
          built: {image: {build: images/empty}, steps: ["true"]}
          context: {image: {build: images/none}, steps: ["true"]}
        """)
    result = workspace.run()
    assert result.code == 2, result
    where = workspace.path / "keys" / "deploy"
    assert result.stderr.splitlines()[:4] == [
        f"{path}:4:15: secrets.KEY.file: no file '{where}' to read the secret from",
        f"{path}:8:22: jobs.deps.install.keys[0]: no file in the workspace matches "
        "'requirements.lock'",
        f"{path}:10:26: jobs.built.image.build: no Dockerfile in 'images/empty'",
        f"{path}:11:28: jobs.context.image.build: no directory 'images/none' in the workspace",
    ]
    assert "dockstep run" not in result.stdout
    assert not (workspace.path / "first-ran").exists()
    assert result.report is None
    assert workspace.owners.pids
    for pid in workspace.owners.pids:
        assert labelled(engine, f"{OWNER_PID}={pid}") == []
