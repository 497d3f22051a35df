"""Reading a Swarm task's log: the steps' output to the job log, the markers into results.

`swarm_script` prints a marker line (`::dockstep-NONCE:: WHAT …`) at each step's begin,
retry and end, and around the artifacts. Everything else is the steps' own output and goes
to the job log (masked there) as it arrives; the markers become the same `StepResult`s the
local backend reports, timed by the log driver's own timestamps.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from runner.engine.swarm.api import LogLine
from runner.errors import DockstepError
from runner.execute.swarm_script import marker
from runner.model.pipeline import Step
from runner.model.results import Status, StepResult
from runner.output import JobLog
from runner.progress import Phase

NS = 1_000_000_000


class ArtifactsDamaged(DockstepError):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Ended:
    at: float
    code: int
    attempts: int
    oom: bool
    timed_out: bool


class TaskLog:
    def __init__(self, nonce: str, steps: tuple[Step, ...], log: JobLog) -> None:
        self._marker = marker(nonce).encode()
        self._steps = steps
        self._log = log
        self.begun: dict[int, float] = {}
        self.ended: dict[int, Ended] = {}
        self.done: int | None = None  # the script's exit status, once it said so
        self._blob: list[bytes] | None = None  # base64 lines while inside the artifacts
        self._digest = ""
        self.artifacts: bytes | None = None  # the tar, once its checksum matched

    def feed(self, line: LogLine) -> None:
        if not line.text.startswith(self._marker):
            if self._blob is not None:
                self._blob.append(line.text.strip())
            else:
                self._log.write(line.text)
            return
        words = line.text[len(self._marker) :].decode(errors="replace").split()
        if words:
            self._marker_line(words[0], words[1:], line.at / NS)

    def _marker_line(self, what: str, args: list[str], at: float) -> None:
        if what == "begin":
            index = int(args[0])
            self.begun[index] = at
            self._log.phase(Phase.step(index + 1, len(self._steps), self._steps[index].name))
            self._log.line(f"$ {self._steps[index].name}")
        elif what == "retry":
            step = self._steps[int(args[0])]
            self._log.line(
                f"step {step.name!r} failed; attempt {args[1]}/{step.retry.attempts} "
                f"in {float(args[2]):.1f}s"
            )
        elif what == "end":
            self._end(int(args[0]), [int(a) for a in args[1:5]], at)
        elif what == "artifacts":
            self._blob, self._digest = [], args[0]
        elif what == "artifacts-end":
            self._unpack()
        elif what == "done":
            self.done = int(args[0])

    def _end(self, index: int, values: list[int], at: float) -> None:
        code, attempts, oom, timed_out = values
        self.ended[index] = Ended(
            at=at, code=code, attempts=attempts, oom=bool(oom), timed_out=bool(timed_out)
        )
        step = self._steps[index]
        if not step.allow_failure or code == 0:
            return
        if timed_out:
            self._log.line(f"step {step.name!r} hit its timeout; allowed to fail, carrying on")
        else:
            self._log.line(f"step {step.name!r} exited {code}; allowed to fail, carrying on")

    def _unpack(self) -> None:
        lines, self._blob = self._blob or [], None
        try:
            data = base64.b64decode(b"".join(lines), validate=True)
        except binascii.Error as error:
            raise ArtifactsDamaged(f"the artifacts came back damaged: {error}") from error
        if hashlib.sha256(data).hexdigest() != self._digest:
            raise ArtifactsDamaged("the artifacts came back damaged: their sha256 differs")
        self.artifacts = data

    def results(self, stopped: Status | None, now: float) -> tuple[StepResult, ...]:
        """Every step's result: ended ones as the script saw them, the one running when the
        task was stopped as the stop's reason, the rest skipped."""
        return tuple(self._result(i, step, stopped, now) for i, step in enumerate(self._steps))

    def _result(self, index: int, step: Step, stopped: Status | None, now: float) -> StepResult:
        ended = self.ended.get(index)
        started = self.begun.get(index)
        if ended is not None and started is not None:
            return StepResult(
                name=step.name,
                status=_status(step, ended),
                exit_code=ended.code,
                started_at=started,
                finished_at=ended.at,
                attempts=ended.attempts,
                oom_killed=ended.code != 0 and ended.oom,
            )
        if started is not None:  # the task ended (or was stopped) in the middle of it
            status = stopped or Status.FAILED
            return StepResult(
                name=step.name, status=status, exit_code=None, started_at=started, finished_at=now
            )
        return StepResult.skipped(step.name, now)


def _status(step: Step, ended: Ended) -> Status:
    if ended.code == 0:
        return Status.PASSED
    if step.allow_failure:
        return Status.ALLOWED_FAILURE
    return Status.TIMEOUT if ended.timed_out else Status.FAILED
