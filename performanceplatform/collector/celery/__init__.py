"""Running the jobs of a jobs file on Celery, with Redis as the broker, beyond one cron host.

    celery -A performanceplatform.collector.celery worker     # runs jobs (as many hosts as you like)
    celery -A performanceplatform.collector.celery beat       # schedules them (one at a time holds the lock)
    python -m performanceplatform.collector.celery -q ... -s ... -e ...   # queues a run by hand

Needs the `celery` extra; cron runs never import this package (see README, "Running on Celery").
"""

from __future__ import annotations

EXTRA_HINT = "pip install 'pp-collector[celery]'"

try:
    import celery as _celery  # noqa: F401 - only checks that the extra is installed
    import redis as _redis  # noqa: F401
except ModuleNotFoundError as error:
    raise ModuleNotFoundError(
        f"pp-collector on Celery needs the celery extra, and {error.name!r} is not installed: {EXTRA_HINT}",
        name=error.name,
    ) from None

from performanceplatform.collector.celery.application import app  # noqa: E402 - after the check above

__all__ = ["app"]
