"""The `performanceplatform.collector.ga` entrypoint: a Google Analytics report, period by period, into Backdrop.

The data flow, whichever Google API answers (`sources`: the GA4 Data API for `properties/<n>`,
Core Reporting v3 for a UA view): check the query, read its rows for every period (several
periods at once, `--concurrency`; rows still in period order), build the records (`records`: the
original's DataParser, ids included), push them as the periods arrive (`pipeline`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from performanceplatform.collector.backfill import in_order
from performanceplatform.collector.concurrency import capped
from performanceplatform.collector.context import RunContext
from performanceplatform.collector.errors import ConfigurationError, problems_of
from performanceplatform.collector.ga.query import GaQuery
from performanceplatform.collector.ga.rows import GaRows, record_rows
from performanceplatform.collector.ga.sources import GaSource, Report, Translation, log_notes, source_for
from performanceplatform.collector.periods import period_range, utc_today
from performanceplatform.collector.pipeline import open_sink, push, records_from_rows
from performanceplatform.collector.runner import legacy_main, takes_run_context

ENTRYPOINT = "performanceplatform.collector.ga"


@takes_run_context
def collect(context: RunContext) -> None:
    source, report = source_and_report(context)
    log_notes([report])
    periods = period_range(context.start_at, context.end_at, report.frequency)
    # Opened first, so that a bad Backdrop URL fails before any request.
    sink = open_sink(context)
    with source.open(context) as client, fetch_periods(context, source, client, report, periods) as rows:
        batches = (record_rows(period_rows, report.frequency) for period_rows in rows)
        push(sink, records_from_rows(batches, context.options, context.data_set.data_type))


@takes_run_context
def check(context: RunContext) -> list[str]:
    """Problems `--check` reports for a `ga` query: every key the source cannot ask, dates, credentials."""
    found = translation(context)
    problems = [str(problem) for problem in found.problems]
    if not problems:
        frequency = found.requests[0].frequency
        problems = problems_of(lambda: period_range(context.start_at, context.end_at, frequency))
    return problems + found.source.credentials_problems(context)


def notes(context: RunContext) -> list[str]:
    """What `--check` says the query derives or approximates (GA4 migrations)."""
    return list(translation(context).notes)


def translation(context: RunContext) -> Translation:
    """The context's query as its source will ask it, or every reason it cannot."""
    source = source_for(context.query.get("id"), context.ga4_map)
    problems = query_problems(context, source, context.query)
    if problems:
        return Translation(source, problems=tuple(problems))
    shape = GaQuery.from_config(context.query, source=context.query_source)
    return Translation(source, requests=(source.report(shape, source=context.query_source),))


@takes_run_context
def probe(context: RunContext) -> str:
    """`--check --online`: one row of yesterday, which takes a token and the source's answer."""
    source, report = source_and_report(context)
    return probe_report(context, source, report)


main = legacy_main(ENTRYPOINT, collect)


def probe_report(context: RunContext, source: GaSource, report: Report) -> str:
    with source.open(context) as client:
        source.probe(client, report, utc_today() - timedelta(days=1))
    return f"the {source.name} answered a request for {context.query.get('id')} with the credentials"


def source_and_report(context: RunContext) -> tuple[GaSource, Report]:
    """The source that answers the context's query, and the query as it will ask it."""
    source = source_for(context.query.get("id"), context.ga4_map)
    return source, source.report(GaQuery.from_config(context.query, source=context.query_source),
                                 source=context.query_source)


def query_problems(context: RunContext, source: GaSource, query: Any) -> list[ConfigurationError]:
    """Every problem with a `ga` query object: its keys, then what the source cannot ask."""
    problems = GaQuery.problems(query, source=context.query_source)
    if problems:
        return problems
    shape = GaQuery.from_config(query, source=context.query_source)
    return source.report_problems(shape, source=context.query_source)


def fetch_periods(
    context: RunContext, source: GaSource, client: Any, report: Report, periods: list[tuple[Any, Any]]
) -> AbstractContextManager[Any]:
    """Each period's rows (`GaRows`), in period order, `--concurrency` periods at a time (at most
    what the source's API allows)."""
    concurrency = context.concurrency
    if source.max_concurrency is not None:
        concurrency = capped(concurrency, source.max_concurrency, f"the {source.name} (concurrent requests)")

    def fetch(period: tuple[Any, Any]) -> GaRows:
        return source.fetch_period(client, report, *period)

    return in_order(periods, fetch, concurrency=concurrency, name="ga-period", unit="periods")

