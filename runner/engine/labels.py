"""Every `io.dockstep.*` label dockstep puts on what it creates: spelled here only.

Tests import these names too, so a renamed label cannot leave a test looking for the old one.
"""

from __future__ import annotations

PREFIX = "io.dockstep"

# containers, networks and volumes of a run, and who owns them
RUN = f"{PREFIX}.run"
JOB = f"{PREFIX}.job"
OWNER_HOST = f"{PREFIX}.owner.host"
OWNER_PID = f"{PREFIX}.owner.pid"
OWNER_STARTED = f"{PREFIX}.owner.started"

# the run networks of the pool (engine/netpool.py): the slot's lock file, whose flock leases it
POOL = f"{PREFIX}.pool"

# a job's service containers (`services:`): the alias they have on the job's network
JOB_SERVICE = f"{PREFIX}.job.service"

# the dependency cache: install layers (images) and download-cache volumes
CACHE_KIND = f"{PREFIX}.cache"  # layer | volume
CACHE_KEY = f"{PREFIX}.cache.key"
CACHE_JOB = f"{PREFIX}.cache.job"
CACHE_INPUTS = f"{PREFIX}.cache.inputs"
CACHE_PATH = f"{PREFIX}.cache.path"  # a volume's mount point in the job's container

# images built from a `build:` context
BUILD_CONTEXT = f"{PREFIX}.context"

# deployed services
SERVICE = f"{PREFIX}.service"
ENVIRONMENT = f"{PREFIX}.environment"
DEPLOYED_BY = f"{PREFIX}.deployed-by"  # the run id
