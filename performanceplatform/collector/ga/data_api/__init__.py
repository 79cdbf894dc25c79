"""The GA4 Data API: the main GA source, for `properties/<n>` ids.

A `ga`-family query file keeps its Universal Analytics shape and is translated for GA4: names
through the UA → GA4 table (`names`, checked against `schema`), filters (`filters`), sort and
`maxResults` (`query`); `runReport` answers are read page by page into the one GA row shape
(`pages`), so the records are the v3 collectors': the same field names, `_timestamp`, `timeSpan`
and `_id`s. Realtime queries go to `runRealtimeReport` (`realtime`); both check the property id
(`property_ids`). `client` speaks
`analyticsdata` v1beta as plain JSON through the project's `HttpClient`. `DataApiSource` is the
`GaSource`: `ga.sources.source_for` makes one per run for the query's `ga.migration.map_file.Migration`
(its property, and what a GA4 migration file maps for it), and it checks the names of a migrated
report against the property's metadata before the first request (`ga.migration.metadata`).

Only the realtime query module is imported with this package: the report query module when a
report is checked or asked for, the metadata check when a report is fetched, the pages (and the
record builder behind the row shape) when a report is read, trending's rows when a trending
report is, and the client when a run opens it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from performanceplatform.collector.concurrency import GA4_MAX_CONCURRENCY
from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.data_api.realtime import RealtimeQuery, active_count
from performanceplatform.collector.ga.data_api.schema import DATE_RANGE

if TYPE_CHECKING:
    from performanceplatform.collector.context import RunContext
    from performanceplatform.collector.ga.data_api.query import ReportQuery
    from performanceplatform.collector.ga.migration.map_file import Migration
    from performanceplatform.collector.ga.migration.metadata import PropertyMetadata
    from performanceplatform.collector.ga.query import GaQuery
    from performanceplatform.collector.ga.rows import GaRows
    from performanceplatform.collector.ga.trends import TrendingQuery, TrendingRow, TrendingWindow

# UA's trending query split the fortnight by these; GA4 asks for two named weeks instead.
UA_DATE_DIMENSIONS = ("day", "month", "year")


class DataApiSource:
    """The GA4 Data API for one query's `migration` (None: the id must be a property, nothing is
    mapped); the property metadata it checks names against is kept for the run."""

    name = "GA4 Data API"
    max_concurrency: int | None = GA4_MAX_CONCURRENCY

    def __init__(self, migration: Migration | None = None):
        self.migration = migration

    @functools.cached_property
    def metadata(self) -> PropertyMetadata:
        from performanceplatform.collector.ga.migration.metadata import PropertyMetadata

        return PropertyMetadata()

    def report_problems(self, query: GaQuery, *, source: str) -> list[ConfigurationError]:
        from performanceplatform.collector.ga.data_api.query import translate

        return translate(query, source=source, migration=self.migration)[1]

    def report(self, query: GaQuery, *, source: str) -> ReportQuery:
        from performanceplatform.collector.ga.data_api.query import ReportQuery

        return ReportQuery.of(query, source=source, migration=self.migration)

    def trending_report(self, query: TrendingQuery, *, source: str) -> ReportQuery:
        return self.report(self._trending_shape(query), source=source)

    def trending_problems(self, query: TrendingQuery, *, source: str) -> list[ConfigurationError]:
        return self.report_problems(self._trending_shape(query), source=source)

    def realtime_request(self, query: Mapping[str, Any], *, source: str) -> RealtimeQuery:
        return RealtimeQuery.from_config(query, source=source, migration=self.migration)

    def realtime_problems(self, query: Mapping[str, Any], *, source: str) -> list[ConfigurationError]:
        return RealtimeQuery.translate(query, source=source, migration=self.migration)[1]

    def open(self, context: RunContext) -> Any:
        from performanceplatform.collector.ga.data_api.client import open_data_api

        return open_data_api(context)

    def fetch_period(self, client: Any, report: ReportQuery, start: date, end: date) -> GaRows:  # type: ignore[override]
        from performanceplatform.collector.ga.data_api.pages import fetch_report
        from performanceplatform.collector.ga.data_api.query import DateRange

        self.metadata.check(client, report)
        return fetch_report(client, report, [DateRange(start, end)])

    def fetch_trending(self, client: Any, report: ReportQuery, window: TrendingWindow) -> list[TrendingRow]:
        """One report over two named date ranges: each row says its week in GA4's `dateRange`."""
        from performanceplatform.collector.ga.data_api.pages import fetch_report
        from performanceplatform.collector.ga.data_api.query import DateRange
        from performanceplatform.collector.ga.trends import TrendingRow

        self.metadata.check(client, report)
        rows = fetch_report(client, report, [DateRange(start, end, name) for name, start, end in window.weeks()])
        metric = report.metrics[0].written
        found = []
        for row in rows:
            dimensions = dict(row["dimensions"])
            week = dimensions.pop(DATE_RANGE, None)
            found.append(TrendingRow(dimensions, week, row["metrics"][metric]))
        return found

    def probe(self, client: Any, report: ReportQuery, day: date) -> None:
        from performanceplatform.collector.ga.data_api.pages import fetch_report
        from performanceplatform.collector.ga.data_api.query import DateRange

        # A migrated query's names are the property's to confirm, online as before a run.
        self.metadata.check(client, report)
        fetch_report(client, replace(report, max_results=1), [DateRange(day, day)])

    def realtime_count(self, client: Any, request: RealtimeQuery) -> int:
        response = client.run_realtime_report(
            request.property, request.request_body(), what=f"runRealtimeReport request for {request.property}"
        )
        return active_count(response)

    def credentials_problems(self, context: RunContext) -> list[str]:
        from performanceplatform.collector.ga.google_account import credentials_problems

        return credentials_problems(context)

    @staticmethod
    def _trending_shape(query: TrendingQuery) -> GaQuery:
        return query.as_report([name for name in query.dimensions if name not in UA_DATE_DIMENSIONS])

