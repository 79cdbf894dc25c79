"""The seam between the GA entrypoints and the two Google APIs that can answer them.

A query whose `id` (`ids` for realtime) is a GA4 property, `properties/<n>`, or a Universal
Analytics view that the run's GA4 migration file maps to one (`ga.migration.map_file`), is
answered by the GA4 Data API (`data_api`: the main path); any other id is a UA view, answered by
Core Reporting v3 (`core_reporting`: the legacy source, faithful to the original), exactly as
before there was a migration file. `source_for` is the one place that chooses.

A source owns everything that differs between the two: checking and translating the query for its
API, opening its client, reading a period's rows (every page), trending's fortnight, the realtime
count, and turning its answers into the one row shape (`rows.GaRows`, typed values). The
entrypoints (`ga`, `ga.trending`, `ga.realtime`, `ga.contrib.content.table`) are written once,
against `GaSource`, and read the same whichever source answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from performanceplatform.collector.context import RunContext
    from performanceplatform.collector.errors import ConfigurationError
    from performanceplatform.collector.ga.migration.map_file import Ga4Map
    from performanceplatform.collector.ga.query import GaQuery
    from performanceplatform.collector.ga.rows import GaRows
    from performanceplatform.collector.ga.trends import TrendingQuery, TrendingRow, TrendingWindow

log = logging.getLogger(__name__)


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


PROPERTY_PREFIX = "properties/"


def is_property_id(value: Any) -> bool:
    """Whether a query's id names a GA4 property (`properties/<n>`) rather than a UA view."""
    return isinstance(value, str) and value.strip().startswith(PROPERTY_PREFIX)


def source_for(query_id: Any, ga4_map: Ga4Map | None = None) -> GaSource:
    """The source that answers a query with this `id` (or realtime `ids`), under the run's GA4
    migration file and the query's `options.ga4` (`RunContext.ga4_map`): the one place that chooses.

    A GA4 property, or a view the migration file (or the query) gives a property, is asked of
    GA4; any other view of Universal Analytics. A GA4 source is made for the query (and the run):
    it holds the query's migration, and the property metadata it checks names against. No
    migration file (None) maps no view.
    """
    if is_property_id(query_id):
        property_ = query_id.strip()
    else:
        property_ = ga4_map.property_for_view(query_id) if ga4_map is not None else None
    if property_ is not None:
        from performanceplatform.collector.ga.data_api import DataApiSource

        # Without a migration file the property is the query's own id, and nothing is mapped.
        return DataApiSource(ga4_map.migration(property_, query_id) if ga4_map is not None else None)
    from performanceplatform.collector.ga.core_reporting import CORE_REPORTING

    return CORE_REPORTING


def notes_of(request: Report | RealtimeRequest) -> tuple[str, ...]:
    """What a request derives or approximates (a GA4 migration's), to say once a run and list in
    `--check`; a Universal Analytics request has none."""
    return tuple(getattr(request, "notes", ()))


def log_notes(requests: Iterable[Report | RealtimeRequest]) -> None:
    """Say, once a run, what the run's requests derive or approximate."""
    for note in dict.fromkeys(note for request in requests for note in notes_of(request)):
        log.warning("GA4: %s", note)


@dataclass(frozen=True)
class Translation:
    """A GA entrypoint's query as its source will ask it: the requests (a report per content-table
    department), or every reason there are none. `--check`, its notes and the migration report
    (`ga.migration.survey`) read it; a run asks the same source the same way."""

    source: GaSource
    requests: tuple[Any, ...] = ()
    problems: tuple[ConfigurationError, ...] = ()

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(note for request in self.requests for note in notes_of(request)))

    @property
    def approximations(self) -> tuple[str, ...]:
        """The approximations (`ga.migration.approximations`) the requests use."""
        return tuple(dict.fromkeys(
            name for request in self.requests for name in getattr(request, "approximations", ())
        ))
