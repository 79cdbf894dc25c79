"""The GA4 Data API client: `runReport` and `runRealtimeReport`, JSON over HTTPS through `HttpClient`.

The Data API is plain JSON over HTTPS, so its requests go through the project's one HTTP client
(timeouts, one log line per request, the retry policy), authorised by google-auth credentials
(`bearer`: a token valid before each request, one fresh token after a 401, shared by a backfill's
worker threads), with Google's errors read as the project's (`google_errors`, `RESOURCE_EXHAUSTED`
quota waits included). No discovery document is read and google-api-python-client is not imported:
a realtime run every two minutes does not pay for it. The requests are the ones
google-api-python-client sent: `POST {root}v1beta/properties/<n>:runReport?alt=json` with the body
as `json.dumps` writes it.

Each request asks for `returnPropertyQuota`, and the tokens it consumed are logged, so a property's
quota can be watched from the logs.

`API_ROOT` in the credentials file replaces `https://analyticsdata.googleapis.com/`: requests go to
`{API_ROOT}v1beta/properties/<n>:runReport`, so tests and the demo can use the stand-in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from performanceplatform.collector import exact_json
from performanceplatform.collector.concurrency import GA4_MAX_CONCURRENCY
from performanceplatform.collector.context import RunContext
from performanceplatform.collector.errors import FatalUpstreamError
from performanceplatform.collector.ga.bearer import GoogleBearer
from performanceplatform.collector.ga.google_account import api_root_from, google_credentials
from performanceplatform.collector.ga.google_errors import SERVICE, raise_for_answer
from performanceplatform.collector.http import HttpClient

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

log = logging.getLogger(__name__)

DATA_API_ROOT = "https://analyticsdata.googleapis.com/"
VERSION = "v1beta"
GUIDE = "https://developers.google.com/analytics/devguides/reporting/data/v1"
# What the credentials must be able to read, in error messages.
RESOURCE = "property"
# The quota buckets worth a line in the log, as `propertyQuota` names them.
QUOTA_BUCKETS = (("tokensPerHour", "this hour"), ("tokensPerDay", "today"))
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


class DataApiClient:
    """`runReport` and `runRealtimeReport` for GA4 properties; thread-safe."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_root: str = DATA_API_ROOT,
        http: HttpClient | None = None,
        query_source: str = "query",
    ):
        self.api_root = api_root if api_root.endswith("/") else api_root + "/"
        self.query_source = query_source
        self._bearer = GoogleBearer(credentials)
        # A connection for each of a backfill's workers: GA4 allows 10 requests at once.
        self._http = http or HttpClient(SERVICE, pool_size=GA4_MAX_CONCURRENCY)

    def run_report(self, property_: str, body: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """`POST v1beta/{property}:runReport`; `what` names the request in logs and errors."""
        response = self._post(f"{property_}:runReport", body, what)
        log_quota(what, response)
        return response

    def run_realtime_report(self, property_: str, body: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """`POST v1beta/{property}:runRealtimeReport`."""
        response = self._post(f"{property_}:runRealtimeReport", body, what)
        log_quota(what, response)
        return response

    def get_metadata(self, property_: str) -> dict[str, Any]:
        """`GET v1beta/{property}/metadata`: the property's dimensions and metrics, custom ones included."""
        return self._get(f"{property_}/metadata", f"getMetadata request for {property_}")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post(self, path: str, body: Mapping[str, Any], what: str) -> dict[str, Any]:
        """`POST {root}v1beta/{path}` with `body` as JSON; the answer, a JSON object."""
        return self._call("POST", path, what, json.dumps(dict(body)).encode("utf-8"))

    def _get(self, path: str, what: str) -> dict[str, Any]:
        """`GET {root}v1beta/{path}`; the answer, a JSON object."""
        return self._call("GET", path, what, None)

    def _call(self, method: str, path: str, what: str, body: bytes | None) -> dict[str, Any]:
        response = self._http.request(
            method,
            f"{self.api_root}{VERSION}/{path}",
            params={"alt": "json"},
            headers=JSON_HEADERS,
            body=body,
            authenticator=self._bearer,
            classify=raise_for_answer(what, resource=RESOURCE, guide=GUIDE),
        )
        try:
            answer = exact_json.loads(response.content)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise FatalUpstreamError(
                f"Google Analytics answered the {what} with a body that is not a JSON object: "
                f"{' '.join(response.text.split())[:200]!r}",
                service=SERVICE,
            )
        return answer


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
    # The Core Reporting default root (www.googleapis.com) is not the Data API's, so only a given one counts.
    return DataApiClient(
        google_credentials(context),
        api_root=api_root_from(context, default=DATA_API_ROOT),
        query_source=context.query_source,
    )


def _quota_number(quota: Mapping[str, Any], bucket: str, field: str) -> int | None:
    status = quota.get(bucket)
    value = status.get(field, 0) if isinstance(status, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
