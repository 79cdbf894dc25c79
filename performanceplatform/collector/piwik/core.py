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
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from performanceplatform.collector.backdrop import Pusher
from performanceplatform.collector.backfill import in_order
from performanceplatform.collector.concurrency import concurrency_from_environment
from performanceplatform.collector.piwik.answers import mappings_from, period_rows
from performanceplatform.collector.piwik.client import MatomoClient, connection_from_credentials
from performanceplatform.collector.piwik.query import CoreQuery, request_dates
from performanceplatform.collector.records import Row, build_records

log = logging.getLogger(__name__)


def main(
    credentials: Mapping[str, Any],
    data_set_config: Mapping[str, Any],
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> None:
    """Collect `query`'s report for the periods between `start_at` and `end_at` and push it."""
    options = options or {}
    # Every configuration mistake surfaces before the first request.
    core_query = CoreQuery.from_config(query)
    mappings = mappings_from(options)
    # A date or period in api_method_arguments wins, as it did: then the original's one request.
    dates = request_dates(start_at, end_at, core_query.frequency, split=not core_query.sets_own_dates)
    client = MatomoClient.from_credentials(credentials)
    pusher = Pusher(data_set_config, options)
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

    with in_order(dates, rows_of, concurrency=concurrency_from_environment(), name="matomo-dates") as answers:
        # The requests cover consecutive periods, so their rows, in order, are every period once, in order.
        rows = [row for periods in answers for period in periods for row in period]
    pusher.push(build_records(rows, options, data_set_config.get("data-type")))


def check(
    credentials: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    options: Mapping[str, Any] | None,
    start_at: datetime | None,
    end_at: datetime | None,
) -> list[str]:
    """The problems `pp-collector --check` reports for a `piwik.core` query, found without a request.

    Plugins are the CLI's own check; the other options are checked by the run.
    """
    from performanceplatform.collector.check import problems_of

    def dates() -> None:
        request_dates(start_at, end_at, CoreQuery.from_config(query).frequency)

    problems = problems_of(lambda: CoreQuery.from_config(query), lambda: mappings_from(options))
    if not problems:
        problems = problems_of(dates)
    if credentials is not None:  # None: the CLI has already reported the file itself
        problems += problems_of(lambda: connection_from_credentials(credentials))
    return problems
