"""Asking a registry whether it holds a tag, with one HEAD and nothing else.

The workspace image of a job is tagged by a hash of what went into it; when the registry
already has that tag the build and the push are skipped. Only plain-HTTP registries on a
loopback address are asked this way (what `docker push` also treats as insecure); any other
registry answers `None` and the image is simply pushed again, which costs one round of
"layer already exists".
"""

from __future__ import annotations

import urllib.error
import urllib.request

ACCEPT = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
LOOPBACK = ("127.", "localhost:", "[::1]")
# Never through a proxy: the registry is on this machine (an empty ProxyHandler ignores *_proxy).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def digest_of(reference: str, timeout: float = 5.0) -> str | None:
    """The `sha256:…` digest the registry gives `HOST:PORT/REPO:TAG`, or None when it has none."""
    host, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    if not host.startswith(LOOPBACK) or not repository or not tag:
        return None
    request = urllib.request.Request(
        f"http://{host}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": ACCEPT},
    )
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            digest = response.headers.get("Docker-Content-Digest")
    except (urllib.error.URLError, OSError):
        return None
    return str(digest) if digest and digest.startswith("sha256:") else None
