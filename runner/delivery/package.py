"""The `Package` kind: build the image, tag it by the scheme, push it with retries."""

from __future__ import annotations

import threading

from runner.delivery import registry
from runner.engine.api import BuildRequest, Images
from runner.errors import DockstepError, EngineError
from runner.execute import builds, environment
from runner.execute.kinds import JobContext, Outcome
from runner.execute.settings import RunSettings
from runner.git import Revision
from runner.model.pipeline import Job, Package, pairs
from runner.model.results import Packaged, PushedImage, Status

PACKAGE_REPOSITORY = "dockstep-package"


class Stopped(DockstepError):
    pass


class PackageJob:
    def __init__(
        self,
        engine: Images,
        *,
        settings: RunSettings,
        revision: Revision,
        source: str,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._revision = revision
        self._source = source
        self._auth = auth
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    def run(self, job: Job, action: Package, context: JobContext) -> Outcome:
        tags = registry.image_tags(action, self._revision) or [f"run-{self._settings.run_id}"]
        labels = {**registry.oci_labels(self._revision, self._source), **dict(action.labels)}
        request = builds.prepare(self._request(job, action, tags, labels), self._settings)
        context.log.line(f"building {action.context} as {request.tag}")
        tail = builds.BuildTail(context.log.write)
        try:
            image = self._engine.build(request, tail)
        except EngineError as error:
            raise EngineError(tail.explain(str(error))) from error
        pushed = tuple(
            self._push(action, image, repository, tags, context) for repository in action.push
        )
        packaged = Packaged(image=image, tags=tuple(tags), pushed=pushed)
        return Outcome(status=Status.PASSED, packaged=packaged)

    def _request(
        self, job: Job, action: Package, tags: list[str], labels: dict[str, str]
    ) -> BuildRequest:
        return BuildRequest(
            context=str((self._settings.workspace / action.context).resolve()),
            dockerfile=action.dockerfile,
            tag=f"{PACKAGE_REPOSITORY}/{job.name}:{tags[0]}",
            args=environment.build_args(self._settings, action.args),
            target=action.target,
            labels=pairs(labels),
        )

    def _push(
        self, action: Package, image: str, repository: str, tags: list[str], context: JobContext
    ) -> PushedImage:
        digest = ""
        for tag in tags:
            reference = f"{repository}:{tag}"
            self._engine.tag(image, reference)
            digest = registry.push(
                self._engine,
                reference,
                action.retry,
                sleep=lambda seconds: self._pause(context, seconds),
                log=context.log.line,
                auth=self._auth,
            )
            context.log.line(f"pushed {reference} ({digest})")
        return PushedImage(repository=repository, digest=digest, tags=tuple(tags))

    def _pause(self, context: JobContext, seconds: float) -> None:
        """Wait before a retry, but not past the job's stop or the run's cancel."""
        if context.slot.stopped.wait(seconds) or self._cancelled.is_set():
            raise Stopped("stopped while waiting to retry")
