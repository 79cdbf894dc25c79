"""`ga.contrib.content.table`: a GA query run once per department, pushed as one table (reference §9).

`options.filtersets` is a list of filter lists, one per department. For each, the query's filters
and the set's are AND-ed (`;`) into one filter, the set's first filter names the department
(`dimension9=~^<D1>` → `attorney-generals-office`, which becomes `additionalFields.department`),
and the whole GA pipeline runs, plugins included, so `ComputeRank('rank')` ranks within a
department. All records go to Backdrop in one push. The caller's query and options are left as
they were; the original rewrote both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.ga4 import uses_data_api

DEPARTMENT_SEPARATOR = re.compile(r"=~\^")
SOURCE = "options"


def main(
    credentials: Mapping[str, Any],
    data_set_config: Mapping[str, Any],
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> None:
    if uses_data_api(query):
        from performanceplatform.collector.ga.ga4 import collect

        collect.table_main(credentials, data_set_config, query, options, start_at, end_at)
        return
    from performanceplatform.collector.backdrop import Pusher
    from performanceplatform.collector.ga.client import open_client
    from performanceplatform.collector.ga.core import fetch_rows
    from performanceplatform.collector.ga.query import CoreQuery
    from performanceplatform.collector.ga.rows import record_rows
    from performanceplatform.collector.records import build_records

    options = options or {}
    runs = [(department_for(filterset), combined_filter(query.get("filters"), filterset))
            for filterset in filtersets_from(options)]
    queries = [CoreQuery.from_config({**query, "filters": [combined]}) for _, combined in runs]
    pusher = Pusher(data_set_config, options)

    records = []
    with open_client(credentials) as client:
        for (department, _), core_query in zip(runs, queries, strict=True):
            rows = fetch_rows(client, core_query, start_at, end_at)
            department_options = {
                **options,
                "additionalFields": {**(options.get("additionalFields") or {}), "department": department},
            }
            records.extend(
                build_records(
                    record_rows(rows, core_query.frequency), department_options, data_set_config.get("data-type")
                )
            )
    pusher.push(records)


def check(
    credentials: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> list[str]:
    """Problems `--check` reports: the filtersets and departments, the query, dates, credentials."""
    if uses_data_api(query):
        from performanceplatform.collector.ga.ga4 import collect

        return collect.table_check(credentials, query, options, start_at, end_at)
    from performanceplatform.collector import ga
    from performanceplatform.collector.check import problems_of

    options = options or {}
    problems = problems_of(lambda: [department_for(filterset) for filterset in filtersets_from(options)])
    return problems + ga.check(credentials, query, options, start_at, end_at)


def filtersets_from(options: Mapping[str, Any]) -> list[list[str]]:
    filtersets = options.get("filtersets")
    if not isinstance(filtersets, list) or not all(
        isinstance(filterset, list) and all(isinstance(item, str) and item for item in filterset)
        for filterset in filtersets
    ):
        raise ConfigurationError(
            "expected a list of filter lists, such as [[\"dimension9=~^<D1>\"], [\"dimension9=~^<D2>\"]], "
            f"got {filtersets!r}",
            source=SOURCE,
            key="filtersets",
        )
    return filtersets


def combined_filter(query_filters: Any, filterset: Sequence[str]) -> str:
    """The query's filters and the set's, AND-ed; `ga:` on all but the first, which gapy prefixes."""
    if query_filters is None or query_filters == "":
        query_filters = []
    if isinstance(query_filters, str):
        query_filters = [query_filters]
    if not isinstance(query_filters, list) or not all(isinstance(item, str) and item for item in query_filters):
        raise ConfigurationError(
            f"expected a list of filters, got {query_filters!r}", source="query", key="filters"
        )
    from performanceplatform.collector.ga.query import prefix_ga

    terms = [*query_filters, *filterset]
    # The original added `ga:` blindly; prefix_ga leaves a term that already has it alone.
    return ";".join([terms[0], *(prefix_ga(term) for term in terms[1:])])


def department_for(filterset: Sequence[str]) -> str:
    """The department a filterset selects, from its first filter: `<key>=~^<code>` → the slug."""
    from performanceplatform.collector.departments import department_for as lookup

    if not filterset:
        raise ConfigurationError(
            "a filterset is empty; each needs a first filter such as 'dimension9=~^<D1>' naming "
            "the department",
            source=SOURCE,
            key="filtersets",
        )
    parts = DEPARTMENT_SEPARATOR.split(filterset[0])
    if len(parts) != 2:
        raise ConfigurationError(
            f"the filter {filterset[0]!r} names no department: expected one '=~^', "
            "as in 'dimension9=~^<D1>' or 'Organisation=~^<D1>'",
            source=SOURCE,
            key="filtersets",
        )
    return lookup(parts[1])
