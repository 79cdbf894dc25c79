"""The Pingdom collector: a check's hourly uptime and response time, pushed to Backdrop.

Query: `{"name": "<check name>"}`. Credentials: see `client.connection_from_credentials`.
Differences from the original, on purpose: the time range is computed in UTC with integer epochs,
long ranges are fetched a week at a time so backfills of years work, several weeks at once
(`--concurrency`), `options.additionalFields` and plugins apply (as the original README promised),
records are pushed in chunks as the weeks arrive, and any failure is a clear error instead of a
crash further on. Nothing here imports Google's libraries, nor the record builder unless the
options need it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from performanceplatform.collector.backdrop import Pusher
from performanceplatform.collector.backfill import in_order
from performanceplatform.collector.concurrency import concurrency_from_environment
from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.periods import hourly_range, split_windows
from performanceplatform.collector.pingdom.client import (
    MAX_HOURLY_SPAN,
    PingdomClient,
    connection_from_credentials,
)
from performanceplatform.collector.pingdom.records import record_for_hour
from performanceplatform.collector.streaming import push_records

log = logging.getLogger(__name__)


def main(
    credentials: Mapping[str, Any],
    data_set_config: Mapping[str, Any],
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> None:
    """Collect the hours of `query["name"]` between `start_at` and `end_at` and push them."""
    options = options or {}
    # Every configuration mistake surfaces before the first request.
    check_name = check_name_from(query)
    start, end = hourly_range(start_at, end_at)
    client = PingdomClient.from_credentials(credentials)
    pusher = Pusher(data_set_config, options)

    pingdom_check = client.find_check(check_name)
    windows = split_windows(start, end, MAX_HOURLY_SPAN)
    log.info(
        "Pingdom check %r (id %d): %s to %s in %d request(s)",
        pingdom_check.name,
        pingdom_check.id,
        start.isoformat(),
        end.isoformat(),
        len(windows),
    )

    def window_records(window: tuple[datetime, datetime]) -> list[dict[str, Any]]:
        return [record_for_hour(hour, pingdom_check.name) for hour in client.hourly_summary(pingdom_check, *window)]

    # The windows are consecutive, each answer is cut to its own window and they come back in
    # order, so every hour of the range appears exactly once, in order.
    concurrency = concurrency_from_environment()
    with in_order(windows, window_records, concurrency=concurrency, name="pingdom-window") as batches:
        push_records(pusher, batches, options)


def check(
    credentials: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> list[str]:
    """The problems `pp-collector --check` reports for a Pingdom query, found without a request.

    Options are left to the CLI's own checks (plugins) and to the run (`additionalFields`).
    """
    steps = [
        lambda: check_name_from(query),
        lambda: hourly_range(start_at, end_at),
    ]
    if credentials is not None:  # None: the CLI has already reported the file itself
        steps.append(lambda: connection_from_credentials(credentials))
    from performanceplatform.collector.check import problems_of

    return problems_of(*steps)


def check_name_from(query: Mapping[str, Any]) -> str:
    name = query.get("name") if isinstance(query, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ConfigurationError(
            f"expected the Pingdom check's name as a non-empty string, got {name!r}",
            key="query.name",
        )
    return name

