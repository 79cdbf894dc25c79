"""What Matomo answered, read into rows for the record builder (core) or a visitor count (realtime).

A report over several periods comes back as an object keyed by period: `"2015-02-13"` (a day),
`"2015-02"` (a month), and for a week `"From 2015-02-02 to 2015-02-08"` (Piwik 2.x) or
`"2015-02-02,2015-02-08"` (Piwik 3 and later). Each value is a list of rows (a report such as
`DevicesDetection.getType`) or one object (a numeric method such as `Goals.get`), which counts as a
list of one. A period starts at the first `YYYY-MM-DD` or `YYYY-MM` in its key.

Each row becomes a `Row` whose fields are `{target: row[source]}` for each `options.mappings` pair,
then `timeSpan`: only mapped columns reach the records, with their JSON types, in the order the
original put them into its dict (Python 2's order of `mappings`), so that the record builder
makes the original's records, ids included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from performanceplatform.collector.errors import ConfigurationError, FatalUpstreamError
from performanceplatform.collector.options import Options
from performanceplatform.collector.piwik.client import SERVICE
from performanceplatform.collector.py2compat import py2_dict_order
from performanceplatform.collector.records import Row

# The original's pattern; ASCII digits only, as Python 2's byte-string pattern matched.
_PERIOD_START = re.compile(r"\d{4}-\d{2}(-\d{2})?", re.ASCII)
MAX_SHOWN = 300


def mappings_from(options: Options, *, source: str | None = None) -> Mapping[str, str]:
    """`options.mappings` (its shape checked with the other options): required, since only the
    columns it names reach the records."""
    if options.raw.get("mappings") is None:
        raise ConfigurationError(
            "is required for Matomo queries: only the columns it names reach the records "
            '(such as {"label": "browser", "nb_visits": "sessions"})',
            source=source,
            key="options.mappings",
        )
    return options.mappings


def period_rows(answer: Any, mappings: Mapping[str, str], time_span: str, method: str) -> list[list[Row]]:
    """The rows of each period of a report answer, periods in date order."""
    if not isinstance(answer, dict):
        raise _unexpected(
            method,
            f"expected an object keyed by period, got {_shown(answer)} (does api_method_arguments set a "
            "single date? Ask for a range, or leave the dates to pp-collector)",
        )
    periods = sorted(((period_start(key, method), key, value) for key, value in answer.items()),
                     key=lambda period: period[0])
    order = py2_dict_order(mappings)
    return [
        [_row(start, key, row, mappings, order, time_span, method) for row in _rows_of(key, value, method)]
        for start, key, value in periods
    ]


def period_start(key: str, method: str) -> date:
    """The first day of the period a key names: its first `YYYY-MM-DD`, or `YYYY-MM` (the 1st)."""
    match = _PERIOD_START.search(key)
    if match is None:
        raise _unexpected(method, f"a key that names no period: {key!r} (expected an object keyed by period)")
    text = match.group()
    try:
        return date(int(text[:4]), int(text[5:7]), int(text[8:10]) if len(text) == 10 else 1)
    except ValueError:
        raise _unexpected(method, f"a period key with an impossible date: {key!r}") from None


def visitor_count(answer: Any, method: str) -> int:
    """`visitors` of `Live.getCounters`' one row: a number (Matomo) or a string of digits (Piwik 2)."""
    first = answer[0] if isinstance(answer, list) and answer else None
    visitors = first.get("visitors") if isinstance(first, dict) else None
    if isinstance(visitors, str) and visitors.strip().isdigit():
        return int(visitors)
    if isinstance(visitors, int) and not isinstance(visitors, bool):
        return visitors
    if isinstance(visitors, float) and visitors.is_integer():
        return int(visitors)
    raise _unexpected(method, f"expected [{{\"visitors\": <a count>, ...}}], got {_shown(answer)}")


def _rows_of(key: str, value: Any, method: str) -> list[dict[str, Any]]:
    rows = [value] if isinstance(value, dict) else value
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise _unexpected(method, f"period {key!r} holds neither rows nor an object: {_shown(value)}")
    return rows


def _row(
    start: date,
    key: str,
    row: dict[str, Any],
    mappings: Mapping[str, str],
    order: list[str],
    time_span: str,
    method: str,
) -> Row:
    missing = [source for source in mappings if source not in row]
    if missing:
        raise ConfigurationError(
            f"maps {', '.join(repr(source) for source in missing)}, which {SERVICE}'s {method} answer does not "
            f"have (period {key!r}); its columns are {', '.join(repr(column) for column in row) or 'none'}",
            key="options.mappings",
        )
    fields = {}
    for source in order:
        fields[mappings[source]] = row[source]
    fields["timeSpan"] = time_span
    return Row(start, {}, fields)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def _unexpected(method: str, detail: str) -> FatalUpstreamError:
    return FatalUpstreamError(f"{SERVICE} answered {method} unexpectedly: {detail}", service=SERVICE)
