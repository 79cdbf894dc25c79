"""A `ga` query file's query (`ga.query.GaQuery`) for a GA4 property, as Data API `runReport` requests.

The query is translated: `metrics` and `dimensions` through the name table (`names`, as the
query's GA4 migration extends it: `ga.migration.names`), `filters` into `dimensionFilter` /
`metricFilter` (`filters`), `sort` into `orderBys`, `maxResults` into `limit` (and a cap on the
rows read per period). Whatever has no GA4 equivalent (a `segment` unless its approximation is
accepted, a name GA4 lacks, an OR of a metric and a dimension) is refused before any request;
`translate` returns every such problem, naming the query file, for `--check`, and
`ReportQuery.of` raises the first. What a translation derives or approximates is in its `notes`
(said once a run, and by `--check`) and `approximations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import Any

from performanceplatform.collector.errors import ConfigurationError, in_query_file
from performanceplatform.collector.ga.data_api import schema
from performanceplatform.collector.ga.data_api.filters import Filters, field_names, translate_filters
from performanceplatform.collector.ga.data_api.names import DIMENSION, METRIC, SOURCE, Field, NameTable, bare_name
from performanceplatform.collector.ga.data_api.property_ids import property_from
from performanceplatform.collector.ga.migration.approximations import SEGMENT as SEGMENT_AS_PAGE_FILTER
from performanceplatform.collector.ga.migration.map_file import Migration, Origin
from performanceplatform.collector.ga.migration.names import MigratedNames
from performanceplatform.collector.ga.query import GaQuery

# GA4's own default page; the API allows up to 250,000 rows per request.
PAGE_SIZE = 10_000


@dataclass(frozen=True)
class DateRange:
    """One `dateRanges` item: a period, named when a request has several (trending's weeks)."""

    start: date
    end: date
    name: str | None = None

    def body(self) -> dict[str, str]:
        body = {"startDate": self.start.isoformat(), "endDate": self.end.isoformat()}
        if self.name:
            body["name"] = self.name
        return body

    def __str__(self) -> str:
        text = f"{self.start} to {self.end}"
        return f"{self.name} ({text})" if self.name else text


@dataclass(frozen=True)
class ReportQuery:
    """What one `runReport` query asks for, in GA4's terms, keeping the names the query used.

    `notes` say what is derived or approximated (once a run, and by `--check`), `approximations`
    name the accepted ones used; `mapped_at` is where the migration mapped each GA4 name it gave,
    and `check_metadata` whether the property's metadata must confirm the names before the first
    request (a migrated query, or one naming fields only the property defines); `source` names
    the query file.
    """

    property: str
    metrics: tuple[Field, ...]
    dimensions: tuple[Field, ...] = ()
    filters: Filters = field(default_factory=Filters)
    order_bys: tuple[dict[str, Any], ...] = ()
    max_results: int | None = None
    frequency: str = "weekly"
    notes: tuple[str, ...] = ()
    approximations: tuple[str, ...] = ()
    mapped_at: Mapping[str, Origin] = field(default_factory=dict)
    check_metadata: bool = False
    source: str | None = None

    @classmethod
    def of(cls, query: GaQuery, *, source: str | None, migration: Migration | None = None) -> ReportQuery:
        """`query`, whose id is a `properties/<n>` (or a view its migration maps), as GA4 asks it;
        raises the first problem."""
        translated, problems = translate(query, source=source, migration=migration)
        if problems:
            raise problems[0]
        assert translated is not None  # no problems means a translation
        return translated

    @property
    def api_metrics(self) -> tuple[str, ...]:
        """GA4's metric names, each once: `users` and `visitors` both read `totalUsers`."""
        return tuple(dict.fromkeys(name for metric in self.metrics for name in metric.api_names))

    @property
    def api_dimensions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for dimension in self.dimensions for name in dimension.api_names))

    def field_names(self) -> tuple[frozenset[str], frozenset[str]]:
        """Every GA4 dimension and metric name a request names, filters included."""
        dimensions = set(self.api_dimensions)
        metrics = set(self.api_metrics)
        if self.filters.dimension_filter is not None:
            dimensions.update(field_names(self.filters.dimension_filter))
        if self.filters.metric_filter is not None:
            metrics.update(field_names(self.filters.metric_filter))
        return frozenset(dimensions), frozenset(metrics)

    def request_body(self, date_ranges: Sequence[DateRange], *, offset: int, limit: int) -> dict[str, Any]:
        """The body of `POST v1beta/{property}:runReport` for one page."""
        body: dict[str, Any] = {
            "dateRanges": [date_range.body() for date_range in date_ranges],
            "metrics": [{"name": name} for name in self.api_metrics],
        }
        if self.dimensions:
            body["dimensions"] = [{"name": name} for name in self.api_dimensions]
        if self.filters.dimension_filter is not None:
            body["dimensionFilter"] = self.filters.dimension_filter
        if self.filters.metric_filter is not None:
            body["metricFilter"] = self.filters.metric_filter
        if self.order_bys:
            body["orderBys"] = list(self.order_bys)
        # int64 fields are strings in the API's JSON.
        body.update(offset=str(offset), limit=str(limit), returnPropertyQuota=True)
        return body

    def page_limit(self, rows_read: int) -> int:
        """The `limit` of the next page: a full page, or what is left of `maxResults`."""
        if self.max_results is None:
            return PAGE_SIZE
        return max(1, min(PAGE_SIZE, self.max_results - rows_read))


