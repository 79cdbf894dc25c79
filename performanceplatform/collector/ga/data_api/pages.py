"""Reading a GA4 report's rows: every page of one `runReport` query, in the one GA row shape.

Pages are read with `offset` (the rows read so far) until `rowCount` rows have been read, a page
comes back empty, or `maxResults` rows have been read for the period (it is also each page's
`limit`, so no more are asked for). Rows keep GA4's order. GA4's warnings about the numbers
(`metadata`: sampling, thresholding, rows rolled into "(other)") are logged once per report, naming
its period, and the rows are collected all the same, as sampled v3 data was.

A `runReport` row is `{"dimensionValues": [{"value"}], "metricValues": [{"value"}]}`, every value a
string, in the order of `dimensionHeaders` / `metricHeaders`. Values are found by header name, not
position (GA4 adds a `dateRange` dimension when a request has several date ranges), and each
field of the query gets its value under the name the query wrote: `users` rather than
`totalUsers`, UA's percentage for `bounceRate`, UA's `New Visitor` for `userType`, a derived
`percentNewSessions` (newUsers / sessions * 100), `(not set)` for a dimension a migration
dropped. Metric text is read as a number once (`rows.ga_number`, the original's rule); a scaled
metric is scaled as an exact decimal, so the rows, and the records built from them, are the v3
collector's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from itertools import chain
from typing import Any, Protocol

from performanceplatform.collector.errors import CollectorError, FatalUpstreamError
from performanceplatform.collector.ga.data_api.names import DROPPED_VALUE, Field
from performanceplatform.collector.ga.data_api.query import DateRange, ReportQuery
from performanceplatform.collector.ga.data_api.schema import DATE_RANGE
from performanceplatform.collector.ga.google_errors import SERVICE
from performanceplatform.collector.ga.rows import GaRows, Number, RowValues, ga_number

log = logging.getLogger(__name__)


class ReportClient(Protocol):
    def run_report(self, property_: str, body: Mapping[str, Any], *, what: str) -> dict[str, Any]: ...


def fetch_report(client: ReportClient, query: ReportQuery, date_ranges: Sequence[DateRange]) -> GaRows:
    """The rows of one report over `date_ranges` (one period, or trending's two named weeks)."""
    period = ", ".join(str(date_range) for date_range in date_ranges)
    log.debug("Querying GA4 %s for data in the period: %s", query.property, period)
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
            rows.truncate(query.max_results)
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
    log.debug("%d row(s) for %s", len(rows), period)
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
    # GA4's value, or the value UA wrote instead (`values`, for the few fields that have them);
    # a dropped dimension is at no position (-1) and reads DROPPED_VALUE.
    dimension_cells = [
        (-1, None) if d.dropped else (dimension_at[d.api_name], d.values or None) for d in query.dimensions
    ]
    # A derived metric also reads its divisor (`per`), at a position of its own.
    metric_cells = [(metric_at[metric.api_name], metric) for metric in query.metrics]
    divisor_at = {metric.per: metric_at[metric.per] for metric in query.metrics if metric.per}
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
        metric.scale == 1 and not metric.per for _, metric in metric_cells
    )
    only_range = date_ranges[0]
    dimension_width, metric_width = len(dimension_names), len(metric_names)
    rows = response.get("rows") or []
    if plain_dimensions and plain_metrics and not named_ranges:
        plain = _plain_rows(rows, dimension_width, metric_width, only_range)
        if plain is not None:
            page.values.extend(plain)
            return page
    for row in rows:
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
                DROPPED_VALUE if at < 0
                else dimension_values[at] if values is None
                else values.get(dimension_values[at], dimension_values[at])
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
        if plain_metrics:
            numbers = [ga_number(text) for text in metric_values]
        else:
            numbers = [
                derived_number(metric, metric_values[at], metric_values[divisor_at[metric.per]]) if metric.per
                else ga_number(metric_values[at]) if metric.scale == 1
                else scaled_number(metric, metric_values[at])
                for at, metric in metric_cells
            ]
        page.values.append((date_range.start, date_range.end, dimension_values, numbers))
    return page


def _plain_rows(
    rows: Any, dimension_width: int, metric_width: int, date_range: DateRange
) -> list[RowValues] | None:
    """The rows of a page whose fields are all read as GA4 sent them, in its order (nearly every
    page), read with the least work a row: the same values `page_from_response`'s general loop
    reads. None when a row is anything but GA4's usual shape (a value left out, not a string, a
    row that does not match the headers): the general loop then reads the page and says what is
    wrong with it."""
    start, end = date_range.start, date_range.end
    read: list[RowValues] = []
    append = read.append
    try:
        for row in rows:
            dimension_values = [cell["value"] for cell in row["dimensionValues"]]
            # `ga_number`'s own first case (ASCII digits: an int), without a call for each value, and
            # without a list of the texts first; a value that is not text has no isdigit (AttributeError).
            numbers = [
                int(text) if (text := cell["value"]).isdigit() and text.isascii() else ga_number(text)
                for cell in row["metricValues"]
            ]
            if len(dimension_values) != dimension_width or len(numbers) != metric_width:
                return None
            append((start, end, dimension_values, numbers))
    except (KeyError, TypeError, AttributeError, CollectorError):
        return None
    # The general loop reads each value with str(); GA4 sends strings, and anything else goes there.
    if not set(map(type, chain.from_iterable(values[2] for values in read))) <= {str}:
        return None
    return read


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


def scaled_number(metric: Field, text: str) -> Number:
    """UA's number for a GA4 value it reported on another scale (a fraction as a percentage).

    The text is read as an exact decimal and scaled, then made an int or a float by the rule
    `ga_number` applies to the text a UA answer would have held: an int only when it had no
    fraction and no exponent.
    """
    try:
        value = Decimal(text) * metric.scale
    except InvalidOperation:
        return ga_number(text)  # not a number: ga_number says so, naming the value
    if not value.is_finite():
        return ga_number(str(value))
    return int(value) if value.as_tuple().exponent == 0 else float(value)


def derived_number(metric: Field, numerator: str, divisor: str) -> Number:
    """A metric GA4 derives from two (`percentNewSessions`: newUsers / sessions * 100), as UA
    answered it: a float, and 0.0 when there is nothing to divide by (UA's "0.0")."""
    top, bottom = ga_number(numerator), ga_number(divisor)
    if not bottom:
        return 0.0
    return float(Decimal(top) * metric.scale / Decimal(bottom))


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
