"""Fetching a `ga` query's rows: one Core Reporting query per period, every page of each.

Pages are followed through `nextLink` (its `start-index`) until the rows run out or `maxResults`
rows have been read for the period, as gapy did. Rows keep the API's order, period after period.
A sampled answer (`containsSampledData`) is collected all the same, with a warning naming the period.
Periods are fetched several at a time (`backfill.in_order`, `--concurrency`); their rows still come
back in period order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from performanceplatform.collector.backfill import in_order
from performanceplatform.collector.concurrency import concurrency_from_environment
from performanceplatform.collector.errors import FatalUpstreamError
from performanceplatform.collector.ga.google_errors import SERVICE
from performanceplatform.collector.ga.query import CoreQuery
from performanceplatform.collector.ga.rows import GaRow, GaRows, page_from_response
from performanceplatform.collector.periods import period_range

log = logging.getLogger(__name__)

# The nextLink parameters that move to the next page; every other parameter stays as first asked.
PAGING_PARAMETERS = {"start-index": "start_index", "max-results": "max_results"}


class CoreReportingClient(Protocol):
    def core_report(self, parameters: Mapping[str, Any]) -> dict[str, Any]: ...


def fetch_rows(
    client: CoreReportingClient, query: CoreQuery, start_at: date | datetime | None, end_at: date | datetime | None
) -> list[GaRow]:
    """Every row for every period between `start_at` and `end_at` (defaults: the last full period)."""
    with period_rows(client, query, start_at, end_at) as periods:
        return [row for rows in periods for row in rows]


def period_rows(
    client: CoreReportingClient, query: CoreQuery, start_at: date | datetime | None, end_at: date | datetime | None
) -> AbstractContextManager[Iterator[GaRows]]:
    """Each period's rows, in period order, fetched `PP_COLLECTOR_CONCURRENCY` periods at a time.

    `with period_rows(...) as periods:`; the client must be safe to share between threads.
    """
    periods = period_range(start_at, end_at, query.frequency)
    return in_order(
        periods,
        lambda period: fetch_period(client, query, *period),
        concurrency=concurrency_from_environment(),
        name="ga-period",
    )


def fetch_period(client: CoreReportingClient, query: CoreQuery, start: date, end: date) -> GaRows:
    """The rows of one period, reading page after page."""
    log.info("Querying GA for data in the period: %s - %s", start, end)
    parameters = query.api_parameters(start, end)
    rows = GaRows(tuple(query.dimensions), tuple(query.metrics))
    sampled = False
    while True:
        response = client.core_report(parameters)
        sampled = sampled or bool(response.get("containsSampledData"))
        rows.extend(page_from_response(response, query, start, end))
        if query.max_results is not None and len(rows) >= query.max_results:
            del rows.values[query.max_results :]
            break
        next_link = response.get("nextLink")
        if not next_link:
            break
        parameters = next_page_parameters(parameters, next_link)
    if sampled:
        log.warning(
            "Google Analytics sampled the data for %s from %s to %s: the numbers are estimates",
            parameters["ids"],
            start,
            end,
        )
    log.info("%d row(s) for %s to %s", len(rows), start, end)
    return rows


def next_page_parameters(parameters: Mapping[str, Any], next_link: str) -> dict[str, Any]:
    """The parameters of the page `next_link` points at, refusing a link that goes nowhere new."""
    # Semicolons (GA's AND) must not split the query string.
    link_parameters = dict(parse_qsl(urlsplit(next_link.replace(";", "%3B")).query))
    following = dict(parameters)
    for name, keyword in PAGING_PARAMETERS.items():
        if name in link_parameters:
            try:
                following[keyword] = int(link_parameters[name])
            except ValueError:
                following.pop(keyword, None)
    current_index = int(parameters.get("start_index", 1))
    next_index = following.get("start_index")
    if not isinstance(next_index, int) or next_index <= current_index:
        raise FatalUpstreamError(
            f"Google Analytics answered with a nextLink that does not move on from row {current_index}: "
            f"{next_link}",
            service=SERVICE,
        )
    return following
