"""The Google Analytics API client: Core Reporting v3 and Real Time v3 through google-api-python-client.

The `analytics` v3 service is built from the discovery document the library ships (no discovery
request at run time), over an httplib2 connection with a timeout, authorised by google-auth
credentials. Every request goes through the project's one retry policy, is logged on one line
(status, bytes, duration) and, for Core Reporting, counted in statsd as the original did.

An optional `API_ROOT` in the credentials file replaces `https://www.googleapis.com/`, so tests and
the demo can point the collector at stand-ins.

`authorized_http` and `execute` (transport, retries, error mapping) are shared with the GA4 Data
API client, `ga4.client`.
"""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from performanceplatform.collector.errors import (
    CollectorError,
    ConfigurationError,
    FatalUpstreamError,
    RetryableError,
)
from performanceplatform.collector.ga.google_errors import ERRORS_GUIDE, SERVICE, classify_http_error
from performanceplatform.collector.ga.statsd import StatsdCounter, core_request_counter_name
from performanceplatform.collector.http import Timeouts, require_secure_transport, url_for_log
from performanceplatform.collector.retry import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_API_ROOT = "https://www.googleapis.com/"
API_ROOT_KEY = "API_ROOT"
CREDENTIALS_SOURCE = "credentials file"
# Failures to reach Google at all (timeouts, resets, DNS): worth another attempt.
CONNECTION_ERRORS = (
    google.auth.exceptions.TransportError,
    OSError,
    httplib2.HttpLib2Error,
    http.client.HTTPException,
)


def api_root_from(credentials: Mapping[str, Any]) -> str:
    """The root URL the Google APIs are reached under, ending in `/`."""
    root = credentials.get(API_ROOT_KEY) or DEFAULT_API_ROOT
    if not isinstance(root, str):
        raise ConfigurationError(
            f"expected a URL such as {DEFAULT_API_ROOT!r}, got {root!r}",
            source=CREDENTIALS_SOURCE,
            key=API_ROOT_KEY,
        )
    root = root if root.endswith("/") else root + "/"
    require_secure_transport(root, "the Google access token")
    return root


class LoggedAuthorizedHttp(google_auth_httplib2.AuthorizedHttp):
    """google-auth's authorised httplib2 transport, logging one line per request it sends."""

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        started = time.monotonic()
        shown = url_for_log(uri)
        try:
            response, content = super().request(uri, method, body=body, headers=headers, **kwargs)
        except Exception as error:
            log.info(
                "%s %s: failed after %.3f s: %s", method, shown, time.monotonic() - started, type(error).__name__
            )
            raise
        log.info(
            "%s %s -> %d (%d bytes received, %.3f s)",
            method,
            shown,
            response.status,
            len(content or b""),
            time.monotonic() - started,
        )
        return response, content


class GoogleAnalyticsClient:
    """Core Reporting and Real Time requests, each retried per the project's policy."""

    def __init__(
        self,
        service: Any,
        *,
        retry: RetryPolicy | None = None,
        statsd: StatsdCounter | None = None,
    ):
        self._service = service
        self.retry = retry or RetryPolicy.from_environment()
        self.statsd = statsd

    @classmethod
    def build(
        cls,
        google_credentials: Credentials,
        *,
        api_root: str = DEFAULT_API_ROOT,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        statsd: StatsdCounter | None = None,
    ) -> GoogleAnalyticsClient:
        service = build(
            "analytics",
            "v3",
            http=authorized_http(google_credentials, timeout),
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": f"{api_root}analytics/v3/"},
        )
        return cls(service, retry=retry, statsd=statsd)

    def core_report(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """One page of `GET analytics/v3/data/ga` for `parameters` (gapy's keyword names)."""
        ids = str(parameters.get("ids", ""))
        what = f"Core Reporting request for {ids} ({parameters.get('start_date')} to {parameters.get('end_date')})"

        # Counted once per page, however many attempts it takes, as the original's hook did.
        if self.statsd is not None:
            self.statsd.incr(core_request_counter_name(ids))
        return self._execute(lambda: self._service.data().ga().get(**parameters), what, key="query")

    def realtime_report(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """`GET analytics/v3/data/realtime` with the query file's keys as the API's parameters."""
        what = f"Real Time request for {parameters.get('ids')}"
        return self._execute(lambda: self._service.data().realtime().get(**parameters), what, key="query")

    def _execute(self, make_request: Callable[[], Any], what: str, *, key: str) -> dict[str, Any]:
        return execute(make_request, what, retry=self.retry, key=key)

    def close(self) -> None:
        self._service.close()

    def __enter__(self) -> GoogleAnalyticsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def authorized_http(google_credentials: Credentials, timeout: float | None = None) -> LoggedAuthorizedHttp:
    """The transport every Google API service here is built on: httplib2 with a timeout, authorised."""
    return LoggedAuthorizedHttp(
        google_credentials,
        http=httplib2.Http(timeout=timeout or Timeouts.from_environment().read),
        # A 401 gets one fresh token; if Google refuses that too, another will not help.
        max_refresh_attempts=1,
    )


def execute(
    make_request: Callable[[], Any],
    what: str,
    *,
    retry: RetryPolicy,
    key: str,
    resource: str = "view",
    guide: str = ERRORS_GUIDE,
) -> dict[str, Any]:
    """Build and send one Google API request under the retry policy; the answer must be a JSON object.

    Google's errors become the project's (`classify_http_error`: `resource` and `guide` name what
    the credentials must be able to read and where Google documents its errors).
    """

    def attempt() -> dict[str, Any]:
        try:
            request = make_request()
        except TypeError as error:
            # googleapiclient checks parameter names and required parameters locally.
            raise ConfigurationError(f"{error} in the {what}", source="query file", key=key) from None
        try:
            body = request.execute()
        except HttpError as error:
            raise classify_http_error(error, what, resource=resource, guide=guide) from None
        except CollectorError:
            raise
        except google.auth.exceptions.RefreshError as error:
            if getattr(error, "retryable", False):
                raise RetryableError(
                    f"could not refresh the Google access token: {error}", service=SERVICE
                ) from None
            raise FatalUpstreamError(
                f"Google refused to refresh the access token: {error}", service=SERVICE
            ) from None
        except CONNECTION_ERRORS as error:
            raise RetryableError(
                f"could not reach Google Analytics for the {what}: {type(error).__name__}: {error}",
                service=SERVICE,
            ) from None
        if not isinstance(body, dict):
            # googleapiclient hands back the text of a body that is not JSON.
            raise FatalUpstreamError(
                f"Google Analytics answered the {what} with a body that is not a JSON object: "
                f"{' '.join(str(body).split())[:200]!r}",
                service=SERVICE,
            )
        return body

    return retry.call(attempt, description=f"{SERVICE} {what}")


def open_client(credentials: Mapping[str, Any]) -> GoogleAnalyticsClient:
    """A client for the credentials file's account, reaching Google (or `API_ROOT`)."""
    from performanceplatform.collector.ga.auth import credentials_from_config

    api_root = api_root_from(credentials)
    google_credentials = credentials_from_config(credentials, source=CREDENTIALS_SOURCE)
    return GoogleAnalyticsClient.build(
        google_credentials, api_root=api_root, statsd=StatsdCounter.from_environment()
    )
