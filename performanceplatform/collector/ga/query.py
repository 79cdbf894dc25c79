"""A `ga` query file's `query` object, checked, and turned into Core Reporting API v3 parameters.

The parameters are built exactly as gapy (the original's GA library) built them, so the same query
file asks Google the same question: every metric, dimension, filter and sort item gets a `ga:`
prefix unless it already has one (a sort's leading `-` stays in front of it), list items are
comma-joined (for filters that is GA's OR), `sort: []` and `maxResults: 0` mean "not given", and
empty lists are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.periods import DEFAULT_FREQUENCY, check_frequency

GA_PREFIX = "ga:"
# GA4 property ids (`properties/<n>`) belong to the Data API, a different backend (`ga.ga4`).
GA4_PREFIX = "properties/"
SOURCE = "query"


def prefix_ga(name: str) -> str:
    """`foo` → `ga:foo`, `-foo` → `-ga:foo`; already prefixed names are left alone (gapy's rule)."""
    sign = ""
    if name.startswith("-"):
        sign, name = "-", name[1:]
    if name.startswith(GA_PREFIX):
        return sign + name
    return sign + GA_PREFIX + name


def ga_list_parameter(values: Sequence[str]) -> str | None:
    """gapy's list parameter: each item prefixed, comma-joined; None when there are no items."""
    return ",".join(prefix_ga(value) for value in values) or None


@dataclass(frozen=True)
class CoreQuery:
    """What one Core Reporting query asks for. Names are kept as written: records use them as keys."""

    view_id: str
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    sort: tuple[str, ...] = ()
    max_results: int | None = None
    segment: str | None = None
    frequency: str = DEFAULT_FREQUENCY

    @classmethod
    def from_config(cls, query: Mapping[str, Any]) -> CoreQuery:
        """Check the query object of a `ga` query file (reference §2.1) and keep what it asks for."""
        if not isinstance(query, Mapping):
            raise ConfigurationError(f"expected an object, got {query!r}", key=SOURCE)
        metrics = _names(query, "metrics", required=True)
        max_results = query.get("maxResults")
        if max_results is not None and (
            isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 0
        ):
            raise ConfigurationError(
                f"expected a whole number of rows (0 for no limit), got {max_results!r}",
                source=SOURCE,
                key="maxResults",
            )
        segment = query.get("segment")
        if segment is not None and not isinstance(segment, str):
            raise ConfigurationError(
                f"expected a segment string such as 'gaid::-1', got {segment!r}",
                source=SOURCE,
                key="segment",
            )
        frequency = query.get("frequency", DEFAULT_FREQUENCY)
        try:
            check_frequency(frequency)
        except ConfigurationError as error:
            raise ConfigurationError(error.detail, source=SOURCE, key="frequency") from None
        return cls(
            view_id=view_id_from(query.get("id")),
            metrics=metrics,
            dimensions=_names(query, "dimensions"),
            filters=_names(query, "filters", allow_empty_string=True),
            sort=_names(query, "sort"),
            # The original treated 0 as "no limit", and four production files rely on it.
            max_results=max_results or None,
            segment=segment or None,
            frequency=frequency,
        )

    def api_parameters(self, start: date, end: date) -> dict[str, Any]:
        """Keyword arguments of `data().ga().get()` for one period; absent ones are left out."""
        parameters: dict[str, Any] = {
            "ids": prefix_ga(self.view_id),
            "start_date": start.strftime("%Y-%m-%d"),
            "end_date": end.strftime("%Y-%m-%d"),
            "metrics": ga_list_parameter(self.metrics),
            "dimensions": ga_list_parameter(self.dimensions),
            "filters": ga_list_parameter(self.filters),
            "sort": ga_list_parameter(self.sort),
            "max_results": self.max_results,
            "segment": self.segment,
        }
        return {name: value for name, value in parameters.items() if value is not None}


def view_id_from(value: Any) -> str:
    """The view (profile) number without its `ga:` prefix, as the original stripped it."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.startswith(GA4_PREFIX):
        raise ConfigurationError(
            f"{value!r} is a GA4 property; Core Reporting reads Universal Analytics views only "
            "(ids such as 'ga:12345678'), and GA4 queries go to the Data API (`ga.ga4`)",
            source=SOURCE,
            key="id",
        )
    if not isinstance(value, str) or not value.replace(GA_PREFIX, "").strip():
        raise ConfigurationError(
            f"expected the Google Analytics view id, such as 'ga:12345678', got {value!r}",
            source=SOURCE,
            key="id",
        )
    return value.replace(GA_PREFIX, "")


def _names(
    query: Mapping[str, Any], key: str, *, required: bool = False, allow_empty_string: bool = False
) -> tuple[str, ...]:
    """A list-or-string key as a tuple of non-empty strings (a string is a one-item list, as in gapy)."""
    value = query.get(key)
    if value is None or (allow_empty_string and value == ""):
        value = []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ConfigurationError(
            f"expected a list of names (or one name as a string), got {value!r}",
            source=SOURCE,
            key=key,
        )
    if required and not value:
        raise ConfigurationError("expected at least one name", source=SOURCE, key=key)
    return tuple(value)
