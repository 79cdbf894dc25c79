"""`piwik.realtime`: how many people visited in the last few minutes, one record a run.

The record is the realtime record every collector writes, `{_timestamp, _id, unique_visitors,
for_url}`, with `_timestamp` and `_id` both the run's UTC time to the second and `for_url` empty,
as the original wrote it. `chunk-size` and `empty-data-set` apply as they did; `additionalFields`
and plugins apply too, as for the Google Analytics realtime collector (the original ignored them).
A count of visitors now cannot be backfilled, so dates are refused before anything is asked.
"""

from __future__ import annotations

import logging

from performanceplatform.collector.context import RunContext
from performanceplatform.collector.errors import CollectorError, problems_of
from performanceplatform.collector.periods import utc_now
from performanceplatform.collector.pipeline import open_sink, push, records_with_options
from performanceplatform.collector.piwik.answers import visitor_count
from performanceplatform.collector.piwik.client import client_for, credentials_problems
from performanceplatform.collector.piwik.query import RealtimeQuery
from performanceplatform.collector.realtime import NO_BACKFILL, realtime_record
from performanceplatform.collector.runner import legacy_main, takes_run_context

log = logging.getLogger(__name__)

ENTRYPOINT = "performanceplatform.collector.piwik.realtime"


@takes_run_context
def collect(context: RunContext) -> None:
    """Count the visitors of the last `minutes` minutes and push one record."""
    if context.backfill:
        raise CollectorError(NO_BACKFILL)
    realtime_query = RealtimeQuery.from_config(context.query, source=context.query_source)
    client = client_for(context)
    sink = open_sink(context)

    answer = client.call(realtime_query.parameters())
    count = visitor_count(answer, realtime_query.method)
    log.info("%d visitors on site %s in the last %s minutes", count, realtime_query.site_id, realtime_query.minutes)
    push(sink, records_with_options([[realtime_record(count, "", utc_now())]], context.options))


@takes_run_context
def check(context: RunContext) -> list[str]:
    """Problems `--check` reports for a `piwik.realtime` query: dates given, the query, the credentials."""
    problems = [f"{NO_BACKFILL}: drop --start/--end"] if context.backfill else []
    problems += problems_of(lambda: RealtimeQuery.from_config(context.query, source=context.query_source))
    return problems + credentials_problems(context)


@takes_run_context
def probe(context: RunContext) -> str:
    """`--check --online`: the visitor count itself, with the token."""
    realtime_query = RealtimeQuery.from_config(context.query, source=context.query_source)
    client = client_for(context)
    count = visitor_count(client.call(realtime_query.parameters()), realtime_query.method)
    return f"Matomo counted {count} visitors on site {realtime_query.site_id} with the token"


main = legacy_main(ENTRYPOINT, collect)
