"""The GA4 Data API client: `runReport` and `runRealtimeReport` through google-api-python-client.

The `analyticsdata` v1beta service is built from the discovery document the library ships, on the
shared Google transport (`ga.google_api`: timeout, one log line per request, the retry policy and
Google's errors as the project's). Each request asks for `returnPropertyQuota`, and the tokens it consumed
are logged, so a property's quota can be watched from the logs.

`API_ROOT` in the credentials file replaces `https://analyticsdata.googleapis.com/`: requests go to
`{API_ROOT}v1beta/properties/<n>:runReport`, so tests and the demo can use the stand-in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from performanceplatform.collector.context import RunContext
from performanceplatform.collector.ga.google_api import GoogleApiClient, api_root_from, google_credentials

log = logging.getLogger(__name__)

DATA_API_ROOT = "https://analyticsdata.googleapis.com/"
GUIDE = "https://developers.google.com/analytics/devguides/reporting/data/v1"
# The quota buckets worth a line in the log, as `propertyQuota` names them.
QUOTA_BUCKETS = (("tokensPerHour", "this hour"), ("tokensPerDay", "today"))


class DataApiClient(GoogleApiClient):
    """`runReport` and `runRealtimeReport` for GA4 properties; thread-safe."""

    api = "analyticsdata"
    version = "v1beta"
    resource = "property"
    guide = GUIDE

    def run_report(self, property_: str, body: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """`POST v1beta/{property}:runReport`; `what` names the request in logs and errors."""
        response = self.call("properties", "runReport", what, property=property_, body=dict(body))
        log_quota(what, response)
        return response

    def run_realtime_report(self, property_: str, body: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """`POST v1beta/{property}:runRealtimeReport`."""
        response = self.call("properties", "runRealtimeReport", what, property=property_, body=dict(body))
        log_quota(what, response)
        return response

    def get_metadata(self, property_: str) -> dict[str, Any]:
        """`GET v1beta/{property}/metadata`: the property's dimensions and metrics, custom ones included."""
        what = f"getMetadata request for {property_}"
        return self.call("properties", "getMetadata", what, name=f"{property_}/metadata")


def log_quota(what: str, response: Mapping[str, Any]) -> None:
    """One line: the tokens this request consumed and what is left of the hourly and daily quotas."""
    quota = response.get("propertyQuota")
    if not isinstance(quota, Mapping):
        return
    consumed = _quota_number(quota, "tokensPerHour", "consumed")
    left = [
        f"{remaining} left {period}"
        for bucket, period in QUOTA_BUCKETS
        if (remaining := _quota_number(quota, bucket, "remaining")) is not None
    ]
    log.debug(
        "GA4 quota: the %s consumed %s token(s)%s",
        what,
        consumed if consumed is not None else "an unknown number of",
        f" ({', '.join(left)})" if left else "",
    )


def open_data_api(context: RunContext) -> DataApiClient:
    """A Data API client for the credentials file's account, reaching Google (or `API_ROOT`)."""
    # The v3 default root (www.googleapis.com) is not the Data API's, so only a given one counts.
    return DataApiClient.build(
        google_credentials(context),
        api_endpoint=api_root_from(context, default=DATA_API_ROOT),
        query_source=context.query_source,
    )


def _quota_number(quota: Mapping[str, Any], bucket: str, field: str) -> int | None:
    status = quota.get(bucket)
    value = status.get(field, 0) if isinstance(status, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
