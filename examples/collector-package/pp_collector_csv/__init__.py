"""A collector in a package of its own: each row of a CSV file becomes a Backdrop record.

Query file::

    {"entrypoint": "pp_collector_csv",
     "data-set": {"data-group": "carers-allowance", "data-type": "transactions"},
     "query": {"path": "examples/data/transactions.csv", "dimensions": ["channel"], "metrics": ["count"]},
     "options": {}}

Query keys: `path` (the CSV file, relative to the directory pp-collector runs in), `date` (the
column holding each row's day as YYYY-MM-DD, default "date"), `dimensions` (columns kept as text),
`metrics` (columns read as numbers). `--start`/`--end` keep only the rows of those days. Every
option pp-collector documents (`mappings`, `idMapping`, `additionalFields`, `plugins`,
`chunk-size`, `empty-data-set`) works, because the records are built and pushed by pp-collector's
own record builder and Backdrop client.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from performanceplatform.collector.backdrop import Pusher
from performanceplatform.collector.errors import CollectorError, ConfigurationError
from performanceplatform.collector.records import Row, build_records


def main(
    credentials: Mapping[str, Any],
    data_set_config: Mapping[str, Any],
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> None:
    """Fetch the rows, build the records, push them: what every collector's `main` does."""
    settings = read_query(query)
    # Built before reading anything, so that a bad chunk-size fails before any work is done.
    pusher = Pusher(data_set_config, options)
    rows = read_rows(settings, start_at, end_at)
    records = build_records(rows, options, data_set_config["data-type"])
    pusher.push(records)


def check(
    credentials: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> list[str]:
    """What `pp-collector --check` reports for this collector: problems with the query keys."""
    try:
        read_query(query)
    except ConfigurationError as error:
        return [str(error)]
    return []


def read_query(query: Mapping[str, Any]) -> dict[str, Any]:
    path = query.get("path")
    if not isinstance(path, str) or not path:
        raise ConfigurationError(f"expected the CSV file's path, got {path!r}", source="query", key="path")
    settings: dict[str, Any] = {"path": path, "date": query.get("date", "date")}
    for key in ("dimensions", "metrics"):
        names = query.get(key, [])
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ConfigurationError(f"expected a list of column names, got {names!r}", source="query", key=key)
        settings[key] = names
    return settings


def read_rows(settings: Mapping[str, Any], start_at: datetime | None, end_at: datetime | None) -> list[Row]:
    first = start_at.date() if start_at else date.min
    last = end_at.date() if end_at else date.max
    try:
        with open(settings["path"], newline="", encoding="utf-8") as handle:
            lines = list(csv.DictReader(handle))
    except OSError as error:
        raise ConfigurationError(
            f"cannot read {settings['path']}: {error.strerror}", source="query", key="path"
        ) from None
    rows = []
    for number, line in enumerate(lines, start=2):
        try:
            day = date.fromisoformat(line[settings["date"]])
            dimensions = {name: line[name] for name in settings["dimensions"]}
            metrics = {name: _number(line[name]) for name in settings["metrics"]}
        except (KeyError, ValueError) as error:
            raise CollectorError(f"{settings['path']} line {number}: {error!r}") from None
        if first <= day <= last:
            rows.append(Row(start_date=day, dimensions=dimensions, fields={**metrics, "timeSpan": "day"}))
    return rows


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)
