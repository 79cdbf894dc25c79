"""Trending pages, whichever source answers: the query, the fortnight, and the records (reference §4).

One query covers the fourteen days before today. Each source answers it in its own way (Core
Reporting by day, month and year; GA4 with two named date ranges) and hands back `TrendingRow`s:
a row's dimensions without the dates, the week it counts towards (`week1`: days -14 to -8,
`week2`: days -7 to -1; None for a row the original skipped), and its metric. Rows are grouped by
`pageTitle`; each group keeps the shortest `pagePath` seen, sums the metric into its weeks, floors
both at 500 so a handful of views cannot make a trend, and gets `percent_change`. The `_id` is the
page path (base64), so each run replaces the last.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from performanceplatform.collector.ga.query import GaQuery, names, query_error
from performanceplatform.collector.periods import to_utc_datetime

log = logging.getLogger(__name__)

GROUP_BY = "pageTitle"
PATH = "pagePath"
FLOOR = 500
WEEKS = ("week1", "week2")


@dataclass(frozen=True)
class TrendingQuery:
    """What a `ga.trending` query asks: one metric, by page title and path (and more dimensions)."""

    id: Any
    metric: str
    dimensions: tuple[str, ...]
    filters: tuple[str, ...] = ()
    segment: str | None = None

    @classmethod
    def from_config(cls, query: Mapping[str, Any], *, source: str | None) -> TrendingQuery:
        if not isinstance(query, Mapping):
            raise query_error(f"expected an object, got {query!r}", source, "")
        metric = query.get("metric")
        if not isinstance(metric, str) or not metric:
            raise query_error(f"expected one metric name, such as 'pageviews', got {metric!r}", source, "metric")
        dimensions = names(query, "dimensions", source)
        if not {GROUP_BY, PATH} <= set(dimensions):
            raise query_error(
                f"expected a list including {GROUP_BY!r} and {PATH!r}, got {list(dimensions)!r}", source, "dimensions"
            )
        shape = GaQuery.from_config(
            {"id": query.get("id"), "metrics": [metric], "filters": query.get("filters"),
             "segment": query.get("segment")},
            source=source,
        )
        return cls(query.get("id"), metric, dimensions, shape.filters, shape.segment)

    def as_report(self, dimensions: Sequence[str]) -> GaQuery:
        """The report a source asks: the metric, by `dimensions` (the query's, and any the source adds)."""
        return GaQuery(
            id=self.id, metrics=(self.metric,), dimensions=tuple(dimensions), filters=self.filters, segment=self.segment
        )


@dataclass(frozen=True)
class TrendingWindow:
    start: date
    middle: date
    end: date

    @classmethod
    def before(cls, today: date) -> TrendingWindow:
        return cls(today - timedelta(weeks=2), today - timedelta(weeks=1), today - timedelta(days=1))

    def week_of(self, day: date) -> str:
        return WEEKS[1] if day >= self.middle else WEEKS[0]

    def weeks(self) -> tuple[tuple[str, date, date], tuple[str, date, date]]:
        """Each week's name, first and last day."""
        return (WEEKS[0], self.start, self.middle - timedelta(days=1)), (WEEKS[1], self.middle, self.end)


@dataclass(frozen=True)
class TrendingRow:
    dimensions: Mapping[str, Any]
    week: str | None
    value: int | float


def trending_records(rows: Sequence[TrendingRow], window: TrendingWindow) -> list[dict[str, Any]]:
    """The records: one per page title, in the order the original posted them."""
    # Python 2's rules are only needed here; a realtime run, which imports this module's types, does not.
    from performanceplatform.collector.py2compat import py2_dict_order

    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        dimensions = row.dimensions
        group = groups.get(dimensions[GROUP_BY])
        if group is None:
            # A group starts from its first row, even one skipped below: the original did so.
            group = dict(dimensions)
            group.update(week1=0, week2=0, _timestamp=to_utc_datetime(window.start))
            groups[dimensions[GROUP_BY]] = group
        if row.week is None:
            continue
        if dimensions[PATH] in group[PATH]:
            group[PATH] = dimensions[PATH]
        group[row.week] += int(row.value)
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
