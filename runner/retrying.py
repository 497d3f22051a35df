"""A `RetryPolicy` from the pipeline file, as a tenacity `Retrying`.

tenacity is imported only for a step that may be retried: most steps are not, and a run
should not pay for its import (issue 14).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from runner.model.pipeline import RetryPolicy

if TYPE_CHECKING:
    import tenacity

Attempt = Callable[[], int]


def retrying(
    policy: RetryPolicy,
    *,
    should_retry: Callable[[int], bool],
    sleep: Callable[[float], None],
    before_retry: Callable[[int, float], None],
) -> Callable[[Attempt], int]:
    """Retry a call returning an exit code while `should_retry(code)` and attempts remain.

    `sleep` is injected so a cancelled run stops waiting at once and tests need no clock;
    `before_retry(attempt, delay)` announces the next attempt. The last result is returned
    rather than raising once attempts run out. A policy of no retries calls it once.
    """
    if policy.max_retries == 0:
        return lambda attempt: attempt()
    retried: Callable[[Attempt], int] = _tenacity(policy, should_retry, sleep, before_retry)
    return retried


def _tenacity(
    policy: RetryPolicy,
    should_retry: Callable[[int], bool],
    sleep: Callable[[float], None],
    before_retry: Callable[[int, float], None],
) -> tenacity.Retrying:
    import tenacity  # noqa: PLC0415 (lazy: only retried steps need it)

    def announce(state: tenacity.RetryCallState) -> None:
        delay = state.next_action.sleep if state.next_action else 0.0
        before_retry(state.attempt_number + 1, delay)

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=tenacity.wait_exponential(
            multiplier=policy.delay, exp_base=policy.backoff, max=policy.max_delay
        )
        if policy.delay
        else tenacity.wait_none(),
        retry=tenacity.retry_if_result(should_retry),
        sleep=sleep,
        before_sleep=announce,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
