"""A `ga.realtime` query for a GA4 property: how many people are on the site right now.

The query keeps the Real Time v3 keys (`ids`, `metrics`, `filters`); it is asked of GA4 with
`runRealtimeReport`: `rt:activeUsers` / `ga:activeVisitors` read `activeUsers`, and `filters` are
translated against the Realtime API's own small schema. That schema has no page path, so a
per-URL count (`ga:pagePath=~^/make-a-sorn$`) has no GA4 equivalent and is refused before any
request, naming the key and the nearest field, unless the GA4 migration file gives a filter on the
page title to ask instead (`realtimeFilters`, keyed by the filter as written: said once a run).

UA counted people active in the last five minutes; GA4's default is thirty, so the request asks
for the last five (`minuteRanges`), keeping the numbers comparable. `for_url` is the query's
filters as written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from performanceplatform.collector.errors import ConfigurationError, FatalUpstreamError, in_query_file
from performanceplatform.collector.ga.data_api.filters import Filters, translate_filters
from performanceplatform.collector.ga.data_api.names import METRIC, SOURCE, Field, bare_name
from performanceplatform.collector.ga.data_api.property_ids import property_from
from performanceplatform.collector.ga.google_errors import SERVICE
from performanceplatform.collector.ga.migration.names import MigratedNames

if TYPE_CHECKING:
    from performanceplatform.collector.ga.migration.map_file import Migration

log = logging.getLogger(__name__)

KEYS = ("ids", "metrics", "filters")
# UA's "right now": people active in the last five minutes (GA4 counts minutes 0 to 4 inclusive).
MINUTE_RANGE = {"startMinutesAgo": 4, "endMinutesAgo": 0}


@dataclass(frozen=True)
class RealtimeQuery:
    property: str
    metric: Field
    filters: Filters = field(default_factory=Filters)
    for_url: str = ""
    # What the request asks instead of what the query wrote (a page title for a page path).
    notes: tuple[str, ...] = ()

    @classmethod
    def from_config(
        cls, query: Mapping[str, Any], *, source: str | None, migration: Migration | None = None
    ) -> RealtimeQuery:
        translated, problems = cls.translate(query, source=source, migration=migration)
        if problems:
            raise problems[0]
        assert translated is not None
        return translated

    @staticmethod
    def translate(
        query: Mapping[str, Any], *, source: str | None, migration: Migration | None = None
    ) -> tuple[RealtimeQuery | None, list[ConfigurationError]]:
        translated, problems = _translate(query, source, migration)
        return translated, [in_query_file(problem, source) for problem in problems]

    def request_body(self) -> dict[str, Any]:
        """The body of `POST v1beta/{property}:runRealtimeReport`."""
        body: dict[str, Any] = {"metrics": [{"name": self.metric.api_name}], "minuteRanges": [dict(MINUTE_RANGE)]}
        if self.filters.dimension_filter is not None:
            body["dimensionFilter"] = self.filters.dimension_filter
        if self.filters.metric_filter is not None:
            body["metricFilter"] = self.filters.metric_filter
        body["returnPropertyQuota"] = True
        return body


def active_count(response: Mapping[str, Any]) -> int:
    """The first row's metric; no rows means nobody."""
    rows = response.get("rows") or []
    cells = rows[0].get("metricValues") if rows and isinstance(rows[0], Mapping) else None
    if not cells:
        return 0
    value = cells[0].get("value") if isinstance(cells[0], Mapping) else cells[0]
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FatalUpstreamError(
            f"Google Analytics answered the realtime request with a count that is not a whole number: {value!r}",
            service=SERVICE,
        ) from None


def _translate(
    query: Mapping[str, Any], source: str | None, migration: Migration | None
) -> tuple[RealtimeQuery | None, list[ConfigurationError]]:
    if not isinstance(query, Mapping):
        return None, [ConfigurationError(f"expected an object, got {query!r}", source=source, key="query")]
    problems: list[ConfigurationError] = []
    for key in query:
        if key not in KEYS:
            why = (
                "a realtime record holds one count, which GA4 would split by dimension"
                if key == "dimensions"
                else "GA4's realtime report is asked with 'ids', 'metrics' and 'filters' only"
            )
            problems.append(ConfigurationError(f"not accepted for a GA4 property: {why}", source=SOURCE, key=key))
    property_ = ""
    try:
        ids = migration.property if migration is not None else query.get("ids")
        property_ = property_from(ids, source=source, key="ids")
    except ConfigurationError as error:
        problems.append(error)
    names = MigratedNames(migration)
    metric = None
    try:
        metric = _metric(query.get("metrics"), names)
    except ConfigurationError as error:
        problems.append(error)
    raw_filters = query.get("filters") or ""
    filters = Filters()
    notes: list[str] = []
    if isinstance(raw_filters, str | list) and all(isinstance(item, str) for item in raw_filters):
        terms = [raw_filters] if isinstance(raw_filters, str) else list(raw_filters)
        written = ",".join(terms)
        stand_in = names.realtime_filter(written) if written else None
        if stand_in is not None:
            # The operator's filter on the page title, for a page path GA4's realtime report lacks.
            terms = [stand_in.ga4]
            notes.append(
                f"the realtime filter {written!r} is asked as {stand_in.ga4!r} (GA4's realtime report has no "
                f"page path), as mapped in {stand_in.origin.source}, key {stand_in.origin.key!r}"
            )
        try:
            filters = translate_filters(
                [term for term in terms if term],
                realtime=True,
                metric_names=frozenset({bare_name(metric.written, realtime=True)}) if metric else frozenset(),
                names=names,
            )
        except ConfigurationError as error:
            problems.append(error)
    else:
        problems.append(
            ConfigurationError(f"expected a filter string such as 'ga:country==United Kingdom', got {raw_filters!r}",
                               source=SOURCE, key="filters")
        )
    if problems or metric is None:
        return None, problems
    for_url = raw_filters if isinstance(raw_filters, str) else ",".join(raw_filters)
    return RealtimeQuery(property_, metric, filters, for_url, tuple(notes)), []


def _metric(value: Any, names: MigratedNames) -> Field:
    written = value.split(",") if isinstance(value, str) else value
    if not isinstance(written, list) or len(written) != 1 or not isinstance(written[0], str) or not written[0].strip():
        raise ConfigurationError(
            f"expected one metric, such as 'rt:activeUsers' (the record holds one count), got {value!r}",
            source=SOURCE,
            key="metrics",
        )
    return names.resolve(written[0].strip(), METRIC, key="metrics", realtime=True)
