"""`piwik.core`: a Matomo (Piwik) report per day, week or month, into Backdrop.

The data flow: read the query, ask Matomo for the periods (`previous1` without dates, as the
original did; a backfill a few months a request, several requests at once with `--concurrency`),
read each answer into rows, build the records with the record builder (the original's DataParser,
ids included), push them in period order.

Every request is answered and read before the first record is pushed. Matomo's answers are small
(a row per label and period), and so a mistake that only shows in a later period (a mapped column
the answer lacks) or a request that fails leaves the data set as it was, instead of half filled.
"""

from __future__ import annotations

import logging

from performanceplatform.collector.backfill import in_order
from performanceplatform.collector.context import RunContext
from performanceplatform.collector.errors import problems_of
from performanceplatform.collector.pipeline import open_sink, push
from performanceplatform.collector.piwik.answers import mappings_from, period_rows
from performanceplatform.collector.piwik.client import client_for, credentials_problems
from performanceplatform.collector.piwik.query import CoreQuery, request_dates
from performanceplatform.collector.records import Row, build_records
from performanceplatform.collector.runner import legacy_main, takes_run_context

log = logging.getLogger(__name__)

ENTRYPOINT = "performanceplatform.collector.piwik.core"


@takes_run_context
def collect(context: RunContext) -> None:
    """Collect the query's report for the periods between the start and end and push it."""
    # Every configuration mistake surfaces before the first request.
    core_query = CoreQuery.from_config(context.query, source=context.query_source)
    mappings = mappings_from(context.options, source=context.query_source)
    # A date or period in api_method_arguments wins, as it did: then the original's one request.
    dates = request_dates(context.start_at, context.end_at, core_query.frequency, split=not core_query.sets_own_dates)
    client = client_for(context)
    sink = open_sink(context)
    if core_query.renamed_from:
        log.warning(
            "%s was removed in Piwik 2.14; asking %s, the same report under its new name",
            core_query.renamed_from,
            core_query.method,
        )
    log.info("Matomo %s for site %s by %s: %d request(s)", core_query.method, core_query.site_id,
             core_query.period, len(dates))

    def rows_of(date_parameter: str) -> list[list[Row]]:
        answer = client.call(core_query.parameters(date_parameter))
        return period_rows(answer, mappings, core_query.period, core_query.method)

    with in_order(
        dates, rows_of, concurrency=context.concurrency, name="matomo-dates", unit="requests"
    ) as answers:
        # The requests cover consecutive periods, so their rows, in order, are every period once, in order.
        rows = [row for periods in answers for period in periods for row in period]
    push(sink, build_records(rows, context.options, context.data_set.data_type))


@takes_run_context
def check(context: RunContext) -> list[str]:
    """The problems `pp-collector --check` reports for a `piwik.core` query, found without a request."""

    def read_query() -> CoreQuery:
        return CoreQuery.from_config(context.query, source=context.query_source)

    problems = problems_of(read_query, lambda: mappings_from(context.options, source=context.query_source))
    if not problems:
        problems = problems_of(lambda: request_dates(context.start_at, context.end_at, read_query().frequency))
    return problems + credentials_problems(context)


@takes_run_context
def probe(context: RunContext) -> str:
    """`--check --online`: the report for the last complete period, with the token."""
    core_query = CoreQuery.from_config(context.query, source=context.query_source)
    client = client_for(context)
    client.call(core_query.parameters(request_dates(None, None, core_query.frequency)[0]))
    return f"Matomo answered {core_query.method} for site {core_query.site_id} with the token"


main = legacy_main(ENTRYPOINT, collect)
