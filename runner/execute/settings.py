"""What a run decides once and every job's container follows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.model.pipeline import Pairs
from runner.model.results import UpstreamArtifacts


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSettings:
    run_id: str
    workspace: Path
    network: str
    labels: Pairs  # the owner labels; the job label is added per job
    builtins: Pairs  # DOCKSTEP_* variables, CI=true
    variables: Pairs = ()  # --var overrides, above every env layer
    secrets: Pairs = ()
    pipeline_env: Pairs = ()
    user: str | None = None  # uid:gid, or None to keep the image's user
    ca_bundle: Path | None = None
    image_env: Pairs = ()  # a job's copy only: its image's own env, what `${}` sees lowest
    proxy: Pairs = ()  # the host's HTTP_PROXY, https_proxy, NO_PROXY… for image builds
    # an orchestrated run: the archives of the upstream pipelines, for every steps job
    upstream_artifacts: tuple[UpstreamArtifacts, ...] = ()
