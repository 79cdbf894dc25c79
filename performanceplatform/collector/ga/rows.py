"""The one row shape both GA sources answer in, and those rows as the record builder's input.

A source turns each answer page into `GaRows`: the dimension and metric names exactly as the query
file wrote them, and per row its period, its dimension values (text, as Google sent them) and its
metric values as numbers (`ga_number`: the original's rule, int when the text is one, else float).
Rows read as gapy's dicts, one by one (`{"metrics": {name: number}, "dimensions": {name: text},
"start_date", "end_date"}`, with gapy's naive `datetime` for a `date` dimension), and
`record_rows` hands them to the record builder without building a dict per row first (a million
rows notice): as a `SourceBatch` the builder reads as they are, or, when a row needs more than its
values picked (an `hour`, `avgSessionDuration`), as a `RowBatch`. The record ids of existing data
sets depend on this shape, so it is kept as it was.

What GA's records do to metrics is here too: `avgSessionDuration` in milliseconds, and the
order the original copied metrics in (`ga_fields`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, overload

from performanceplatform.collector import records
from performanceplatform.collector.errors import CollectorError
from performanceplatform.collector.periods import time_span
from performanceplatform.collector.py2compat import py2_dict_order

GaRow = dict[str, Any]
Number = int | float
RowValues = tuple[date, date, Sequence[str], Sequence[Number]]


@dataclass
class GaRows(Sequence[GaRow]):
    """Rows of one query, as columns: the dimension and metric names as the query wrote them, and
    per row its period, its dimension values and its metric values (numbers), in the names' order.
    Indexing and iterating give gapy rows (`GaRow`).

    `extra_dimension` is a dimension the API adds after the query's own (GA4's `dateRange` for
    named date ranges): the last dimension value of each row, written after gapy's `datetime`.
    """

    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    values: list[RowValues] = field(default_factory=list)
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

    def truncate(self, count: int | None) -> None:
        """Keep the first `count` rows (`maxResults`); None keeps them all."""
        if count is not None:
            del self.values[count:]

    def _row(self, values: RowValues) -> GaRow:
        start_date, end_date, dimension_values, metric_values = values
        row: GaRow = {
            "metrics": dict(zip(self.metrics, metric_values, strict=True)),
            "start_date": start_date,
            "end_date": end_date,
        }
        if self.dimensions or self.extra_dimension:
            dimensions = gapy_dimensions(self.dimensions, dimension_values[: len(self.dimensions)])
            if self.extra_dimension:
                dimensions[self.extra_dimension] = dimension_values[len(self.dimensions)]
            row["dimensions"] = dimensions
        return row


def record_rows(rows: Iterable[GaRow], frequency: str) -> Iterable[records.Row]:
    """The record builder's rows: dimensions as they are, metrics converted plus `timeSpan`.

    `GaRows` become one `records.RowBatch` (the same rows, without a dict per row), unless their
    names are ones a batch cannot hold as gapy's dicts would (see `_batch_layout`).
    """
    span = time_span(frequency)
    if isinstance(rows, GaRows):
        layout = _batch_layout(rows)
        if layout is not None:
            return _source_batch(rows, span, *layout) or _row_batch(rows, span, *layout)
        # gapy read every row's dimensions (its dates) before any record was built.
        rows = list(rows)
    return [
        records.Row(row["start_date"], row.get("dimensions", {}), ga_fields(row["metrics"], span))
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
    fields = (*ga_field_order(rows.metrics), "timeSpan")
    repeated_metric = len(set(rows.metrics)) != len(rows.metrics) or "timeSpan" in rows.metrics
    if repeated_metric or len(set(dimensions)) != len(dimensions):
        return None
    return dimensions, fields


def _source_batch(
    rows: GaRows, span: str, dimension_names: tuple[str, ...], field_names: tuple[str, ...]
) -> records.SourceBatch | None:
    """The rows as the builder reads them straight from `rows.values` (nearly every query): the
    same rows `_row_batch` makes, without making them. None when a row's dimensions or fields need
    more than picking (an `hour` with the `date`, `avgSessionDuration`'s milliseconds, a dimension
    after gapy's `datetime`): `_row_batch` then makes them."""
    if "hour" in rows.dimensions or "avgSessionDuration" in rows.metrics or rows.extra_dimension:
        return None
    dated = "date" in rows.dimensions
    return records.SourceBatch(
        dimension_names,
        field_names,
        (*[rows.metrics.index(name) for name in field_names[:-1]], -1),  # then timeSpan, the constant
        (span,),
        len(rows.metrics),
        rows.values,
        derive=gapy_datetime if dated else None,
        derived_from=rows.dimensions.index("date") if dated else -1,
    )


def _row_batch(
    rows: GaRows, span: str, dimension_names: tuple[str, ...], field_names: tuple[str, ...]
) -> records.RowBatch:
    query_dimensions = len(rows.dimensions)
    dated = "date" in rows.dimensions
    date_at = rows.dimensions.index("date") if dated else -1
    hour_at = rows.dimensions.index("hour") if "hour" in rows.dimensions else -1
    # Where each field's value is, and how it is converted (only avgSessionDuration is).
    metrics_in_order = records.tuple_getter([rows.metrics.index(name) for name in field_names[:-1]])
    duration_at = field_names.index("avgSessionDuration") if "avgSessionDuration" in field_names else -1
    # gapy's datetime goes after the query's own dimensions: mostly the last, so appended.
    datetime_last = query_dimensions == len(rows.dimensions) and not rows.extra_dimension
    batch_rows = []
    append = batch_rows.append
    last_date: Any = None  # a period's rows mostly share their date: it is parsed once in a row
    moment = None
    for start_date, _, dimension_values, metric_values in rows.values:
        if dated:
            date_value = dimension_values[date_at]
            if hour_at >= 0:
                moment = gapy_datetime(date_value, dimension_values[hour_at])
            elif date_value != last_date or moment is None:
                moment = gapy_datetime(date_value)
                last_date = date_value
            if datetime_last:
                dimensions = [*dimension_values, moment]
            else:
                dimensions = list(dimension_values)
                dimensions.insert(query_dimensions, moment)
        else:
            dimensions = list(dimension_values)
        fields: list[Any] = [*metrics_in_order(metric_values), span]
        if duration_at >= 0:
            fields[duration_at] = convert_duration("avgSessionDuration", fields[duration_at])
        append((start_date, dimensions, fields))
    return records.RowBatch(dimension_names, field_names, batch_rows)


# GA's numbers and fields --------------------------------------------------------------------------


def ga_number(raw: object) -> Number:
    """The original's `try_number`: `int(raw)`, else `float(raw)`; numbers too (400.0 → 400).

    Each source reads its answer's metric text with this, once, as the row is read.
    """
    if type(raw) is str and raw.isascii() and raw.isdigit():
        return int(raw)  # what GA sends nearly always: ASCII digits, which int() always reads
    if isinstance(raw, str) and "_" in raw:
        # Python 3 reads "1_000" as a number; Python 2 did not.
        raise CollectorError(f"Google Analytics sent a metric value that is not a number: {raw!r}")
    for cast in (int, float):
        try:
            return cast(raw)  # type: ignore[call-overload,no-any-return]
        except ValueError:
            continue
        except (TypeError, OverflowError):
            break
    raise CollectorError(f"Google Analytics sent a metric value that is not a number: {raw!r}")


def convert_duration(name: str, value: Any) -> Any:
    """`avgSessionDuration` from seconds to milliseconds (times 1000) when truthy; exactly that key."""
    if name == "avgSessionDuration" and value:
        return value * 1000
    return value


def ga_fields(metrics: Mapping[str, Number], span: str) -> dict[str, Any]:
    """A GA row's `Row.fields`: its metrics (durations converted), then `timeSpan` (day/week/month).

    `metrics` maps the names as written in the query, in query order, to the numbers. The result
    iterates in the order the original built its dict in: it copied gapy's metrics dict (itself
    filled in query order) twice before adding `timeSpan`.
    """
    fields: dict[str, Any] = {name: convert_duration(name, metrics[name]) for name in ga_field_order(tuple(metrics))}
    fields["timeSpan"] = span
    return fields


@functools.lru_cache(maxsize=1024)
def ga_field_order(names: tuple[str, ...]) -> tuple[str, ...]:
    """The order of a GA row's metrics in its `Row.fields` (before `timeSpan`): the same for every row of a query."""
    return tuple(py2_dict_order(tuple(py2_dict_order(names))))


def gapy_dimensions(names: Iterable[str], values: Iterable[str]) -> dict[str, Any]:
    """A GA row's `Row.dimensions`, as gapy built them: names (as written in the query) zipped
    with the row's values, plus a naive `datetime` from `date` (and `hour`) when there is a
    dimension called exactly `date`."""
    dimensions: dict[str, Any] = dict(zip(names, values, strict=False))
    if "date" in dimensions:
        dimensions["datetime"] = gapy_datetime(dimensions["date"], dimensions.get("hour", _NO_HOUR))
    return dimensions


_NO_HOUR = object()


def gapy_datetime(date_value: Any, hour_value: Any = _NO_HOUR) -> datetime:
    """gapy's naive `datetime` dimension: from `YYYYMMDD`, or `YYYYMMDDHH` with an `hour` dimension."""
    try:
        if hour_value is _NO_HOUR:
            return _parse_gapy_datetime(date_value, "%Y%m%d")
        return _parse_gapy_datetime(date_value + hour_value, "%Y%m%d%H")
    except (TypeError, ValueError):
        hour = "" if hour_value is _NO_HOUR else hour_value
        raise CollectorError(
            f"Google Analytics sent a date dimension that is not YYYYMMDD(+HH): {date_value!r} {hour!r}"
        ) from None


@functools.lru_cache(maxsize=4096)
def _parse_gapy_datetime(text: str, pattern: str) -> datetime:
    # A period's rows share a handful of dates; strptime is slow enough to matter at a million rows.
    return datetime.strptime(text, pattern)

