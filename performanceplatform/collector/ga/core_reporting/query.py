"""A `ga` query asked of Core Reporting v3, as gapy (the original's GA library) asked it.

The same query file asks Google the same question: every metric, dimension, filter and sort item
gets a `ga:` prefix unless it already has one (a sort's leading `-` stays in front of it), list
items are comma-joined (for filters that is GA's OR), `sort: []` and `maxResults: 0` mean "not
given", and empty lists are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from performanceplatform.collector.ga.query import GA_PREFIX, GaQuery, ga_list_parameter, prefix_ga, query_error

VIEW_ID = re.compile(r"(ga:)?\d+", re.ASCII)
MEASUREMENT_ID = re.compile(r"G-[A-Z0-9]+", re.ASCII)


@dataclass(frozen=True)
class CoreQuery:
    """One Core Reporting query: the view, and what the query file asks of it."""

    view_id: str
    query: GaQuery

    @property
    def frequency(self) -> str:
        return self.query.frequency

    @property
    def max_results(self) -> int | None:
        return self.query.max_results

    @property
    def dimensions(self) -> tuple[str, ...]:
        return self.query.dimensions

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.query.metrics

    @classmethod
    def of(cls, query: GaQuery, *, source: str | None, key: str = "id") -> CoreQuery:
        return cls(view_id_from(query.id, source=source, key=key), query)

    def api_parameters(self, start: date, end: date) -> dict[str, Any]:
        """Keyword arguments of `data().ga().get()` for one period; absent ones are left out."""
        query = self.query
        parameters: dict[str, Any] = {
            "ids": prefix_ga(self.view_id),
            "start_date": start.strftime("%Y-%m-%d"),
            "end_date": end.strftime("%Y-%m-%d"),
            "metrics": ga_list_parameter(query.metrics),
            "dimensions": ga_list_parameter(query.dimensions),
            "filters": ga_list_parameter(query.filters),
            "sort": ga_list_parameter(query.sort),
            "max_results": query.max_results,
            "segment": query.segment,
        }
        return {name: value for name, value in parameters.items() if value is not None}


def view_id_from(value: Any, *, source: str | None, key: str = "id") -> str:
    """The view (profile) number without its `ga:` prefix, as the original stripped it."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and VIEW_ID.fullmatch(text):
        return text.replace(GA_PREFIX, "")
    if isinstance(text, str) and MEASUREMENT_ID.fullmatch(text):
        raise query_error(
            f"{value!r} is a GA4 measurement id (it tags pages, it does not name what to read): "
            "a GA4 property is written 'properties/<n>', with the property's number from its settings",
            source,
            key,
        )
    raise query_error(
        f"expected a GA4 property such as 'properties/123456789' or a Universal Analytics view such as "
        f"'ga:12345678', got {value!r}",
        source,
        key,
    )


