"""The `ga` and `ga.contrib.content.table` entrypoints for GA4 properties.

Each reads like its v3 counterpart (`ga.main`, `ga.contrib.content.table.main`): translate the
query, read its rows for every period from the Data API, build the records with the one record
builder (`records.build_records`, ids included), push them with the one Backdrop client (`ga`:
period by period as they arrive, `streaming.push_rows`; a table: all at once). Only
the source of the rows differs, and the rows have the v3 shape, so the records do too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from performanceplatform.collector.errors import ConfigurationError


def main(
    credentials: Mapping[str, Any],
    data_set_config: Mapping[str, Any],
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> None:
    from performanceplatform.collector.backdrop import Pusher
    from performanceplatform.collector.ga.ga4.client import open_data_client
    from performanceplatform.collector.ga.ga4.fetch import period_rows
    from performanceplatform.collector.ga.ga4.query import ReportQuery
    from performanceplatform.collector.ga.rows import record_rows
    from performanceplatform.collector.streaming import push_rows

    report = ReportQuery.from_config(query)
    # Built first so that a bad chunk-size or Backdrop URL fails before any collecting.
    pusher = Pusher(data_set_config, options)
    with open_data_client(credentials) as client, period_rows(client, report, start_at, end_at) as periods:
        batches = (record_rows(rows, report.frequency) for rows in periods)
        push_rows(pusher, batches, options, data_set_config.get("data-type"))


def check(
    credentials: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> list[str]:
    """Problems `--check` reports for a GA4 `ga` query: every untranslatable key, dates, credentials."""
    from performanceplatform.collector.ga.checks import credentials_problems

    return _report_problems([query], start_at, end_at) + credentials_problems(credentials)


def table_main(
    credentials: Mapping[str, Any],
    data_set_config: Mapping[str, Any],
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> None:
    """`ga.contrib.content.table` for a GA4 property: one query per filterset, pushed as one table."""
    from performanceplatform.collector.backdrop import Pusher
    from performanceplatform.collector.ga.ga4.client import open_data_client
    from performanceplatform.collector.ga.ga4.fetch import fetch_rows
    from performanceplatform.collector.ga.ga4.query import ReportQuery
    from performanceplatform.collector.ga.rows import record_rows
    from performanceplatform.collector.records import build_records

    options = options or {}
    runs = _department_queries(query, options)
    reports = [ReportQuery.from_config(department_query) for _, department_query in runs]
    pusher = Pusher(data_set_config, options)

    records = []
    with open_data_client(credentials) as client:
        for (department, _), report in zip(runs, reports, strict=True):
            rows = fetch_rows(client, report, start_at, end_at)
            department_options = {
                **options,
                "additionalFields": {**(options.get("additionalFields") or {}), "department": department},
            }
            records.extend(
                build_records(record_rows(rows, report.frequency), department_options, data_set_config.get("data-type"))
            )
    pusher.push(records)


def table_check(
    credentials: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> list[str]:
    """Problems `--check` reports: the filtersets, each department's GA4 query, dates, credentials."""
    from performanceplatform.collector.ga.checks import credentials_problems

    try:
        queries = [department_query for _, department_query in _department_queries(query, options or {})]
        filterset_problems = []
    except ConfigurationError as error:
        queries, filterset_problems = [], [str(error)]
    return filterset_problems + _report_problems(queries or [query], start_at, end_at) + credentials_problems(
        credentials
    )


def _department_queries(query: Mapping[str, Any], options: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(department, its query) per filterset: the query's filters AND-ed with the filterset's."""
    from performanceplatform.collector.ga.contrib.content.table import combined_filter, department_for, filtersets_from

    return [
        (department_for(filterset), {**query, "filters": [combined_filter(query.get("filters"), filterset)]})
        for filterset in filtersets_from(options)
    ]


def _report_problems(
    queries: list[Mapping[str, Any]], start_at: datetime | None, end_at: datetime | None
) -> list[str]:
    from performanceplatform.collector.check import problems_of
    from performanceplatform.collector.ga.ga4.query import ReportQuery
    from performanceplatform.collector.periods import period_range

    problems: dict[str, None] = {}
    for query in queries:
        problems.update(dict.fromkeys(str(problem) for problem in ReportQuery.problems(query)))
    if problems:
        return list(problems)
    return problems_of(lambda: period_range(start_at, end_at, ReportQuery.from_config(queries[0]).frequency))
