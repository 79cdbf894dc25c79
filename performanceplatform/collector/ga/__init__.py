"""`performanceplatform.collector.ga`: a Google Analytics query, period by period, into Backdrop.

The data flow: check the query, read its rows for every period from the Core Reporting API, build
the records (`records.build_records`: the original's DataParser, ids included), push them; periods
are fetched several at a time and their records pushed as they arrive (`streaming.push_rows`).

Between fetching and building sits one row shape (`rows.GaRow`, gapy's), so a second source
of the same reports, the GA4 Data API for `properties/<n>` ids (`ga4`), feeds the same record
builder and keeps the same ids. Each GA entrypoint hands such a query to its `ga4` counterpart.

This package is imported by every GA entrypoint, `ga.realtime` every two minutes among them, so
nothing heavy (Google's libraries, the Backdrop client) is imported until a collector runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from performanceplatform.collector.ga.ga4 import uses_data_api


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

        collect.main(credentials, data_set_config, query, options, start_at, end_at)
        return
    from performanceplatform.collector.backdrop import Pusher
    from performanceplatform.collector.ga.client import open_client
    from performanceplatform.collector.ga.core import period_rows
    from performanceplatform.collector.ga.query import CoreQuery
    from performanceplatform.collector.ga.rows import record_rows
    from performanceplatform.collector.streaming import push_rows

    core_query = CoreQuery.from_config(query)
    # Built first so that a bad chunk-size or Backdrop URL fails before any collecting.
    pusher = Pusher(data_set_config, options)
    with open_client(credentials) as client, period_rows(client, core_query, start_at, end_at) as periods:
        batches = (record_rows(rows, core_query.frequency) for rows in periods)
        push_rows(pusher, batches, options, data_set_config.get("data-type"))


def check(
    credentials: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> list[str]:
    """Problems `--check` reports for a `ga` query file: query keys, dates, credentials."""
    if uses_data_api(query):
        from performanceplatform.collector.ga.ga4 import collect

        return collect.check(credentials, query, options, start_at, end_at)
    from performanceplatform.collector.check import problems_of
    from performanceplatform.collector.ga.checks import credentials_problems
    from performanceplatform.collector.ga.query import CoreQuery
    from performanceplatform.collector.periods import period_range

    def dates() -> None:
        period_range(start_at, end_at, CoreQuery.from_config(query).frequency)

    problems = problems_of(lambda: CoreQuery.from_config(query))
    if not problems:
        problems = problems_of(dates)
    return problems + credentials_problems(credentials)
