"""`ga.trending`: pages whose views grew most, this week against last week (reference §4).

One query covers the fourteen days before today; the source for its `id` answers it as its API
can (`sources`), and `trends` makes the records: one per page title, with `week1`, `week2` and
`percent_change`, the page path as `_id`. Each run replaces the last: the data set is emptied and
the new records pushed, in one request as the original did, or in chunks of `chunk-size` when the
query sets one. Dates are ignored, as they were; `additionalFields` and plugins apply.
"""

from __future__ import annotations

import logging

from performanceplatform.collector.context import RunContext
from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.report import probe_report
from performanceplatform.collector.ga.sources import Translation, log_notes, source_for
from performanceplatform.collector.ga.trends import TrendingQuery, TrendingWindow, trending_records
from performanceplatform.collector.periods import utc_today
from performanceplatform.collector.pipeline import open_sink, push
from performanceplatform.collector.records import apply_options
from performanceplatform.collector.runner import legacy_main, takes_run_context

log = logging.getLogger(__name__)

ENTRYPOINT = "performanceplatform.collector.ga.trending"


@takes_run_context
def collect(context: RunContext) -> None:
    if context.backfill:
        log.warning("ga.trending always covers the two weeks before today; --start/--end are ignored")
    source = source_for(context.query.get("id"), context.ga4_map)
    report = source.trending_report(TrendingQuery.from_config(context.query, source=context.query_source),
                                    source=context.query_source)
    log_notes([report])
    window = TrendingWindow.before(utc_today())
    sink = open_sink(context, empty_first=True)
    with source.open(context) as client:
        rows = source.fetch_trending(client, report, window)
    records = apply_options(trending_records(rows, window), context.options)
    if not records:
        with sink:
            sink.empty_now()
        return
    if "chunk-size" not in context.options.raw:
        sink.chunk_size = len(records)  # one request, as the original posted them
    push(sink, records)


@takes_run_context
def check(context: RunContext) -> list[str]:
    """Problems `--check` reports: the metric, the dimensions, anything the source cannot ask, credentials."""
    found = translation(context)
    return [str(problem) for problem in found.problems] + found.source.credentials_problems(context)


def notes(context: RunContext) -> list[str]:
    """What `--check` says the query derives or approximates (GA4 migrations)."""
    return list(translation(context).notes)


def translation(context: RunContext) -> Translation:
    """The context's query as its source will ask it, or every reason it cannot."""
    source = source_for(context.query.get("id"), context.ga4_map)
    try:
        query = TrendingQuery.from_config(context.query, source=context.query_source)
    except ConfigurationError as error:
        return Translation(source, problems=(error,))
    problems = source.trending_problems(query, source=context.query_source)
    if problems:
        return Translation(source, problems=tuple(problems))
    return Translation(source, requests=(source.trending_report(query, source=context.query_source),))


@takes_run_context
def probe(context: RunContext) -> str:
    """`--check --online`: one row of yesterday for the trending report, with the credentials."""
    source = source_for(context.query.get("id"), context.ga4_map)
    report = source.trending_report(TrendingQuery.from_config(context.query, source=context.query_source),
                                    source=context.query_source)
    return probe_report(context, source, report)


main = legacy_main(ENTRYPOINT, collect)
