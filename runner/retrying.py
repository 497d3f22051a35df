"""A `RetryPolicy` from the pipeline file, as a tenacity `Retrying`."""

from __future__ import annotations

from collections.abc import Callable

import tenacity

from runner.model.pipeline import RetryPolicy


def retrying(
    policy: RetryPolicy,
    *,
    should_retry: Callable[[int], bool],
    sleep: Callable[[float], None],
    before_retry: Callable[[int, float], None],
) -> tenacity.Retrying:
    """Retry a call returning an exit code while `should_retry(code)` and attempts remain.

    `sleep` is injected so a cancelled run stops waiting at once and tests need no clock;
    `before_retry(attempt, delay)` announces the next attempt. The last result is returned
    rather than raising once attempts run out.
    """

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
