"""The Core Reporting v3 and Real Time v3 client (`analytics` v3, through the Google transport).

Every Core Reporting request (each page) is counted in statsd as `ga.core.<ids>.count`, as the
original did, so Google's daily quota could be watched per view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from performanceplatform.collector.context import RunContext
from performanceplatform.collector.ga.google_account import api_root_from, google_credentials
from performanceplatform.collector.ga.google_api import GoogleApiClient, ServicePerThread
from performanceplatform.collector.ga.statsd import StatsdCounter, core_request_counter_name
from performanceplatform.collector.retry import RetryPolicy


class CoreReportingClient(GoogleApiClient):
    api = "analytics"
    version = "v3"

    def __init__(
        self,
        services: ServicePerThread,
        *,
        retry: RetryPolicy | None = None,
        query_source: str = "query",
        statsd: StatsdCounter | None = None,
    ):
        super().__init__(services, retry=retry, query_source=query_source)
        self.statsd = statsd

    def core_report(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """One page of `GET analytics/v3/data/ga` for `parameters` (gapy's keyword names)."""
        ids = str(parameters.get("ids", ""))
        what = f"Core Reporting request for {ids} ({parameters.get('start_date')} to {parameters.get('end_date')})"
        # Counted once per page, however many attempts it takes, as the original's hook did.
        if self.statsd is not None:
            self.statsd.incr(core_request_counter_name(ids))
        return self.call("data.ga", "get", what, **parameters)

    def realtime_report(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """`GET analytics/v3/data/realtime` with the query file's keys as the API's parameters."""
        return self.call("data.realtime", "get", f"Real Time request for {parameters.get('ids')}", **parameters)


def open_core_reporting(context: RunContext) -> CoreReportingClient:
    """A client for the credentials file's account, reaching Google (or `API_ROOT`)."""
    api_root = api_root_from(context)
    return CoreReportingClient.build(
        google_credentials(context),
        api_endpoint=f"{api_root}analytics/v3/",
        query_source=context.query_source,
        statsd=StatsdCounter.from_environment(),
    )
