"""`ga.realtime`: how many people are on a page right now, one record every run (every 2 minutes).

The query keeps the Real Time v3 keys (`ids`, `metrics`, `filters`); the source for its `ids`
(`sources`) asks its API and counts, and the run pushes the realtime record (`realtime`: the
count, now, `for_url` the query's filters). `additionalFields` and plugins apply, as for every
collector (the original ignored options; real realtime queries have none). A realtime count
cannot be backfilled, so dates are refused before anything is asked.
"""

from __future__ import annotations

import logging

from performanceplatform.collector.context import RunContext
from performanceplatform.collector.errors import CollectorError
from performanceplatform.collector.ga.sources import Translation, log_notes, source_for
from performanceplatform.collector.periods import utc_now
from performanceplatform.collector.pipeline import open_sink, push, records_with_options
from performanceplatform.collector.realtime import NO_BACKFILL, realtime_record
from performanceplatform.collector.runner import legacy_main, takes_run_context

log = logging.getLogger(__name__)

ENTRYPOINT = "performanceplatform.collector.ga.realtime"


@takes_run_context
def collect(context: RunContext) -> None:
    if context.backfill:
        raise CollectorError(NO_BACKFILL)
    source = source_for(context.query.get("ids"), context.ga4_map)
    request = source.realtime_request(context.query, source=context.query_source)
    log_notes([request])
    sink = open_sink(context)
    with source.open(context) as client:
        count = source.realtime_count(client, request)
    record = realtime_record(count, request.for_url, utc_now())
    log.info("%d people on %s now", count, request.for_url or context.query.get("ids"))
    push(sink, records_with_options([[record]], context.options))


@takes_run_context
def check(context: RunContext) -> list[str]:
    """Problems `--check` reports: dates given, anything the source cannot ask, the credentials."""
    found = translation(context)
    problems = [f"{NO_BACKFILL}: drop --start/--end"] if context.backfill else []
    problems += [str(problem) for problem in found.problems]
    return problems + found.source.credentials_problems(context)


def notes(context: RunContext) -> list[str]:
    """What `--check` says the query asks instead of what it wrote (GA4 migrations)."""
    return list(translation(context).notes)


def translation(context: RunContext) -> Translation:
    """The context's query as its source will ask it, or every reason it cannot."""
    source = source_for(context.query.get("ids"), context.ga4_map)
    problems = source.realtime_problems(context.query, source=context.query_source)
    if problems:
        return Translation(source, problems=tuple(problems))
    return Translation(source, requests=(source.realtime_request(context.query, source=context.query_source),))


@takes_run_context
def probe(context: RunContext) -> str:
    """`--check --online`: the realtime count itself (one small request), with the credentials."""
    source = source_for(context.query.get("ids"), context.ga4_map)
    request = source.realtime_request(context.query, source=context.query_source)
    with source.open(context) as client:
        count = source.realtime_count(client, request)
    return f"the {source.name} counted {count} people on {context.query.get('ids')} now"


main = legacy_main(ENTRYPOINT, collect)

