"""The Pingdom collector: a check's hourly uptime and response time, pushed to Backdrop.

Query: `{"name": "<check name>"}`. Credentials: see `client.connection_from_credentials`.
Differences from the original, on purpose: the time range is computed in UTC with integer epochs,
long ranges are fetched a week at a time so backfills of years work, several weeks at once
(`--concurrency`), `options.additionalFields` and plugins apply (as the original README promised),
records are pushed in chunks as the weeks arrive, and any failure is a clear error instead of a
crash further on. Nothing here imports Google's libraries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from performanceplatform.collector.backfill import in_order
from performanceplatform.collector.context import RunContext
from performanceplatform.collector.errors import ConfigurationError, problems_of
from performanceplatform.collector.periods import hourly_range, split_windows
from performanceplatform.collector.pingdom.client import (
    MAX_HOURLY_SPAN,
    PingdomClient,
    connection_from_credentials,
)
from performanceplatform.collector.pingdom.records import record_for_hour
from performanceplatform.collector.pipeline import open_sink, push, records_with_options
from performanceplatform.collector.runner import legacy_main, takes_run_context

log = logging.getLogger(__name__)

ENTRYPOINT = "performanceplatform.collector.pingdom"


@takes_run_context
def collect(context: RunContext) -> None:
    """Collect the hours of the query's check between the start and end and push them."""
    # Every configuration mistake surfaces before the first request.
    check_name = check_name_from(context.query, source=context.query_source)
    start, end = hourly_range(context.start_at, context.end_at)
    client = PingdomClient.from_credentials(
        context.credentials, source=context.credentials_source, pool_size=context.concurrency
    )
    sink = open_sink(context)

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
    with in_order(
        windows, window_records, concurrency=context.concurrency, name="pingdom-window", unit="windows"
    ) as batches:
        push(sink, records_with_options(batches, context.options))


@takes_run_context
def check(context: RunContext) -> list[str]:
    """The problems `pp-collector --check` reports for a Pingdom query, found without a request."""
    steps = [
        lambda: check_name_from(context.query, source=context.query_source),
        lambda: hourly_range(context.start_at, context.end_at),
    ]
    if context.credentials_loaded:
        steps.append(lambda: connection_from_credentials(context.credentials, source=context.credentials_source))
    return problems_of(*steps)


@takes_run_context
def probe(context: RunContext) -> str:
    """`--check --online`: find the check, which takes the credentials and names it."""
    client = PingdomClient.from_credentials(context.credentials, source=context.credentials_source)
    found = client.find_check(check_name_from(context.query, source=context.query_source))
    return f"Pingdom found the check {found.name!r} (id {found.id}) with the credentials"


main = legacy_main(ENTRYPOINT, collect)


def check_name_from(query: Mapping[str, Any], *, source: str | None = None) -> str:
    name = query.get("name") if isinstance(query, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ConfigurationError(
            f"expected the Pingdom check's name as a non-empty string, got {name!r}",
            source=source,
            key="query.name",
        )
    return name
