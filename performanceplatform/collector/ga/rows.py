"""Core Reporting responses as rows in gapy's shape, and those rows as the record builder's input.

A row is `{"metrics": {name: raw string}, "dimensions": {name: raw string}, "start_date": date,
"end_date": date}`, with names exactly as the query file wrote them and values matched to them by
position (dimensions first, then metrics, the order GA answers in). `dimensions` is absent when the
query has none; a `date` dimension adds gapy's naive `datetime` (`records.gapy_dimensions`).
The record ids of existing data sets depend on this shape, so it is kept as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from performanceplatform.collector import records
from performanceplatform.collector.errors import FatalUpstreamError
from performanceplatform.collector.ga.google_errors import SERVICE
from performanceplatform.collector.ga.query import CoreQuery
from performanceplatform.collector.periods import time_span

GaRow = dict[str, Any]


def rows_from_response(response: Mapping[str, Any], query: CoreQuery, start: date, end: date) -> list[GaRow]:
    """The rows of one response page, in the API's order."""
    start_date, end_date = _echoed_dates(response, start, end)
    width = len(query.dimensions) + len(query.metrics)
    rows = []
    for values in response.get("rows") or []:
        if not isinstance(values, list) or len(values) != width:
            raise FatalUpstreamError(
                f"Google Analytics answered with a row of {_count(values)} values for "
                f"{len(query.dimensions)} dimension(s) and {len(query.metrics)} metric(s): {values!r}",
                service=SERVICE,
            )
        row: GaRow = {
            "metrics": dict(zip(query.metrics, values[len(query.dimensions) :], strict=True)),
            "start_date": start_date,
            "end_date": end_date,
        }
        if query.dimensions:
            row["dimensions"] = records.gapy_dimensions(query.dimensions, values[: len(query.dimensions)])
        rows.append(row)
    return rows


def record_rows(rows: Iterable[GaRow], frequency: str) -> list[records.Row]:
    """The record builder's rows: dimensions as they are, metrics converted plus `timeSpan`."""
    span = time_span(frequency)
    return [
        records.Row(
            start_date=row["start_date"],
            dimensions=row.get("dimensions", {}),
            fields=records.ga_fields(row["metrics"], span),
        )
        for row in rows
    ]


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
