"""What reaches a Swarm task as a file rather than through its spec: secrets and the CA bundle.

A service spec can be read by anyone who may inspect the swarm, so secret values never go
into it; each becomes a Swarm secret (mounted under /run/secrets and read by the job's
script), and the CA bundle a Swarm config, made once per run on first use. Everything
carries the run's labels; the session removes them with the run.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from runner.engine.api import Resource
from runner.engine.labels import JOB
from runner.engine.swarm.api import FileMount, Swarm
from runner.execute import environment
from runner.execute.settings import RunSettings
from runner.model.pipeline import pairs

NAME_LIMIT = 63  # service names are DNS labels; secrets and configs get the same rule here


def swarm_name(*parts: str) -> str:
    """`dockstep-PART-PART…`, cut to a DNS label with a hash keeping it unique."""
    name = "-".join(("dockstep", *parts))
    if len(name) <= NAME_LIMIT:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: NAME_LIMIT - 11].rstrip('-.')}-{digest}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunMounts:
    secrets: tuple[FileMount, ...]
    configs: tuple[FileMount, ...]


class RunFiles:
    def __init__(self, swarm: Swarm, settings: RunSettings) -> None:
        self._swarm = swarm
        self._settings = settings
        self._lock = threading.Lock()
        self._made: RunMounts | None = None

    def mounts(self) -> RunMounts:
        """The run's secrets and CA bundle on the swarm, created by the first job asking."""
        with self._lock:
            if self._made is None:
                self._made = RunMounts(secrets=self._secrets(), configs=self._configs())
            return self._made

    def job_config(self, job: str, what: str, data: bytes, target: str) -> FileMount:
        """A file of one job (its script), labelled with the job."""
        labels = pairs({**dict(self._settings.labels), JOB: job})
        name = swarm_name(self._settings.run_id, job, what)
        made = self._swarm.create_config(name, data, labels)
        return FileMount(id=made, name=name, target=target, mode=0o555)

    def _secrets(self) -> tuple[FileMount, ...]:
        made = []
        for variable, value in self._settings.secrets:
            name = swarm_name(self._settings.run_id, variable)
            created = self._swarm.create_secret(name, value.encode(), self._settings.labels)
            made.append(FileMount(id=created, name=name, target=variable, mode=0o444))
        return tuple(made)

    def _configs(self) -> tuple[FileMount, ...]:
        bundle = self._settings.ca_bundle
        if bundle is None:
            return ()
        name = swarm_name(self._settings.run_id, "ca")
        created = self._swarm.create_config(name, bundle.read_bytes(), self._settings.labels)
        return (FileMount(id=created, name=name, target=environment.CA_TARGET),)

    def remove(self, mount: FileMount) -> None:
        """Remove one job's config (its service is gone already)."""
        self._swarm.remove_resource(
            Resource(kind="config", id=mount.id, name=mount.name, labels={})
        )
