"""The concurrency setting: how many periods a backfill fetches at once. One place reads it.

A collector's `main` has a fixed signature, so the CLI's `--concurrency` reaches collectors as the
environment variable `PP_COLLECTOR_CONCURRENCY` (as `--department-codes` does), which they read
with `concurrency_from_environment`. Nothing heavy is imported here: the CLI reads it on every run.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

from performanceplatform.collector.errors import ConfigurationError

log = logging.getLogger(__name__)

CONCURRENCY_VARIABLE = "PP_COLLECTOR_CONCURRENCY"
DEFAULT_CONCURRENCY = 4
# The GA4 Data API allows 10 concurrent requests per property.
GA4_MAX_CONCURRENCY = 10
_WHOLE_NUMBER = re.compile(r"\s*\d+\s*", re.ASCII)


def parse_concurrency(raw: str, *, source: str) -> int:
    """A concurrency setting: a whole number of at least 1 (digits only: not `1.5`, `+2` or `1_0`)."""
    if not isinstance(raw, str) or not _WHOLE_NUMBER.fullmatch(raw) or int(raw) < 1:
        raise ConfigurationError(f"expected a whole number of at least 1, got {raw!r}", source=source)
    return int(raw)


def concurrency_from_environment(
    environ: Mapping[str, str] | None = None, *, limit: int | None = None, what: str = ""
) -> int:
    """`PP_COLLECTOR_CONCURRENCY` (default 4), lowered to `limit` (an API's own cap) with a log line."""
    environ = os.environ if environ is None else environ
    raw = environ.get(CONCURRENCY_VARIABLE, "")
    value = (
        parse_concurrency(raw, source=f"environment variable {CONCURRENCY_VARIABLE}")
        if raw.strip()
        else DEFAULT_CONCURRENCY
    )
    if limit is not None and value > limit:
        log.info("concurrency %d lowered to %d, the most %s allows", value, limit, what or "the API")
        return limit
    return value
