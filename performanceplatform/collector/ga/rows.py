"""Core Reporting responses as rows in gapy's shape, and those rows as the record builder's input.

A row is `{"metrics": {name: raw string}, "dimensions": {name: raw string}, "start_date": date,
"end_date": date}`, with names exactly as the query file wrote them and values matched to them by
position (dimensions first, then metrics, the order GA answers in). `dimensions` is absent when the
query has none; a `date` dimension adds gapy's naive `datetime` (`records.gapy_dimensions`).
The record ids of existing data sets depend on this shape, so it is kept as it was.

The fetchers hold a period's rows as `GaRows`: the names once and each row's raw values, which
read as gapy rows one by one (trending, content tables) and which `record_rows` turns into the
record builder's `RowBatch` without building a dict per row first (a million rows notice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, overload

from performanceplatform.collector import records
from performanceplatform.collector.errors import CollectorError, FatalUpstreamError
from performanceplatform.collector.ga.google_errors import SERVICE
from performanceplatform.collector.ga.query import CoreQuery
from performanceplatform.collector.periods import time_span

GaRow = dict[str, Any]


@dataclass
class GaRows(Sequence[GaRow]):
    """Rows of one query, as columns: the dimension and metric names as the query wrote them, and
    per row its period and its raw values in the names' order. Indexing and iterating give gapy
    rows (`GaRow`).

    `extra_dimension` is a dimension the API adds after the query's own (GA4's `dateRange` for
    named date ranges): the last dimension value of each row, written after gapy's `datetime`.
    """

    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    values: list[tuple[date, date, Sequence[str], Sequence[str]]] = field(default_factory=list)
    extra_dimension: str | None = None

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, index: int) -> GaRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[GaRow]: ...
    def __getitem__(self, index: int | slice) -> GaRow | list[GaRow]:
        if isinstance(index, slice):
            return [self._row(values) for values in self.values[index]]
        return self._row(self.values[index])

    def __iter__(self) -> Iterator[GaRow]:
        return map(self._row, self.values)

    def extend(self, more: GaRows) -> None:
        """Add the rows of another page of the same query."""
        if (more.dimensions, more.metrics, more.extra_dimension) != (
            self.dimensions, self.metrics, self.extra_dimension
        ):
            raise ValueError("only rows of the same names can be joined")
        self.values.extend(more.values)

    def _row(self, values: tuple[date, date, Sequence[str], Sequence[str]]) -> GaRow:
        start_date, end_date, dimension_values, metric_values = values
        row: GaRow = {
            "metrics": dict(zip(self.metrics, metric_values, strict=True)),
            "start_date": start_date,
            "end_date": end_date,
        }
        if self.dimensions or self.extra_dimension:
            dimensions = records.gapy_dimensions(self.dimensions, dimension_values[: len(self.dimensions)])
            if self.extra_dimension:
                dimensions[self.extra_dimension] = dimension_values[len(self.dimensions)]
            row["dimensions"] = dimensions
        return row


def page_from_response(response: Mapping[str, Any], query: CoreQuery, start: date, end: date) -> GaRows:
    """The rows of one response page, in the API's order."""
    start_date, end_date = _echoed_dates(response, start, end)
    dimension_count = len(query.dimensions)
    width = dimension_count + len(query.metrics)
    page = GaRows(tuple(query.dimensions), tuple(query.metrics))
    for values in response.get("rows") or []:
        if not isinstance(values, list) or len(values) != width:
            raise FatalUpstreamError(
                f"Google Analytics answered with a row of {_count(values)} values for "
                f"{len(query.dimensions)} dimension(s) and {len(query.metrics)} metric(s): {values!r}",
                service=SERVICE,
            )
        page.values.append((start_date, end_date, values[:dimension_count], values[dimension_count:]))
    return page


