"""Data API answers as rows in gapy's shape, the one the v3 collectors' record builder reads.

A `runReport` row is `{"dimensionValues": [{"value"}], "metricValues": [{"value"}]}`, every value a
string, in the order of `dimensionHeaders` / `metricHeaders`. Values are found by header name, not
position (GA4 adds a `dateRange` dimension when a request has several date ranges), and each
field of the query gets its value under the name the query wrote: `users` rather than
`totalUsers`, UA's percentage for `bounceRate`, UA's `New Visitor` for `userType`. So the rows,
and the records built from them, look as the v3 collector's did (`ga.rows.GaRow`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from performanceplatform.collector.errors import FatalUpstreamError
from performanceplatform.collector.ga.ga4.names import Field
from performanceplatform.collector.ga.ga4.query import DateRange, ReportQuery
from performanceplatform.collector.ga.ga4.schema import DATE_RANGE
from performanceplatform.collector.ga.google_errors import SERVICE
from performanceplatform.collector.ga.rows import GaRows


def page_from_response(
    response: Mapping[str, Any], query: ReportQuery, date_ranges: Sequence[DateRange]
) -> GaRows:
    """The rows of one `runReport` page, in GA4's order."""
    dimension_names = _header_names(response, "dimensionHeaders")
    metric_names = _header_names(response, "metricHeaders")
    dimension_at = _positions(dimension_names, query.api_dimensions, "dimension")
    metric_at = _positions(metric_names, query.api_metrics, "metric")
    ranges = {date_range.name: date_range for date_range in date_ranges}
    # Worked out once a page: where each field of the query is in a row, and how it is read.
    # GA4's value, or the value UA wrote instead (`values`, for the few fields that have them).
    dimension_cells = [(dimension_at[d.api_name], d.values or None) for d in query.dimensions]
    metric_cells = [(metric_at[metric.api_name], metric) for metric in query.metrics]
    named_ranges = DATE_RANGE in dimension_names and len(date_ranges) > 1
    range_at = dimension_names.index(DATE_RANGE) if named_ranges else -1
    page = GaRows(
        tuple(dimension.written for dimension in query.dimensions),
        tuple(metric.written for metric in query.metrics),
        extra_dimension=DATE_RANGE if named_ranges else None,
    )
    # In the common case every field is read as GA4 sent it, in the order GA4 sent it.
    plain_dimensions = dimension_cells == [(at, None) for at in range(len(dimension_names))]
    plain_metrics = [at for at, _ in metric_cells] == list(range(len(metric_names))) and all(
        metric.scale == 1 for _, metric in metric_cells
    )
    only_range = date_ranges[0]
    dimension_width, metric_width = len(dimension_names), len(metric_names)
    for row in response.get("rows") or []:
        try:
            # What JSON gives: a dict per cell, each with its value (a million rows pass here).
            dimension_values = [str(cell["value"]) for cell in row["dimensionValues"]]
            metric_values = [str(cell["value"]) for cell in row["metricValues"]]
            as_sent = len(dimension_values) == dimension_width and len(metric_values) == metric_width
        except (KeyError, TypeError):
            as_sent = False
        if not as_sent:
            # Left-out empty values and lists, or a row that does not match the headers.
            dimension_values = _values(row, "dimensionValues", dimension_width)
            metric_values = _values(row, "metricValues", metric_width)
        date_range = only_range
        if not plain_dimensions:
            dimension_values = [
                dimension_values[at] if values is None else values.get(dimension_values[at], dimension_values[at])
                for at, values in dimension_cells
            ] + ([dimension_values[range_at]] if named_ranges else [])
        if named_ranges:
            range_name = dimension_values[-1]
            if range_name not in ranges:
                raise FatalUpstreamError(
                    f"Google Analytics answered with a row of the date range {range_name!r}, which was "
                    f"not asked for (asked: {', '.join(str(name) for name in ranges)})",
                    service=SERVICE,
                )
            date_range = ranges[range_name]
        if not plain_metrics:
            metric_values = [
                metric_values[at] if metric.scale == 1 else _metric_value(metric, metric_values[at])
                for at, metric in metric_cells
            ]
        page.values.append((date_range.start, date_range.end, dimension_values, metric_values))
    return page


def row_count(response: Mapping[str, Any]) -> int:
    """`rowCount`: all the rows the query has, across pages (absent, as proto3 omits 0, means none)."""
    value = response.get("rowCount", 0)
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        raise FatalUpstreamError(
            f"Google Analytics answered with a rowCount that is not a count: {value!r}", service=SERVICE
        )
    return count


def _metric_value(metric: Field, raw: str) -> str:
    if metric.scale == 1:
        return raw
    try:
        return str(Decimal(raw) * metric.scale)
    except InvalidOperation:
        return raw  # not a number: the record builder says so, naming the value


def _header_names(response: Mapping[str, Any], key: str) -> list[str]:
    headers = response.get(key) or []
    named = isinstance(headers, list) and all(
        isinstance(header, Mapping) and isinstance(header.get("name"), str) for header in headers
    )
    if not named:
        raise FatalUpstreamError(
            f"Google Analytics answered with {key} that are not named: {headers!r}", service=SERVICE
        )
    return [header["name"] for header in headers]


def _positions(answered: list[str], asked: Sequence[str], kind: str) -> dict[str, int]:
    missing = [name for name in asked if name not in answered]
    if missing:
        raise FatalUpstreamError(
            f"Google Analytics answered without the {kind}(s) {', '.join(missing)} that were asked for "
            f"(it answered: {', '.join(answered) or 'none'})",
            service=SERVICE,
        )
    return {name: answered.index(name) for name in asked}


def _values(row: Any, key: str, width: int) -> list[str]:
    cells = row.get(key) if isinstance(row, Mapping) else None
    cells = [] if cells is None and width == 0 else cells
    if not isinstance(cells, list) or len(cells) != width or not all(isinstance(cell, Mapping) for cell in cells):
        raise FatalUpstreamError(
            f"Google Analytics answered with a row whose {key} do not match its {width} header(s): {row!r}",
            service=SERVICE,
        )
    return [str(cell.get("value", "")) for cell in cells]
