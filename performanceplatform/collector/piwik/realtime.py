"""`piwik.realtime`: how many people visited in the last few minutes, one record a run.

The record is the realtime record every collector writes, `{_timestamp, _id, unique_visitors,
for_url}`, with `_timestamp` and `_id` both the run's UTC time to the second and `for_url` empty,
as the original wrote it. `chunk-size` and `empty-data-set` apply as they did; `additionalFields`
and plugins apply too, as for the Google Analytics realtime collector (the original ignored them).
A count of visitors now cannot be backfilled, so dates are refused before anything is asked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from performanceplatform.collector.backdrop import Pusher
from performanceplatform.collector.errors import CollectorError
from performanceplatform.collector.ga.realtime import realtime_record
from performanceplatform.collector.periods import utc_now
from performanceplatform.collector.piwik.answers import visitor_count
from performanceplatform.collector.piwik.client import MatomoClient, connection_from_credentials
from performanceplatform.collector.piwik.query import RealtimeQuery
from performanceplatform.collector.streaming import push_records

log = logging.getLogger(__name__)

NO_BACKFILL = "Cannot backfill realtime collectors"


def main(
    credentials: Mapping[str, Any],
    data_set_config: Mapping[str, Any],
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> None:
    """Count the visitors of the last `query["minutes"]` minutes and push one record."""
    if start_at or end_at:
        raise CollectorError(NO_BACKFILL)
    realtime_query = RealtimeQuery.from_config(query)
    client = MatomoClient.from_credentials(credentials)
    pusher = Pusher(data_set_config, options)

    answer = client.call(realtime_query.parameters())
    count = visitor_count(answer, realtime_query.method)
    log.info("%d visitors on site %s in the last %s minutes", count, realtime_query.site_id, realtime_query.minutes)
    push_records(pusher, [[realtime_record(count, "", utc_now())]], options)


def check(
    credentials: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> list[str]:
    """Problems `--check` reports for a `piwik.realtime` query: dates given, the query, the credentials."""
    from performanceplatform.collector.check import problems_of

    problems = [f"{NO_BACKFILL}: drop --start/--end"] if start_at or end_at else []
    problems += problems_of(lambda: RealtimeQuery.from_config(query))
    if credentials is not None:
        problems += problems_of(lambda: connection_from_credentials(credentials))
    return problems
