"""A `ga` query file's query (`ga.query.GaQuery`) for a GA4 property, as Data API `runReport` requests.

The query is translated: `metrics` and `dimensions` through the name table (`names`), `filters`
into `dimensionFilter` / `metricFilter` (`filters`), `sort` into `orderBys`, `maxResults` into
`limit` (and a cap on the rows read per period). Whatever has no GA4 equivalent (`segment`, a name
GA4 lacks, an OR of a metric and a dimension) is refused before any request; `translate` returns
every such problem, naming the query file, for `--check`, and `ReportQuery.of` raises the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from performanceplatform.collector.errors import ConfigurationError, in_query_file
from performanceplatform.collector.ga.data_api.filters import Filters, translate_filters
from performanceplatform.collector.ga.data_api.names import DIMENSION, METRIC, Field, bare_name, resolve
from performanceplatform.collector.ga.query import GaQuery, query_error

PROPERTY = re.compile(r"properties/\d+")
# GA4's own default page; the API allows up to 250,000 rows per request.
PAGE_SIZE = 10_000
SEGMENT_REFUSAL = (
    "the GA4 Data API has no segments. The nearest are 'filters' (which select rows, not whole "
    "sessions or users) or a GA4 audience (the 'audienceName' dimension); rewrite the query with "
    "one of those"
)


@dataclass(frozen=True)
class DateRange:
    """One `dateRanges` item: a period, named when a request has several (trending's weeks)."""

    start: date
    end: date
    name: str | None = None

    def body(self) -> dict[str, str]:
        body = {"startDate": self.start.isoformat(), "endDate": self.end.isoformat()}
        if self.name:
            body["name"] = self.name
        return body

    def __str__(self) -> str:
        text = f"{self.start} to {self.end}"
        return f"{self.name} ({text})" if self.name else text


@dataclass(frozen=True)
class ReportQuery:
    """What one `runReport` query asks for, in GA4's terms, keeping the names the query used."""

    property: str
    metrics: tuple[Field, ...]
    dimensions: tuple[Field, ...] = ()
    filters: Filters = field(default_factory=Filters)
    order_bys: tuple[dict[str, Any], ...] = ()
    max_results: int | None = None
    frequency: str = "weekly"

    @classmethod
    def of(cls, query: GaQuery, *, source: str | None) -> ReportQuery:
        """`query`, whose id is a `properties/<n>`, as GA4 asks it; raises the first problem."""
        translated, problems = translate(query, source=source)
        if problems:
            raise problems[0]
        assert translated is not None  # no problems means a translation
        return translated

    @property
    def api_metrics(self) -> tuple[str, ...]:
        """GA4's metric names, each once: `users` and `visitors` both read `totalUsers`."""
        return tuple(dict.fromkeys(metric.api_name for metric in self.metrics))

    @property
    def api_dimensions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(dimension.api_name for dimension in self.dimensions))

    def request_body(self, date_ranges: Sequence[DateRange], *, offset: int, limit: int) -> dict[str, Any]:
        """The body of `POST v1beta/{property}:runReport` for one page."""
        body: dict[str, Any] = {
            "dateRanges": [date_range.body() for date_range in date_ranges],
            "metrics": [{"name": name} for name in self.api_metrics],
        }
        if self.dimensions:
            body["dimensions"] = [{"name": name} for name in self.api_dimensions]
        if self.filters.dimension_filter is not None:
            body["dimensionFilter"] = self.filters.dimension_filter
        if self.filters.metric_filter is not None:
            body["metricFilter"] = self.filters.metric_filter
        if self.order_bys:
            body["orderBys"] = list(self.order_bys)
        # int64 fields are strings in the API's JSON.
        body.update(offset=str(offset), limit=str(limit), returnPropertyQuota=True)
        return body

    def page_limit(self, rows_read: int) -> int:
        """The `limit` of the next page: a full page, or what is left of `maxResults`."""
        if self.max_results is None:
            return PAGE_SIZE
        return max(1, min(PAGE_SIZE, self.max_results - rows_read))


def property_from(value: Any, *, source: str | None, key: str = "id") -> str:
    """`properties/<n>`, checked: the numeric property id, not a measurement id (`G-...`)."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not PROPERTY.fullmatch(text):
        raise query_error(
            f"expected a GA4 property such as 'properties/123456789' (the numeric property id, "
            f"not a 'G-' measurement id), got {value!r}",
            source,
            key,
        )
    return text


def translate(shape: GaQuery, *, source: str | None) -> tuple[ReportQuery | None, list[ConfigurationError]]:
    """The GA4 report for `shape`, or every reason there is none (each naming the query file)."""
    translated, problems = _translate(shape, source)
    return translated, [in_query_file(problem, source) for problem in problems]


def _translate(shape: GaQuery, source: str | None) -> tuple[ReportQuery | None, list[ConfigurationError]]:
    problems: list[ConfigurationError] = []
    try:
        property_ = property_from(shape.id, source=source)
    except ConfigurationError as error:
        problems.append(error)
        property_ = ""
    if shape.segment is not None:
        problems.append(query_error(f"{shape.segment!r}: {SEGMENT_REFUSAL}", source, "segment"))
    metrics = _fields(shape.metrics, METRIC, "metrics", problems)
    dimensions = _fields(shape.dimensions, DIMENSION, "dimensions", problems)
    filters = Filters()
    try:
        filters = translate_filters(
            shape.filters, metric_names=frozenset(bare_name(name) for name in shape.metrics)
        )
    except ConfigurationError as error:
        problems.append(error)
    order_bys = _order_bys(shape.sort, metrics, dimensions, problems)
    if problems:
        return None, problems
    return (
        ReportQuery(
            property=property_,
            metrics=tuple(metrics),
            dimensions=tuple(dimensions),
            filters=filters,
            order_bys=tuple(order_bys),
            max_results=shape.max_results,
            frequency=shape.frequency,
        ),
        [],
    )


def _fields(names: Iterable[str], kind: str, key: str, problems: list[ConfigurationError]) -> list[Field]:
    fields = []
    for name in names:
        try:
            fields.append(resolve(name, kind, key=key))
        except ConfigurationError as error:
            problems.append(error)
    return fields


def _order_bys(
    sort: Iterable[str], metrics: list[Field], dimensions: list[Field], problems: list[ConfigurationError]
) -> list[dict[str, Any]]:
    """`-sessions` → `{"metric": {"metricName": "sessions"}, "desc": true}`, on the query's own fields."""
    order_bys = []
    for item in sort:
        descending = item.startswith("-")
        name = bare_name(item[1:] if descending else item)
        chosen = next((f for f in (*metrics, *dimensions) if bare_name(f.written) == name), None)
        if chosen is None:
            problems.append(
                ConfigurationError(
                    f"{item!r} sorts on a field the query does not ask for; GA4, like Core "
                    "Reporting, sorts only by the query's own metrics and dimensions",
                    source="query",
                    key="sort",
                )
            )
            continue
        order: dict[str, Any] = (
            {"metric": {"metricName": chosen.api_name}}
            if chosen.is_metric
            else {"dimension": {"dimensionName": chosen.api_name}}
        )
        order["desc"] = descending
        order_bys.append(order)
    return order_bys

