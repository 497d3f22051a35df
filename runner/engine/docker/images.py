"""Images over the Docker SDK: look up, pull, build, commit, tag, push, list, remove.

Pull, build and push report failures as in-band `{"error": …}` lines of their progress
stream rather than raising; they are raised here.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import docker.errors
import requests.exceptions

from runner.engine.api import BuildRequest, ImageInfo, OutputSink
from runner.engine.docker import context
from runner.engine.docker.client import Client, call, explain, ignore_gone, in_band
from runner.errors import EngineError, EngineUnavailable
from runner.model.pipeline import Pairs, pairs


class DockerImages(Client):
    """`runner.engine.api.Images` over the SDK's low-level API.

    An image id names its content, config included: the env an inspect by reference
    found is kept by id, so `image_env` after `image_id` costs no second round trip.
    """

    @cached_property
    def _envs(self) -> dict[str, Pairs]:
        return {}

    def image_id(self, reference: str) -> str | None:
        try:
            found = self.api.inspect_image(reference)  # type: ignore[no-untyped-call]
            self._envs[str(found["Id"])] = _env(found)
            return str(found["Id"])
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as error:
            if error.status_code in (400, 404):  # malformed or unknown reference
                return None
            raise EngineError(f"inspecting {reference}: {explain(error)}") from error
        except requests.exceptions.ConnectionError as error:
            raise EngineUnavailable("no Docker engine answers") from error

    def pull(self, reference: str) -> str:
        call(
            f"pulling {reference}",
            lambda: in_band(self.api.pull(reference, stream=True, decode=True), None),
        )
        return self._listed(reference, "pulled")

    def build(self, request: BuildRequest, log: OutputSink) -> str:
        archive = context.archive(request.context, request.dockerfile, request.files)
        stream = call(
            f"building {request.context}",
            lambda: self.api.build(
                path=None if archive else request.context,
                fileobj=archive,
                custom_context=archive is not None,
                dockerfile=request.dockerfile,
                tag=request.tag,
                buildargs=dict(request.args),
                target=request.target,
                labels=dict(request.labels),
                rm=True,
                forcerm=True,
                decode=True,
            ),
        )
        call(f"building {request.context}", lambda: in_band(stream, log))
        return self._listed(request.tag, "built")

    def _listed(self, reference: str, done: str) -> str:
        found = self.image_id(reference)
        if found is None:
            raise EngineError(f"{done} {reference} but the engine does not list it")
        return found

    def commit(self, container: str, *, tag: str, labels: Pairs, like: str) -> str:
        base = call("inspecting image", lambda: self.api.inspect_image(like))  # type: ignore[no-untyped-call]
        config = base.get("Config") or {}
        info = call("inspecting container", lambda: self.api.inspect_container(container))
        # The engine merges the container's own labels into the image and a label cannot
        # be dropped, only emptied: blank the ones the image did not have (run, owner…).
        blanked = dict.fromkeys((info.get("Config") or {}).get("Labels") or {}, "")
        conf = {
            "Cmd": config.get("Cmd"),
            "Entrypoint": config.get("Entrypoint"),
            "User": config.get("User") or "0",  # empty would take the container's
            "WorkingDir": config.get("WorkingDir") or "/",
            "Labels": {**blanked, **(config.get("Labels") or {}), **dict(labels)},
        }
        repository, _, name = tag.rpartition(":")
        done = call(
            f"committing {tag}",
            lambda: self.api.commit(container, repository=repository, tag=name, conf=conf),
        )
        return str(done["Id"])

    def tag(self, image: str, reference: str) -> None:
        repository, _, name = reference.rpartition(":")
        call(f"tagging {reference}", lambda: self.api.tag(image, repository, name, force=True))

    def push(self, reference: str, auth: tuple[str, str] | None = None) -> str:
        repository, _, name = reference.rpartition(":")
        digest = ""
        config = {"username": auth[0], "password": auth[1]} if auth else None
        stream = call(
            f"pushing {reference}",
            lambda: self.api.push(
                repository, tag=name, stream=True, decode=True, auth_config=config
            ),
        )
        for chunk in call(f"pushing {reference}", lambda: list(stream)):
            if "error" in chunk:  # the SDK does not raise on in-band errors
                raise EngineError(f"pushing {reference}: {str(chunk['error']).strip()}")
            digest = str((chunk.get("aux") or {}).get("Digest") or digest)
        return digest

    def image_env(self, image: str) -> Pairs:
        if image in self._envs:
            return self._envs[image]
        found = call(f"inspecting {image}", lambda: self.api.inspect_image(image))  # type: ignore[no-untyped-call]
        return _env(found)

    def has_healthcheck(self, image: str) -> bool:
        found = call(f"inspecting {image}", lambda: self.api.inspect_image(image))  # type: ignore[no-untyped-call]
        test = ((found.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
        return bool(test) and test[0] != "NONE"

    def images(self, label: str) -> list[ImageInfo]:
        found = call("listing images", lambda: self.api.images(filters={"label": label}))
        return [
            ImageInfo(
                id=str(i["Id"]),
                tags=tuple(t for t in (i.get("RepoTags") or ()) if t != "<none>:<none>"),
                labels=i.get("Labels") or {},
                size=int(i.get("Size") or 0),
                created=float(i.get("Created") or 0),
            )
            for i in found
        ]

    def remove_image(self, reference: str) -> None:
        ignore_gone(f"removing image {reference}", lambda: self.api.remove_image(reference), 404)


def _env(inspected: dict[str, Any]) -> Pairs:
    """The env of an inspected image's config, as sorted pairs."""
    env = {}
    for line in (inspected.get("Config") or {}).get("Env") or ():
        name, _, value = str(line).partition("=")
        env[name] = value
    return pairs(env)
