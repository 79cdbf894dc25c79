"""The GA4 Data API client: `runReport` and `runRealtimeReport` through google-api-python-client.

The `analyticsdata` v1beta service is built from the discovery document the library ships, on the
same authorised httplib2 transport as the v3 client (`ga.client.authorized_http`: timeout, one log
line per request), and every request goes through the same retry policy and error mapping
(`ga.client.execute`). Each request asks for `returnPropertyQuota`, and the tokens it consumed
are logged, so a property's quota can be watched from the logs.

`API_ROOT` in the credentials file replaces `https://analyticsdata.googleapis.com/`: requests go to
`{API_ROOT}v1beta/properties/<n>:runReport`, so tests and the demo can use the stand-in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from google.auth.credentials import Credentials

from performanceplatform.collector.config import credentials_source
from performanceplatform.collector.ga.client import (
    API_ROOT_KEY,
    ServicePerThread,
    api_root_from,
    authorized_http,
    build_service,
    execute,
)
from performanceplatform.collector.retry import RetryPolicy

log = logging.getLogger(__name__)

DATA_API_ROOT = "https://analyticsdata.googleapis.com/"
GUIDE = "https://developers.google.com/analytics/devguides/reporting/data/v1"
# The quota buckets worth a line in the log, as `propertyQuota` names them.
QUOTA_BUCKETS = (("tokensPerHour", "this hour"), ("tokensPerDay", "today"))


class DataApiClient:
    """Data API requests for GA4 properties, each retried per the project's policy; thread-safe
    (a service per thread, as for the v3 client)."""

    def __init__(self, services: ServicePerThread, *, retry: RetryPolicy | None = None):
        self._services = services
        self.retry = retry or RetryPolicy.from_environment()

    @classmethod
    def build(
        cls,
        google_credentials: Credentials,
        *,
        api_root: str = DATA_API_ROOT,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> DataApiClient:
        services = ServicePerThread(
            lambda: build_service("analyticsdata", "v1beta", authorized_http(google_credentials, timeout), api_root)
        )
        # Built now, so that a broken installation fails before any request.
        services.get()
        return cls(services, retry=retry)

    def run_report(self, property_: str, body: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """`POST v1beta/{property}:runReport`; `what` names the request in logs and errors."""
        return self._send(
            lambda: self._services.resource("properties").runReport(property=property_, body=dict(body)), what
        )

    def run_realtime_report(self, property_: str, body: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """`POST v1beta/{property}:runRealtimeReport`."""
        return self._send(
            lambda: self._services.resource("properties").runRealtimeReport(property=property_, body=dict(body)),
            what,
        )

    def _send(self, make_request: Callable[[], Any], what: str) -> dict[str, Any]:
        response = execute(make_request, what, retry=self.retry, key="query", resource="property", guide=GUIDE)
        log_quota(what, response)
        return response

    def close(self) -> None:
        self._services.close()

    def __enter__(self) -> DataApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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
    log.info(
        "GA4 quota: the %s consumed %s token(s)%s",
        what,
        consumed if consumed is not None else "an unknown number of",
        f" ({', '.join(left)})" if left else "",
    )


def open_data_client(credentials: Mapping[str, Any]) -> DataApiClient:
    """A Data API client for the credentials file's account, reaching Google (or `API_ROOT`)."""
    from performanceplatform.collector.ga.auth import credentials_from_config

    # The v3 default root (www.googleapis.com) is not the Data API's, so only a given one counts.
    api_root = api_root_from(credentials) if credentials.get(API_ROOT_KEY) else DATA_API_ROOT
    google_credentials = credentials_from_config(credentials, source=credentials_source())
    return DataApiClient.build(google_credentials, api_root=api_root)


def _quota_number(quota: Mapping[str, Any], bucket: str, field: str) -> int | None:
    status = quota.get(bucket)
    value = status.get(field, 0) if isinstance(status, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
