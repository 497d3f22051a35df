"""Every error dockstep reports, each carrying its exit code and what to do about it.

Only the CLI prints these and exits; everything else raises.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_INVALID = 2
EXIT_INFRASTRUCTURE = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong with a pipeline file, with the place it was found."""

    file: str
    line: int
    column: int
    path: str  # dotted location in the document, e.g. jobs.test.image
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class DockstepError(Exception):
    exit_code = EXIT_JOB_FAILED
    hint = ""

    def render(self) -> str:
        text = f"error: {self}"
        return f"{text}\n{self.hint}" if self.hint else text


class UsageError(DockstepError):
    exit_code = EXIT_INVALID


class PipelineInvalid(DockstepError):
    """Every problem found in a pipeline file, collected before failing."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def render(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        return f"{self}\n{count} {noun}: the pipeline was not run."


class EngineUnavailable(DockstepError):
    exit_code = EXIT_INFRASTRUCTURE
    hint = (
        "Start a Docker engine (`sudo systemctl start docker`, or `scripts/ensure-docker.sh` "
        "in this repository), check that DOCKER_HOST points at it, and that you may use its socket."
    )


class EngineLost(EngineUnavailable):
    """The engine answered when the run began and stopped answering during it."""

    hint = (
        "The engine restarted or died mid-run: no job that needed it is reported passed. Once "
        "it is back, `dockstep clean` (or the cleanup of this run, if it got the chance) removes "
        "what the run left."
    )

    def __init__(self, detail: str) -> None:
        super().__init__(f"the Docker engine was lost mid-run: {detail}")


class ImageUnavailable(DockstepError):
    """A job's image is not present and could not be pulled or built."""

    def __init__(self, job: str, image: str, reason: str) -> None:
        self.job, self.image, self.reason = job, image, reason
        super().__init__(f"job {job!r}: image {image!r} is not available: {reason}")


class EngineError(DockstepError):
    """The engine refused an operation on a container, network or volume."""

    exit_code = EXIT_INFRASTRUCTURE


class Interrupted(DockstepError):
    exit_code = EXIT_INTERRUPTED

    def __init__(self) -> None:
        super().__init__("interrupted; everything the run created was removed")
