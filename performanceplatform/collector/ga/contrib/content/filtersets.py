"""A content table's filtersets: one filter list per department (`options.filtersets`).

For each filterset, the query's filters and the set's are AND-ed (`;`) into one filter, and the
set's first filter names the department (`dimension9=~^<D1>` → `<D1>` → its slug in the run's
department table, `attorney-generals-office`). Nothing here depends on which Google source asks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from performanceplatform.collector.departments import department_for as lookup_department
from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.query import prefix_ga, query_error

DEPARTMENT_SEPARATOR = re.compile(r"=~\^")
KEY = "options.filtersets"


def filtersets_from(options: Mapping[str, Any], *, source: str | None) -> list[list[str]]:
    filtersets = options.get("filtersets")
    if not isinstance(filtersets, list) or not all(
        isinstance(filterset, list) and all(isinstance(item, str) and item for item in filterset)
        for filterset in filtersets
    ):
        raise ConfigurationError(
            "expected a list of filter lists, such as [[\"dimension9=~^<D1>\"], [\"dimension9=~^<D2>\"]], "
            f"got {filtersets!r}",
            source=source,
            key=KEY,
        )
    return filtersets


def combined_filter(query_filters: Any, filterset: Sequence[str], *, source: str | None) -> str:
    """The query's filters and the set's, AND-ed; `ga:` on all but the first, which gapy prefixes."""
    if query_filters is None or query_filters == "":
        query_filters = []
    if isinstance(query_filters, str):
        query_filters = [query_filters]
    if not isinstance(query_filters, list) or not all(isinstance(item, str) and item for item in query_filters):
        raise query_error(f"expected a list of filters, got {query_filters!r}", source, "filters")
    terms = [*query_filters, *filterset]
    # The original added `ga:` blindly; prefix_ga leaves a term that already has it alone.
    return ";".join([terms[0], *(prefix_ga(term) for term in terms[1:])])


def department_for(filterset: Sequence[str], departments: Mapping[str, str], *, source: str | None) -> str:
    """The department a filterset selects, from its first filter: `<key>=~^<code>` → the slug."""
    if not filterset:
        raise ConfigurationError(
            "a filterset is empty; each needs a first filter such as 'dimension9=~^<D1>' naming the department",
            source=source,
            key=KEY,
        )
    parts = DEPARTMENT_SEPARATOR.split(filterset[0])
    if len(parts) != 2:
        raise ConfigurationError(
            f"the filter {filterset[0]!r} names no department: expected one '=~^', "
            "as in 'dimension9=~^<D1>' or 'Organisation=~^<D1>'",
            source=source,
            key=KEY,
        )
    return lookup_department(parts[1], departments)


def department_queries(
    query: Mapping[str, Any], options: Mapping[str, Any], departments: Mapping[str, str], *, source: str | None
) -> list[tuple[str, dict[str, Any]]]:
    """(department, its query) per filterset: the query with its filters AND-ed with the set's."""
    return [
        (
            department_for(filterset, departments, source=source),
            {**query, "filters": [combined_filter(query.get("filters"), filterset, source=source)]},
        )
        for filterset in filtersets_from(options, source=source)
    ]
