"""`ga.trending` for a GA4 property: this week's page views against last week's, by page title.

The query is checked as for Core Reporting (`ga.trending.trending_query`: one metric, dimensions
with `pageTitle` and `pagePath`), then asked of GA4 as one `runReport` with two named date ranges,
`week1` (days -14 to -8) and `week2` (days -7 to -1), instead of the v3 query's day, month and
year dimensions: each row carries its week in GA4's `dateRange` dimension. The records are built
by `ga.trending.trending_records`, so they are the v3 collector's: groups by title, the shortest
path, weeks floored at 500, `percent_change`, the path as `_id`; the data set is replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from performanceplatform.collector.ga.ga4.query import DateRange, ReportQuery
from performanceplatform.collector.ga.trending import DATE_DIMENSIONS, TrendingWindow, trending_query

log = logging.getLogger(__name__)


def main(
    credentials: Mapping[str, Any],
    data_set_config: Mapping[str, Any],
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> None:
    from performanceplatform.collector.backdrop import DataSet
    from performanceplatform.collector.ga.ga4.client import open_data_client
    from performanceplatform.collector.ga.ga4.fetch import fetch_report
    from performanceplatform.collector.ga.trending import replace_data_set, trending_records
    from performanceplatform.collector.periods import utc_today

    if start_at or end_at:
        log.warning("ga.trending always covers the two weeks before today; --start/--end are ignored")
    metric, report = trending_report(query)
    window = TrendingWindow.before(utc_today())

    data_set = DataSet.from_config(data_set_config)
    with open_data_client(credentials) as client:
        rows = fetch_report(client, report, weeks(window))
    replace_data_set(data_set, trending_records(rows, metric, window), options)


def check(
    credentials: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> list[str]:
    """Problems `--check` reports: the metric and dimensions, anything GA4 cannot ask, credentials."""
    from performanceplatform.collector.check import problems_of
    from performanceplatform.collector.ga.checks import credentials_problems

    problems = problems_of(lambda: trending_query({**query, "id": "0"}))
    if not problems:
        problems = [str(problem) for problem in ReportQuery.problems(_report_config(query))]
    return problems + credentials_problems(credentials)


def trending_report(query: Mapping[str, Any]) -> tuple[str, ReportQuery]:
    """The metric, and the GA4 report: the file's dimensions and filters, without v3's date dimensions."""
    # The v3 checks of the metric and dimensions apply unchanged; only the id is GA4's.
    trending_query({**query, "id": "0"})
    config = _report_config(query)
    return config["metrics"][0], ReportQuery.from_config(config)


def weeks(window: TrendingWindow) -> list[DateRange]:
    """The two named date ranges whose rows `trending_records` adds into `week1` and `week2`."""
    return [
        DateRange(window.start, window.middle - timedelta(days=1), "week1"),
        DateRange(window.middle, window.end, "week2"),
    ]


def _report_config(query: Mapping[str, Any]) -> dict[str, Any]:
    dimensions = query.get("dimensions") or []
    if isinstance(dimensions, str):
        dimensions = [dimensions]
    return {
        "id": query.get("id"),
        "metrics": [query.get("metric")],
        "dimensions": [name for name in dimensions if name not in DATE_DIMENSIONS],
        "filters": query.get("filters"),
        "segment": query.get("segment"),
    }
