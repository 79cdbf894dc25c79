"""Reading a Core Reporting query's rows: every page of one period, in the one GA row shape.

Pages are followed through `nextLink` (its `start-index`) until the rows run out or `maxResults`
rows have been read for the period, as gapy did. Rows keep the API's order, with each value
matched to its name by position (dimensions first, then metrics, the order GA answers in), and the
metric text read as numbers once. A sampled answer (`containsSampledData`) is collected all the
same, with a warning naming the period.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from performanceplatform.collector.errors import FatalUpstreamError
from performanceplatform.collector.ga.core_reporting.query import CoreQuery
from performanceplatform.collector.ga.google_errors import SERVICE
from performanceplatform.collector.ga.rows import GaRows, ga_number

log = logging.getLogger(__name__)

# The nextLink parameters that move to the next page; every other parameter stays as first asked.
PAGING_PARAMETERS = {"start-index": "start_index", "max-results": "max_results"}


class CoreReporting(Protocol):
    def core_report(self, parameters: Mapping[str, Any]) -> dict[str, Any]: ...


def fetch_period(client: CoreReporting, query: CoreQuery, start: date, end: date) -> GaRows:
    """The rows of one period, reading page after page."""
    log.debug("Querying GA for data in the period: %s - %s", start, end)
    parameters = query.api_parameters(start, end)
    rows = GaRows(query.dimensions, query.metrics)
    sampled = False
    while True:
        response = client.core_report(parameters)
        sampled = sampled or bool(response.get("containsSampledData"))
        rows.extend(page_from_response(response, query, start, end))
        if query.max_results is not None and len(rows) >= query.max_results:
            rows.truncate(query.max_results)
            break
        next_link = response.get("nextLink")
        if not next_link:
            break
        parameters = next_page_parameters(parameters, next_link)
    if sampled:
        log.warning(
            "Google Analytics sampled the data for %s from %s to %s: the numbers are estimates",
            parameters["ids"],
            start,
            end,
        )
    log.debug("%d row(s) for %s to %s", len(rows), start, end)
    return rows


def next_page_parameters(parameters: Mapping[str, Any], next_link: str) -> dict[str, Any]:
    """The parameters of the page `next_link` points at, refusing a link that goes nowhere new."""
    # Semicolons (GA's AND) must not split the query string.
    link_parameters = dict(parse_qsl(urlsplit(next_link.replace(";", "%3B")).query))
    following = dict(parameters)
    for name, keyword in PAGING_PARAMETERS.items():
        if name in link_parameters:
            try:
                following[keyword] = int(link_parameters[name])
            except ValueError:
                following.pop(keyword, None)
    current_index = int(parameters.get("start_index", 1))
    next_index = following.get("start_index")
    if not isinstance(next_index, int) or next_index <= current_index:
        raise FatalUpstreamError(
            f"Google Analytics answered with a nextLink that does not move on from row {current_index}: "
            f"{next_link}",
            service=SERVICE,
        )
    return following


def page_from_response(response: Mapping[str, Any], query: CoreQuery, start: date, end: date) -> GaRows:
    """The rows of one response page, in the API's order."""
    start_date, end_date = _echoed_dates(response, start, end)
    dimension_count = len(query.dimensions)
    width = dimension_count + len(query.metrics)
    page = GaRows(query.dimensions, query.metrics)
    for values in response.get("rows") or []:
        if not isinstance(values, list) or len(values) != width:
            raise FatalUpstreamError(
                f"Google Analytics answered with a row of {_count(values)} values for "
                f"{len(query.dimensions)} dimension(s) and {len(query.metrics)} metric(s): {values!r}",
                service=SERVICE,
            )
        metrics = [ga_number(text) for text in values[dimension_count:]]
        page.values.append((start_date, end_date, values[:dimension_count], metrics))
    return page


def _echoed_dates(response: Mapping[str, Any], start: date, end: date) -> tuple[date, date]:
    """The period the response says it covers (gapy read it back from the `query` echo)."""
    echo = response.get("query")
    if not isinstance(echo, Mapping):
        return start, end
    try:
        return (
            datetime.strptime(str(echo.get("start-date", start)), "%Y-%m-%d").date(),
            datetime.strptime(str(echo.get("end-date", end)), "%Y-%m-%d").date(),
        )
    except ValueError:
        raise FatalUpstreamError(
            f"Google Analytics echoed a period that is not a pair of dates: {echo.get('start-date')!r} "
            f"to {echo.get('end-date')!r}",
            service=SERVICE,
        ) from None


def _count(values: Any) -> int | str:
    return len(values) if isinstance(values, list) else "no list of"