def translate(
    shape: GaQuery, *, source: str | None, migration: Migration | None = None
) -> tuple[ReportQuery | None, list[ConfigurationError]]:
    """The GA4 report for `shape`, or every reason there is none (each naming the query file).

    `migration` (`ga.sources.source_for` finds it) gives the property of a UA view and what the
    operator mapped and accepted for it; without one, the id must be a property.
    """
    translated, problems = _translate(shape, source, migration)
    return translated, [in_query_file(problem, source) for problem in problems]


def _translate(
    shape: GaQuery, source: str | None, migration: Migration | None
) -> tuple[ReportQuery | None, list[ConfigurationError]]:
    problems: list[ConfigurationError] = []
    try:
        property_ = property_from(migration.property if migration is not None else shape.id, source=source)
    except ConfigurationError as error:
        problems.append(error)
        property_ = ""
    names = MigratedNames(migration, shape.metrics)
    metric_names = frozenset(bare_name(name) for name in shape.metrics)
    notes: list[str] = []
    approximated: list[str] = []
    segment = Filters()
    if shape.segment is not None:
        try:
            condition, note = names.segment_condition(shape.segment)
            segment = _segment_filters(condition, metric_names, names)
            notes.append(note)
            approximated.append(SEGMENT_AS_PAGE_FILTER)
        except ConfigurationError as error:
            problems.append(error)
    metrics = _fields(shape.metrics, METRIC, "metrics", problems, names)
    dimensions = _fields(shape.dimensions, DIMENSION, "dimensions", problems, names)
    filters = Filters()
    try:
        filters = translate_filters(shape.filters, metric_names=metric_names, names=names)
    except ConfigurationError as error:
        problems.append(error)
    order_bys = _order_bys(shape.sort, metrics, dimensions, problems)
    if problems:
        return None, problems
    fields = (*metrics, *dimensions)
    notes.extend(f.note for f in fields if f.note)
    report = ReportQuery(
        property=property_,
        metrics=tuple(metrics),
        dimensions=tuple(dimensions),
        filters=filters.and_also(segment),
        order_bys=tuple(order_bys),
        max_results=shape.max_results,
        frequency=shape.frequency,
        notes=tuple(dict.fromkeys(notes)),
        approximations=tuple(dict.fromkeys([*approximated, *(f.approximation for f in fields if f.approximation)])),
        mapped_at=MappingProxyType(dict(names.origins)),
        source=source,
    )
    dimension_names, metric_names_asked = report.field_names()
    property_specific = any(schema.is_property_specific(name) for name in dimension_names | metric_names_asked)
    check = (migration is not None and migration.mapped) or property_specific
    return replace(report, check_metadata=check), []


def _segment_filters(condition: str, metric_names: frozenset[str], names: NameTable) -> Filters:
    """A segment's condition as a filter on pages; a condition on a metric cannot be one."""
    filters = translate_filters([condition], metric_names=metric_names, names=names, key="segment")
    if filters.metric_filter is not None:
        raise ConfigurationError(
            f"{condition!r} is a condition on a metric, which is counted per session in a segment but per "
            "row in a filter: GA4 has no equivalent",
            source=SOURCE,
            key="segment",
            reason="segment that cannot be a filter",
        )
    return filters


def _fields(
    names: Iterable[str], kind: str, key: str, problems: list[ConfigurationError], table: NameTable
) -> list[Field]:
    fields = []
    for name in names:
        try:
            fields.append(table.resolve(name, kind, key=key))
        except ConfigurationError as error:
            problems.append(error)
    return fields


def _order_bys(
    sort: Iterable[str], metrics: list[Field], dimensions: list[Field], problems: list[ConfigurationError]
) -> list[dict[str, Any]]:
    """`-sessions` → `{"metric": {"metricName": "sessions"}, "desc": true}`, on the query's own fields."""
    order_bys = []
    for item in sort:
        descending = item.startswith("-")
        name = bare_name(item[1:] if descending else item)
        chosen = next((f for f in (*metrics, *dimensions) if bare_name(f.written) == name), None)
        if chosen is not None and (chosen.per or chosen.dropped):
            what = "is derived from two GA4 metrics" if chosen.per else "is dropped from the GA4 request"
            problems.append(
                ConfigurationError(
                    f"{item!r}: {chosen.written!r} {what}, so GA4 cannot sort by it",
                    source="query", key="sort", reason=f"sort by {name}",
                )
            )
            continue
        if chosen is None:
            problems.append(
                ConfigurationError(
                    f"{item!r} sorts on a field the query does not ask for; GA4, like Core "
                    "Reporting, sorts only by the query's own metrics and dimensions",
                    source="query",
                    key="sort",
                )
            )
            continue
        order: dict[str, Any] = (
            {"metric": {"metricName": chosen.api_name}}
            if chosen.is_metric
            else {"dimension": {"dimensionName": chosen.api_name}}
        )
        order["desc"] = descending
        order_bys.append(order)
    return order_bys