def record_rows(rows: Iterable[GaRow], frequency: str) -> Iterable[records.Row]:
    """The record builder's rows: dimensions as they are, metrics converted plus `timeSpan`.

    `GaRows` become one `records.RowBatch` (the same rows, without a dict per row), unless their
    names are ones a batch cannot hold as gapy's dicts would (see `_batch_layout`).
    """
    span = time_span(frequency)
    if isinstance(rows, GaRows):
        layout = _batch_layout(rows)
        if layout is not None:
            return _row_batch(rows, span, *layout)
        # gapy read every row's dimensions (its dates) before any metric was converted.
        rows = list(rows)
    return [
        records.Row(
            start_date=row["start_date"],
            dimensions=row.get("dimensions", {}),
            fields=records.ga_fields(row["metrics"], span),
        )
        for row in rows
    ]


def _batch_layout(rows: GaRows) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The batch's dimension and field names, in the order gapy's dicts and `ga_fields` have
    them; None when a name repeats or collides with one gapy or `ga_fields` adds (a dict would
    hold one value where the batch has two)."""
    dimensions = rows.dimensions
    if "date" in dimensions:
        dimensions += ("datetime",)
    if rows.extra_dimension:
        dimensions += (rows.extra_dimension,)
    fields = (*records.ga_field_order(rows.metrics), "timeSpan")
    repeated_metric = len(set(rows.metrics)) != len(rows.metrics) or "timeSpan" in rows.metrics
    if repeated_metric or len(set(dimensions)) != len(dimensions):
        return None
    return dimensions, fields


def _row_batch(
    rows: GaRows, span: str, dimension_names: tuple[str, ...], field_names: tuple[str, ...]
) -> records.RowBatch:
    query_dimensions = len(rows.dimensions)
    dated = "date" in rows.dimensions
    date_at = rows.dimensions.index("date") if dated else -1
    hour_at = rows.dimensions.index("hour") if "hour" in rows.dimensions else -1
    # Each field's converter, and where its raw value is.
    converters: list[tuple[Callable[[Any], Any], int]] = [
        (_avg_session_duration if name == "avgSessionDuration" else records.ga_number, rows.metrics.index(name))
        for name in field_names[:-1]
    ]
    batch_rows = []
    last_date: Any = None  # a period's rows mostly share their date: it is parsed once in a row
    moment = None
    for start_date, _, dimension_values, metric_values in rows.values:
        dimensions = list(dimension_values)
        if dated:
            date_value = dimension_values[date_at]
            if hour_at >= 0:
                moment = records.gapy_datetime(date_value, dimension_values[hour_at])
            elif date_value != last_date or moment is None:
                moment = records.gapy_datetime(date_value)
                last_date = date_value
            dimensions.insert(query_dimensions, moment)
        try:
            fields = [convert(metric_values[at]) for convert, at in converters]
        except CollectorError:
            # The error the original met first: a bad date anywhere in the rows (gapy read them
            # all before any metric was converted), else this row's metrics in the order it
            # converted them.
            list(rows)
            records.ga_fields(dict(zip(rows.metrics, metric_values, strict=True)), span)
            raise
        fields.append(span)
        batch_rows.append((start_date, dimensions, fields))
    return records.RowBatch(dimension_names, field_names, batch_rows)


def _avg_session_duration(raw: object) -> Any:
    return records.convert_metric("avgSessionDuration", raw)


def _echoed_dates(response: Mapping[str, Any], start: date, end: date) -> tuple[date, date]:
    """The period the response says it covers (gapy read it back from the `query` echo)."""
    echo = response.get("query")
    if not isinstance(echo, Mapping):
        return start, end
    try:
        return (
            datetime.strptime(str(echo.get("start-date", start)), "%Y-%m-%d").date(),
            datetime.strptime(str(echo.get("end-date", end)), "%Y-%m-%d").date(),
        )
    except ValueError:
        raise FatalUpstreamError(
            f"Google Analytics echoed a period that is not a pair of dates: {echo.get('start-date')!r} "
            f"to {echo.get('end-date')!r}",
            service=SERVICE,
        ) from None


def _count(values: Any) -> int | str:
    return len(values) if isinstance(values, list) else "no list of"
