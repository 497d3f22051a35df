"""`DockerEngine`: the one class callers construct, composed of the Docker door's roles.

Only `runner/engine/docker/` imports the Docker SDK. Each role lives in its own module
(`containers`, `images`, `resources`) over one shared connection (`client`), where SDK
exceptions are translated into dockstep's errors.
"""

from __future__ import annotations

from runner.engine.docker.containers import DockerContainers
from runner.engine.docker.images import DockerImages
from runner.engine.docker.resources import DockerResources


class DockerEngine(DockerContainers, DockerImages, DockerResources):
    """`runner.engine.api.ContainerEngine` over the Docker SDK's low-level API.

    The role parts share one `Client` (and so one connection pool): `DockerEngine()` is
    all a caller needs, `close()` all it must do at the end.
    """
