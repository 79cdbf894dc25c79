"""`ga.realtime`: how many people are on a page right now, one record every run (every 2 minutes).

The query's keys are the Real Time API's own parameters, passed as they are (`ids`, `metrics`,
`filters`, ...: explicit prefixes, no `ga:` added). The record is `{_timestamp, _id,
unique_visitors, for_url}` with `_timestamp` and `_id` both the run's UTC time to the second, as
the original wrote it, so dashboards reading the data set keep working. `additionalFields` and
plugins apply, as for every collector (the original ignored options; real realtime queries have
none). A realtime count cannot be backfilled, so dates are refused before anything is asked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from performanceplatform.collector.errors import CollectorError, ConfigurationError, FatalUpstreamError
from performanceplatform.collector.ga.ga4 import uses_data_api
from performanceplatform.collector.ga.google_errors import SERVICE
from performanceplatform.collector.periods import utc_now

if TYPE_CHECKING:
    from performanceplatform.collector.backdrop import DataSet

log = logging.getLogger(__name__)


def main(
    credentials: Mapping[str, Any],
    data_set_config: Mapping[str, Any],
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> None:
    if uses_data_api(query, "ids"):
        from performanceplatform.collector.ga.ga4 import realtime

        realtime.main(credentials, data_set_config, query, options, start_at, end_at)
        return
    if start_at or end_at:
        raise CollectorError("Cannot backfill realtime collectors")
    parameters = realtime_parameters(query)

    from performanceplatform.collector.backdrop import DataSet
    from performanceplatform.collector.ga.client import open_client

    data_set = DataSet.from_config(data_set_config)
    with open_client(credentials) as client:
        response = client.realtime_report(parameters)
    record = realtime_record(visitor_count(response), parameters.get("filters", ""), utc_now())
    post_realtime_record(data_set, record, options, parameters["ids"])


def post_realtime_record(
    data_set: DataSet, record: dict[str, Any], options: Mapping[str, Any] | None, counted: str
) -> None:
    """Log the count, apply the options (`additionalFields`, plugins) and post the one record."""
    log.info("%d people on %s now", record["unique_visitors"], record["for_url"] or counted)
    records = [record]
    if options:
        # Imported only when there are options: a realtime run every two minutes need not pay for
        # the record builder and its plugins otherwise.
        from performanceplatform.collector.records import apply_options

        records = apply_options(records, options)
    data_set.post(records)


def check(
    credentials: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> list[str]:
    """Problems `--check` reports: dates given, no `ids`, the credentials."""
    if uses_data_api(query, "ids"):
        from performanceplatform.collector.ga.ga4 import realtime

        return realtime.check(credentials, query, options, start_at, end_at)
    from performanceplatform.collector.check import problems_of
    from performanceplatform.collector.ga.checks import credentials_problems

    problems = ["Cannot backfill realtime collectors: drop --start/--end"] if start_at or end_at else []
    return problems + problems_of(lambda: realtime_parameters(query)) + credentials_problems(credentials)


def realtime_parameters(query: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(query, Mapping) or not query.get("ids"):
        raise ConfigurationError(
            "expected the Real Time API's parameters, at least 'ids' (such as 'ga:12345678') and "
            f"'metrics' (such as 'rt:activeUsers'), got {query!r}",
            source="query",
            key="ids",
        )
    return dict(query)


def visitor_count(response: Mapping[str, Any]) -> int:
    """The first cell of the answer; no rows means nobody."""
    rows = response.get("rows") or []
    if not rows or not rows[0]:
        return 0
    try:
        return int(rows[0][0])
    except (TypeError, ValueError):
        raise FatalUpstreamError(
            f"Google Analytics answered the Real Time request with a count that is not a whole "
            f"number: {rows[0][0]!r}",
            service=SERVICE,
        ) from None


def realtime_record(count: int, for_url: Any, now: datetime) -> dict[str, Any]:
    timestamp = now.replace(microsecond=0).isoformat()
    return {"_timestamp": timestamp, "_id": timestamp, "unique_visitors": count, "for_url": for_url}
