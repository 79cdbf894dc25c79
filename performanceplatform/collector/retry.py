"""The project's one retry policy.

Every remote call (Backdrop, Pingdom, Google, Stagecraft) goes through `RetryPolicy.call`. The call
itself decides what a failure means by raising `RetryableError` (try again, maybe after the
server's own `retry_after`) or anything else (give up at once). Waiting happens here and nowhere
else, so parsing code never sleeps and tests can shorten every wait through the environment.

Backoff is exponential with jitter, bounded in attempts, per-wait length and total time asleep,
and there is no sleep after the last attempt.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from performanceplatform.collector.errors import ConfigurationError, RetryableError

log = logging.getLogger(__name__)

T = TypeVar("T")

ENVIRONMENT_SETTINGS = {
    "PP_COLLECTOR_RETRY_ATTEMPTS": "max_attempts",
    "PP_COLLECTOR_RETRY_BASE_DELAY": "base_delay",
    "PP_COLLECTOR_RETRY_MAX_DELAY": "max_delay",
    "PP_COLLECTOR_RETRY_MAX_TOTAL_DELAY": "max_total_delay",
}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a remote call.

    `max_delay` caps a single wait, including one the server asked for: a server asking for longer
    (an hourly quota reset, say) makes the call fail with the server's reason instead of sleeping
    for an hour inside a cron job. `max_total_delay` caps the time asleep across all attempts.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 120.0
    max_total_delay: float = 300.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> RetryPolicy:
        """Defaults, overridden by `PP_COLLECTOR_RETRY_*` variables (operators and tests)."""
        environ = os.environ if environ is None else environ
        settings: dict[str, float | int] = {}
        for variable, attribute in ENVIRONMENT_SETTINGS.items():
            raw = environ.get(variable)
            if raw is None or raw == "":
                continue
            try:
                value = float(raw)
            except ValueError:
                raise ConfigurationError(
                    f"expected a number, got {raw!r}", source=f"environment variable {variable}"
                ) from None
            minimum = 1 if attribute == "max_attempts" else 0
            if value < minimum:
                raise ConfigurationError(
                    f"expected a number of at least {minimum}, got {raw!r}",
                    source=f"environment variable {variable}",
                )
            settings[attribute] = int(value) if attribute == "max_attempts" else value
        return cls(**settings)

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (1-based) when the server named none.

        Exponential, with "equal jitter": half fixed, half random, so concurrent runs that failed
        together spread out without ever retrying at once.
        """
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return ceiling / 2 + self.jitter() * ceiling / 2

    def call(self, operation: Callable[[], T], *, description: str) -> T:
        """Run `operation`, retrying it while it raises `RetryableError`."""
        slept = 0.0
        attempt = 1
        while True:
            try:
                return operation()
            except RetryableError as error:
                if attempt >= self.max_attempts:
                    log.error(
                        "%s failed after %d attempts: %s", description, attempt, error
                    )
                    raise
                if error.retry_after is not None:
                    delay = max(0.0, float(error.retry_after))
                    if delay > self.max_delay:
                        log.error(
                            "%s: the server asked to wait %.0f s, longer than the %.0f s allowed; "
                            "giving up: %s",
                            description,
                            delay,
                            self.max_delay,
                            error,
                        )
                        raise
                else:
                    delay = self.backoff(attempt)
                if slept + delay > self.max_total_delay:
                    log.error(
                        "%s: giving up after %d attempts and %.1f s of waiting: %s",
                        description,
                        attempt,
                        slept,
                        error,
                    )
                    raise
                log.warning(
                    "%s failed (attempt %d of %d): %s; retrying in %.2f s",
                    description,
                    attempt,
                    self.max_attempts,
                    error,
                    delay,
                )
                self.sleep(delay)
                slept += delay
                attempt += 1
