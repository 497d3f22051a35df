"""The run history of a `dockstep run`, opened and started on a thread of its own.

Importing the SQLite history, opening it and recording the run's start (its planned jobs,
the plan beside their logs) cost ~30 ms that the run paid before its first Docker call
(issue 14). On a thread they overlap the engine's work instead; the run waits for them
before it records its end, so `dockstep runs` lists every run that ended.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.service.history import History
    from runner.session import Prepared, RunResult


class CliHistory:
    def __init__(self, environ: Mapping[str, str], prepared: Prepared, requested_by: str) -> None:
        self._history: History | None = None
        self._run_id: int | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._start, args=(environ, prepared, requested_by), name="history"
        )
        self._thread.start()

    def _start(self, environ: Mapping[str, str], prepared: Prepared, requested_by: str) -> None:
        from runner.service import recording  # noqa: PLC0415 (on this thread, off the run's path)

        try:
            self._history = recording.open_history(environ)
            if self._history is not None:
                self._run_id = recording.start_cli_run(self._history, prepared, requested_by)
        except BaseException as error:  # raised again on the run's thread, by `finish`
            self._error = error

    def finish(self, result: RunResult | None) -> None:
        """Record the run's end (None: it raised, so it is recorded as failed, never left
        `running`) and close the history."""
        self._thread.join()
        try:
            if self._error is not None:
                raise self._error
            if self._history is not None and self._run_id is not None:
                from runner.service import recording  # noqa: PLC0415 (imported by now)

                if result is None:
                    recording.abandon_cli_run(self._history, self._run_id)
                else:
                    recording.finish_cli_run(self._history, self._run_id, result)
        finally:
            if self._history is not None:
                self._history.close()
