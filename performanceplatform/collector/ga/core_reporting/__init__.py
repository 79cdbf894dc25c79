"""Core Reporting v3 and Real Time v3: the legacy source, for Universal Analytics views (`ga:<n>`).

Universal Analytics stopped answering in July 2024; this source stays faithful to the original
(gapy's requests, its row order, its records and ids) for anyone still holding UA data behind a
compatible API, and for the record of what the original did. `CORE_REPORTING` is the `GaSource`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.core_reporting.query import CoreQuery
from performanceplatform.collector.ga.core_reporting.realtime import (
    RealtimeParameters,
    realtime_parameters,
    realtime_problems,
    visitor_count,
)
from performanceplatform.collector.ga.query import GaQuery
from performanceplatform.collector.ga.trends import TrendingQuery, TrendingRow, TrendingWindow

if TYPE_CHECKING:
    from performanceplatform.collector.context import RunContext
    from performanceplatform.collector.ga.rows import GaRows

# Core Reporting splits trending's fortnight by day; a row's date says its week.
DATE_DIMENSIONS = ("day", "month", "year")


class CoreReportingSource:
    name = "Core Reporting v3"
    max_concurrency: int | None = None

    def report_problems(self, query: GaQuery, *, source: str) -> list[ConfigurationError]:
        try:
            self.report(query, source=source)
        except ConfigurationError as error:
            return [error]
        return []

    def report(self, query: GaQuery, *, source: str) -> CoreQuery:
        return CoreQuery.of(query, source=source)

    def trending_report(self, query: TrendingQuery, *, source: str) -> CoreQuery:
        return CoreQuery.of(query.as_report([*query.dimensions, *DATE_DIMENSIONS]), source=source)

    def trending_problems(self, query: TrendingQuery, *, source: str) -> list[ConfigurationError]:
        try:
            self.trending_report(query, source=source)
        except ConfigurationError as error:
            return [error]
        return []

    def realtime_request(self, query: Mapping[str, Any], *, source: str) -> RealtimeParameters:
        return realtime_parameters(query, source=source)

    def realtime_problems(self, query: Mapping[str, Any], *, source: str) -> list[ConfigurationError]:
        return realtime_problems(query, source=source)

    def open(self, context: RunContext) -> Any:
        from performanceplatform.collector.ga.core_reporting.client import open_core_reporting

        return open_core_reporting(context)

    def fetch_period(self, client: Any, report: CoreQuery, start: date, end: date) -> GaRows:  # type: ignore[override]
        # The pages (and the record builder behind the row shape) are imported when a report is
        # read: a realtime run needs neither.
        from performanceplatform.collector.ga.core_reporting.pages import fetch_period

        return fetch_period(client, report, start, end)

    def fetch_trending(self, client: Any, report: CoreQuery, window: TrendingWindow) -> list[TrendingRow]:
        rows = self.fetch_period(client, report, window.start, window.end)
        metric = report.metrics[0]
        found = []
        for row in rows:
            dimensions = row["dimensions"]
            parts = [dimensions[name] for name in DATE_DIMENSIONS]
            # The original skipped rows GA could not date ("(other)"), after starting their group.
            week = None
            if "(other)" not in parts:
                day = date(int(dimensions["year"]), int(dimensions["month"]), int(dimensions["day"]))
                week = window.week_of(day)
            kept = {name: value for name, value in dimensions.items() if name not in DATE_DIMENSIONS}
            found.append(TrendingRow(kept, week, row["metrics"][metric]))
        return found

    def probe(self, client: Any, report: CoreQuery, day: date) -> None:
        self.fetch_period(client, CoreQuery(report.view_id, replace(report.query, max_results=1)), day, day)

    def realtime_count(self, client: Any, request: RealtimeParameters) -> int:
        return visitor_count(client.realtime_report(request.parameters))

    def credentials_problems(self, context: RunContext) -> list[str]:
        from performanceplatform.collector.ga.google_account import credentials_problems

        return credentials_problems(context)


CORE_REPORTING = CoreReportingSource()
