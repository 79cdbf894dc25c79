"""How much a run does at once: periods a backfill fetches (`--concurrency`) and chunks on their way
to Backdrop (`--push-concurrency`), and their limits.

The run context reads each once (the flag, else its environment variable, else the default) and
collectors take them from there; an API with its own cap lowers the first with `capped`. Nothing
heavy is imported here: the CLI reads them on every run.
"""

from __future__ import annotations

import logging
import re

from performanceplatform.collector.errors import ConfigurationError

log = logging.getLogger(__name__)

CONCURRENCY_VARIABLE = "PP_COLLECTOR_CONCURRENCY"
DEFAULT_CONCURRENCY = 4
# Chunks of records on their way to Backdrop at once. Backdrop, not the collector, sets the pace of a
# large push (tens of milliseconds a POST). Measured with 300,000 GA4 rows into a Backdrop answering
# each POST 20 ms late (benchmark 6's set-up), against the one-chunk-at-a-time floor: 4 at once took
# 0.41 of it (each answer also waits for its thread's turn at the interpreter lock), 6 took 0.24, 8
# 0.24 and 12 0.21. 8 stays on that plateau when the machine is busier, for little more load on
# Backdrop; a daily run's push of one or two chunks is not changed by it.
PUSH_CONCURRENCY_VARIABLE = "PP_COLLECTOR_PUSH_CONCURRENCY"
DEFAULT_PUSH_CONCURRENCY = 8
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
