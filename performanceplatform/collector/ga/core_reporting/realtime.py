"""A `ga.realtime` query asked of Real Time v3: the query's keys are the API's own parameters.

They are passed as they are (`ids`, `metrics`, `filters`, ...: explicit prefixes, no `ga:` added),
as the original did; a null value means the key is not given. The count is the first cell of the
answer, and `for_url` the query's filters as written ("" without any).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from performanceplatform.collector.errors import ConfigurationError, FatalUpstreamError
from performanceplatform.collector.ga.core_reporting.query import MEASUREMENT_ID
from performanceplatform.collector.ga.google_errors import SERVICE
from performanceplatform.collector.ga.query import query_error

REALTIME_VIEW_ID = re.compile(r"ga:\d+", re.ASCII)


@dataclass(frozen=True)
class RealtimeParameters:
    parameters: Mapping[str, Any]

    @property
    def for_url(self) -> str:
        return str(self.parameters.get("filters", ""))

    @property
    def ids(self) -> str:
        return str(self.parameters["ids"])


def realtime_problems(query: Mapping[str, Any], *, source: str | None) -> list[ConfigurationError]:
    if not isinstance(query, Mapping):
        return [ConfigurationError(f"expected an object, got {query!r}", source=source, key="query")]
    problems = []
    ids = query.get("ids")
    if not isinstance(ids, str) or not REALTIME_VIEW_ID.fullmatch(ids.strip()):
        hint = (
            " (that is a GA4 measurement id; a GA4 property is written 'properties/<n>')"
            if isinstance(ids, str) and MEASUREMENT_ID.fullmatch(ids.strip())
            else ""
        )
        problems.append(query_error(
            f"expected the Real Time API's view, such as 'ga:12345678', got {ids!r}{hint}", source, "ids"
        ))
    if not query.get("metrics"):
        problems.append(query_error("expected the metric to count, such as 'rt:activeUsers'", source, "metrics"))
    filters = query.get("filters")
    if filters is not None and not isinstance(filters, str):
        problems.append(query_error(
            f"expected one filter string such as 'rt:pagePath=~^/register', got {filters!r}", source, "filters"
        ))
    return problems


def realtime_parameters(query: Mapping[str, Any], *, source: str | None) -> RealtimeParameters:
    problems = realtime_problems(query, source=source)
    if problems:
        raise problems[0]
    return RealtimeParameters({key: value for key, value in query.items() if value is not None})


def visitor_count(response: Mapping[str, Any]) -> int:
    """The first cell of the answer; no rows means nobody."""
    rows = response.get("rows") or []
    if not rows or not rows[0]:
        return 0
    try:
        return int(rows[0][0])
    except (TypeError, ValueError):
        raise FatalUpstreamError(
            f"Google Analytics answered the Real Time request with a count that is not a whole "
            f"number: {rows[0][0]!r}",
            service=SERVICE,
        ) from None
