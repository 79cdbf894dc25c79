"""The seam between the GA entrypoints and the two Google APIs that can answer them.

A query whose `id` (`ids` for realtime) is a GA4 property, `properties/<n>`, is answered by the
GA4 Data API (`data_api`: the main path); any other id is a Universal Analytics view, answered
by Core Reporting v3 (`core_reporting`: the legacy source, faithful to the original). `source_for`
is the one place that chooses.

A source owns everything that differs between the two: checking and translating the query for its
API, opening its client, reading a period's rows (every page), trending's fortnight, the realtime
count, and turning its answers into the one row shape (`rows.GaRows`, typed values). The
entrypoints (`ga`, `ga.trending`, `ga.realtime`, `ga.contrib.content.table`) are written once,
against `GaSource`, and read the same whichever source answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from performanceplatform.collector.context import RunContext
    from performanceplatform.collector.errors import ConfigurationError
    from performanceplatform.collector.ga.query import GaQuery
    from performanceplatform.collector.ga.rows import GaRows
    from performanceplatform.collector.ga.trends import TrendingQuery, TrendingRow, TrendingWindow

PROPERTY_PREFIX = "properties/"


class Report(Protocol):
    """A query as one source will ask it."""

    @property
    def frequency(self) -> str: ...


class RealtimeRequest(Protocol):
    """A realtime query as one source will ask it; `for_url` is what the record calls it."""

    @property
    def for_url(self) -> str: ...


class GaSource(Protocol):
    name: str
    # The most concurrent requests the API allows (GA4: 10 per property); None: no cap of its own.
    max_concurrency: int | None

    def report_problems(self, query: GaQuery, *, source: str) -> list[ConfigurationError]:
        """Every reason the API cannot ask `query` (empty when it can)."""
        ...

    def report(self, query: GaQuery, *, source: str) -> Report:
        """`query` as the API asks it; raises the first of `report_problems`."""
        ...

    def trending_report(self, query: TrendingQuery, *, source: str) -> Report: ...

    def trending_problems(self, query: TrendingQuery, *, source: str) -> list[ConfigurationError]: ...

    def realtime_request(self, query: Mapping[str, Any], *, source: str) -> RealtimeRequest: ...

    def realtime_problems(self, query: Mapping[str, Any], *, source: str) -> list[ConfigurationError]: ...

    def open(self, context: RunContext) -> AbstractContextManager[Any]:
        """The API's client for the credentials file's account (closed when the block ends); thread-safe."""
        ...

    def fetch_period(self, client: Any, report: Report, start: date, end: date) -> GaRows:
        """One period's rows, every page of them."""
        ...

    def fetch_trending(self, client: Any, report: Report, window: TrendingWindow) -> list[TrendingRow]: ...

    def realtime_count(self, client: Any, request: RealtimeRequest) -> int: ...

    def probe(self, client: Any, report: Report, day: date) -> None:
        """The smallest request for `report` the API answers (one row of one day): `--check --online`."""
        ...

    def credentials_problems(self, context: RunContext) -> list[str]: ...


def is_property_id(value: Any) -> bool:
    """Whether a query's id names a GA4 property (`properties/<n>`) rather than a UA view."""
    return isinstance(value, str) and value.strip().startswith(PROPERTY_PREFIX)


def source_for(query_id: Any) -> GaSource:
    """The source that answers a query with this `id` (or realtime `ids`): the one place that chooses."""
    if is_property_id(query_id):
        from performanceplatform.collector.ga.data_api import DATA_API

        return DATA_API
    from performanceplatform.collector.ga.core_reporting import CORE_REPORTING

    return CORE_REPORTING
