"""`ga.trending`: pages whose views grew most, this week against last week (reference §4).

One query covers the fourteen days before today, split by day. Rows are grouped by `pageTitle`;
each group keeps the shortest `pagePath` seen, sums the metric into `week1` (days -14 to -8) and
`week2` (days -7 to -1), floors both at 500 so a handful of views cannot make a trend, and gets
`percent_change`. The `_id` is the page path (base64), so each run replaces the last: the data set
is emptied and the new records posted in one request. Dates are ignored, as they were;
`additionalFields` and plugins apply.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.ga4 import uses_data_api
from performanceplatform.collector.ga.query import CoreQuery, view_id_from
from performanceplatform.collector.ga.rows import GaRow
from performanceplatform.collector.periods import to_utc_datetime, utc_today
from performanceplatform.collector.py2compat import py2_dict_order

if TYPE_CHECKING:
    from performanceplatform.collector.backdrop import DataSet

log = logging.getLogger(__name__)

DATE_DIMENSIONS = ("day", "month", "year")
# A GA4 row's named date range (`ga4.trending` asks for the two weeks by name).
DATE_RANGE = "dateRange"
GROUP_BY = "pageTitle"
PATH = "pagePath"
FLOOR = 500


def main(
    credentials: Mapping[str, Any],
    data_set_config: Mapping[str, Any],
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> None:
    if uses_data_api(query):
        from performanceplatform.collector.ga.ga4 import trending

        trending.main(credentials, data_set_config, query, options, start_at, end_at)
        return
    if start_at or end_at:
        log.warning("ga.trending always covers the two weeks before today; --start/--end are ignored")
    metric, core_query = trending_query(query)
    window = TrendingWindow.before(utc_today())

    from performanceplatform.collector.backdrop import DataSet
    from performanceplatform.collector.ga.client import open_client
    from performanceplatform.collector.ga.core import fetch_period

    data_set = DataSet.from_config(data_set_config)
    with open_client(credentials) as client:
        rows = fetch_period(client, core_query, window.start, window.end)
    replace_data_set(data_set, trending_records(rows, metric, window), options)


def replace_data_set(data_set: DataSet, records: list[dict[str, Any]], options: Mapping[str, Any] | None) -> None:
    """Empty the data set and post every record, as one request, as the original did.

    `additionalFields` and plugins apply, as they do for every collector (the original ignored them).
    """
    from performanceplatform.collector.records import apply_options

    records = apply_options(records, options)
    if records:
        data_set.post(records, len(records), empty_first=True)
    else:
        data_set.empty_data_set()


def check(
    credentials: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> list[str]:
    """Problems `--check` reports: the metric, the dimensions, the credentials."""
    if uses_data_api(query):
        from performanceplatform.collector.ga.ga4 import trending

        return trending.check(credentials, query, options, start_at, end_at)
    from performanceplatform.collector.check import problems_of
    from performanceplatform.collector.ga.checks import credentials_problems

    return problems_of(lambda: trending_query(query)) + credentials_problems(credentials)


@dataclass(frozen=True)
class TrendingWindow:
    start: date
    middle: date
    end: date

    @classmethod
    def before(cls, today: date) -> TrendingWindow:
        return cls(today - timedelta(weeks=2), today - timedelta(weeks=1), today - timedelta(days=1))

    def week_of(self, day: date) -> str:
        return "week2" if day >= self.middle else "week1"


def trending_query(query: Mapping[str, Any]) -> tuple[str, CoreQuery]:
    """The metric, and the Core Reporting query: the file's dimensions plus day, month and year."""
    if not isinstance(query, Mapping):
        raise ConfigurationError(f"expected an object, got {query!r}", key="query")
    metric = query.get("metric")
    if not isinstance(metric, str) or not metric:
        raise ConfigurationError(
            f"expected one metric name, such as 'pageviews', got {metric!r}", source="query", key="metric"
        )
    dimensions = query.get("dimensions") or []
    if isinstance(dimensions, str):
        dimensions = [dimensions]
    if not isinstance(dimensions, list) or not {GROUP_BY, PATH} <= set(dimensions):
        raise ConfigurationError(
            f"expected a list including {GROUP_BY!r} and {PATH!r}, got {dimensions!r}",
            source="query",
            key="dimensions",
        )
    core_query = CoreQuery.from_config(
        {
            "id": view_id_from(query.get("id")),
            "metrics": [metric],
            "dimensions": [*dimensions, *DATE_DIMENSIONS],
            "filters": query.get("filters"),
            "segment": query.get("segment"),
        }
    )
    return metric, core_query


def trending_records(rows: Sequence[GaRow], metric: str, window: TrendingWindow) -> list[dict[str, Any]]:
    """Records from rows with day, month and year (Core Reporting) or a named `dateRange` (GA4,
    whose two date ranges are named `week1` and `week2`)."""
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        dimensions = row["dimensions"]
        group = groups.get(dimensions[GROUP_BY])
        if group is None:
            # A group starts from its first row, even one skipped below: the original did so.
            group = {name: value for name, value in dimensions.items() if name not in (*DATE_DIMENSIONS, DATE_RANGE)}
            group.update(week1=0, week2=0, _timestamp=to_utc_datetime(window.start))
            groups[dimensions[GROUP_BY]] = group
        week = dimensions.get(DATE_RANGE)
        if week is None:
            parts = [dimensions[name] for name in DATE_DIMENSIONS]
            if "(other)" in parts:
                continue
            day = date(int(dimensions["year"]), int(dimensions["month"]), int(dimensions["day"]))
            week = window.week_of(day)
        if dimensions[PATH] in group[PATH]:
            group[PATH] = dimensions[PATH]
        group[week] += int(row["metrics"][metric])
    records = []
    # The original posted its dict's values, so in Python 2's order of the page titles.
    for title in py2_dict_order(groups):
        group = groups[title]
        group["week1"] = max(group["week1"], FLOOR)
        group["week2"] = max(group["week2"], FLOOR)
        group["percent_change"] = (group["week2"] - group["week1"]) / group["week1"] * 100
        group["_id"] = base64.urlsafe_b64encode(group[PATH].encode("utf-8")).decode("ascii")
        records.append(group)
    log.info("%d trending page(s) from %d row(s)", len(records), len(rows))
    return records
