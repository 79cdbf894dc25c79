"""The one retry policy: which failures are retried, how long it waits, and when it stops."""

from __future__ import annotations

import pytest

from performanceplatform.collector.errors import ConfigurationError, FatalUpstreamError, RetryableError
from performanceplatform.collector.retry import RetryPolicy


class Flaky:
    """Fails with the given errors in turn, then succeeds."""

    def __init__(self, *errors: Exception):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def retryable(retry_after=None) -> RetryableError:
    return RetryableError("busy", service="test", status=503, retry_after=retry_after)


def policy(**settings) -> tuple[RetryPolicy, list[float]]:
    sleeps: list[float] = []
    return RetryPolicy(sleep=sleeps.append, jitter=lambda: 1.0, **settings), sleeps


def test_retries_then_succeeds_with_exponential_waits():
    retry, sleeps = policy(base_delay=1.0)
    operation = Flaky(retryable(), retryable(), retryable())
    assert retry.call(operation, description="op") == "done"
    assert operation.calls == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_jitter_keeps_each_wait_between_half_and_the_whole_backoff():
    retry = RetryPolicy(base_delay=8.0, jitter=lambda: 0.0)
    assert retry.backoff(1) == 4.0
    assert RetryPolicy(base_delay=8.0, jitter=lambda: 1.0).backoff(2) == 16.0


def test_no_sleep_after_the_last_attempt():
    retry, sleeps = policy(max_attempts=3)
    operation = Flaky(*(retryable() for _ in range(5)))
    with pytest.raises(RetryableError):
        retry.call(operation, description="op")
    assert operation.calls == 3
    assert len(sleeps) == 2


def test_fatal_errors_are_not_retried():
    retry, sleeps = policy()
    operation = Flaky(FatalUpstreamError("no", service="test", status=400))
    with pytest.raises(FatalUpstreamError):
        retry.call(operation, description="op")
    assert operation.calls == 1
    assert sleeps == []


def test_the_servers_retry_after_is_honoured():
    retry, sleeps = policy()
    assert retry.call(Flaky(retryable(retry_after=7)), description="op") == "done"
    assert sleeps == [7.0]


def test_a_retry_after_beyond_the_maximum_wait_fails_instead_of_sleeping():
    retry, sleeps = policy(max_delay=60)
    operation = Flaky(retryable(retry_after=3600))
    with pytest.raises(RetryableError):
        retry.call(operation, description="op")
    assert sleeps == []


def test_total_time_asleep_is_bounded():
    retry, sleeps = policy(base_delay=10, max_attempts=10, max_total_delay=35)
    with pytest.raises(RetryableError):
        retry.call(Flaky(*(retryable() for _ in range(10))), description="op")
    assert sleeps == [10, 20]


def test_settings_from_the_environment():
    retry = RetryPolicy.from_environment({"PP_COLLECTOR_RETRY_ATTEMPTS": "3", "PP_COLLECTOR_RETRY_BASE_DELAY": "0.5"})
    assert (retry.max_attempts, retry.base_delay) == (3, 0.5)
    with pytest.raises(ConfigurationError, match="PP_COLLECTOR_RETRY_ATTEMPTS: expected a number of at least 1"):
        RetryPolicy.from_environment({"PP_COLLECTOR_RETRY_ATTEMPTS": "0"})
    with pytest.raises(ConfigurationError, match="expected a number, got 'soon'"):
        RetryPolicy.from_environment({"PP_COLLECTOR_RETRY_MAX_DELAY": "soon"})
