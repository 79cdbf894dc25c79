"""How many periods a backfill fetches at once: the `--concurrency` setting and its limits.

The run context reads it once (`--concurrency`, else `PP_COLLECTOR_CONCURRENCY`, else 4) and
collectors take it from there; an API with its own cap lowers it with `capped`. Nothing heavy is
imported here: the CLI reads it on every run.
"""

from __future__ import annotations

import logging
import re

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


def capped(concurrency: int, limit: int, what: str) -> int:
    """`concurrency`, lowered to `limit` (an API's own cap on concurrent requests) with a log line."""
    if concurrency > limit:
        log.info("concurrency %d lowered to %d, the most %s allows", concurrency, limit, what)
        return limit
    return concurrency
