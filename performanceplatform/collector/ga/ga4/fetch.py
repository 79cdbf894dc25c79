"""Fetching a GA4 query's rows: one `runReport` query per period, every page of each.

Pages are read with `offset` (the rows read so far) until `rowCount` rows have been read, a page
comes back empty, or `maxResults` rows have been read for the period (it is also each page's
`limit`, so no more are asked for). Rows keep GA4's order, period after period. GA4's warnings
about the numbers (`metadata`: sampling, thresholding, rows rolled into "(other)") are logged once
per period, naming it, and the rows are collected all the same, as sampled v3 data was.
Periods are fetched several at a time (`backfill.in_order`, `--concurrency`, at most the 10
concurrent requests GA4 allows a property); their rows still come back in period order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol

from performanceplatform.collector.backfill import in_order
from performanceplatform.collector.concurrency import GA4_MAX_CONCURRENCY, concurrency_from_environment
from performanceplatform.collector.ga.ga4.query import DateRange, ReportQuery
from performanceplatform.collector.ga.ga4.rows import page_from_response, row_count
from performanceplatform.collector.ga.rows import GaRow, GaRows
from performanceplatform.collector.periods import period_range

log = logging.getLogger(__name__)


class ReportClient(Protocol):
    def run_report(self, property_: str, body: Mapping[str, Any], *, what: str) -> dict[str, Any]: ...


def fetch_rows(
    client: ReportClient, query: ReportQuery, start_at: date | datetime | None, end_at: date | datetime | None
) -> list[GaRow]:
    """Every row for every period between `start_at` and `end_at` (defaults: the last full period)."""
    with period_rows(client, query, start_at, end_at) as periods:
        return [row for rows in periods for row in rows]


def period_rows(
    client: ReportClient, query: ReportQuery, start_at: date | datetime | None, end_at: date | datetime | None
) -> AbstractContextManager[Iterator[GaRows]]:
    """Each period's rows, in period order, fetched several periods at a time (see the module).

    `with period_rows(...) as periods:`; the client must be safe to share between threads.
    """
    periods = period_range(start_at, end_at, query.frequency)
    concurrency = concurrency_from_environment(
        limit=GA4_MAX_CONCURRENCY, what="the GA4 Data API (concurrent requests per property)"
    )
    return in_order(
        periods,
        lambda period: fetch_report(client, query, [DateRange(*period)]),
        concurrency=concurrency,
        name="ga4-period",
    )


def fetch_report(client: ReportClient, query: ReportQuery, date_ranges: Sequence[DateRange]) -> GaRows:
    """The rows of one report over `date_ranges` (one period, or trending's two named weeks)."""
    period = ", ".join(str(date_range) for date_range in date_ranges)
    log.info("Querying GA4 %s for data in the period: %s", query.property, period)
    rows: GaRows | None = None  # the first page, then every page's rows
    warnings: dict[str, None] = {}
    while True:
        offset = len(rows) if rows is not None else 0
        body = query.request_body(date_ranges, offset=offset, limit=query.page_limit(offset))
        response = client.run_report(
            query.property, body, what=f"runReport request for {query.property} ({period}, offset {offset})"
        )
        warnings.update(dict.fromkeys(metadata_warnings(response.get("metadata"))))
        page = page_from_response(response, query, date_ranges)
        if rows is None:
            rows = page
        else:
            rows.extend(page)
        total = row_count(response)
        if query.max_results is not None and len(rows) >= query.max_results:
            del rows.values[query.max_results :]
            break
        if len(rows) >= total:
            break
        if not page:
            log.warning(
                "GA4 said %s has %d row(s) for %s but sent none after row %d; keeping those",
                query.property, total, period, len(rows),
            )
            break
    assert rows is not None  # the loop reads at least one page
    for warning in warnings:
        log.warning("GA4 %s for %s: %s", query.property, period, warning)
    log.info("%d row(s) for %s", len(rows), period)
    return rows


def metadata_warnings(metadata: Any) -> list[str]:
    """What GA4's `metadata` says is wrong with the numbers, one sentence each."""
    if not isinstance(metadata, Mapping):
        return []
    warnings = []
    samples = metadata.get("samplingMetadatas")
    if isinstance(samples, list) and samples:
        read = ", ".join(
            f"{sample.get('samplesReadCount', '?')} of {sample.get('samplingSpaceSize', '?')}"
            for sample in samples
            if isinstance(sample, Mapping)
        )
        warnings.append(f"the data is sampled (events read: {read}); the numbers are estimates")
    if metadata.get("subjectToThresholding"):
        warnings.append(
            "the data is subject to thresholding: rows with few users may be withheld (subjectToThresholding)"
        )
    if metadata.get("dataLossFromOtherRow"):
        warnings.append(
            "some rows were rolled into an '(other)' row because the property's row limit was reached "
            "(dataLossFromOtherRow)"
        )
    return warnings
