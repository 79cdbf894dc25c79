"""The Google transport Universal Analytics (Core Reporting v3) speaks through: discovery, auth,
execute, retry. (The GA4 Data API is plain JSON over the project's `HttpClient`: `data_api.client`.)

A Google API service is built from the discovery document google-api-python-client ships (no
discovery request at run time), over an httplib2 connection with a timeout, authorised by
google-auth credentials (`auth`, refreshed as `bearer` says); every request goes through the
project's one retry policy (`execute`), Google's errors become the project's (`google_errors`), and
each is logged on one line (status, bytes, duration).

An optional `API_ROOT` in the credentials file replaces Google's root URL (`google_account`), so
tests and the demo can point the collector at stand-ins.

A backfill's worker threads share one client. httplib2's `Http` is not thread-safe, so each thread
gets a service (and connection) of its own (`ServicePerThread`), all built from the discovery
document parsed once per process (`discovery_document`); the credentials are shared, and refreshed
by one thread at a time, the others then using its token.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, Self

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials
from googleapiclient import discovery_cache
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.model import JsonModel

from performanceplatform.collector import exact_json, progress
from performanceplatform.collector.errors import (
    CollectorError,
    ConfigurationError,
    FatalUpstreamError,
    RetryableError,
)
from performanceplatform.collector.ga.bearer import ensure_valid
from performanceplatform.collector.ga.google_errors import ERRORS_GUIDE, SERVICE, classify_http_error
from performanceplatform.collector.http import Timeouts, url_for_log
from performanceplatform.collector.retry import RetryPolicy

log = logging.getLogger(__name__)

# Failures to reach Google at all (timeouts, resets, DNS): worth another attempt.
CONNECTION_ERRORS = (
    google.auth.exceptions.TransportError,
    OSError,
    httplib2.HttpLib2Error,
    http.client.HTTPException,
)


_DISCOVERY_LOCK = threading.Lock()
_DISCOVERY_DOCUMENTS: dict[tuple[str, str], dict[str, Any]] = {}


def discovery_document(name: str, version: str) -> dict[str, Any]:
    """The discovery document google-api-python-client ships for an API, parsed once per process.

    Reading it is what `build(static_discovery=True)` does on every call: 200 KB of JSON for
    `analytics` v3, and a backfill builds a service per worker thread. The lock makes "once" hold
    when workers build theirs at the same moment. The document is only read, never changed.
    """
    with _DISCOVERY_LOCK:
        document = _DISCOVERY_DOCUMENTS.get((name, version))
        if document is None:
            content = discovery_cache.get_static_doc(name, version)
            if content is None:
                raise CollectorError(f"google-api-python-client has no discovery document for {name} {version}")
            document = _DISCOVERY_DOCUMENTS[(name, version)] = json.loads(content)
        return document


def build_service(name: str, version: str, http: Any, api_endpoint: str) -> Any:
    """A googleapiclient service for one API, on `http`, sending its requests under `api_endpoint`."""
    return build_from_document(
        discovery_document(name, version),
        http=http,
        client_options={"api_endpoint": api_endpoint},
        model=OrjsonModel(),
    )


class OrjsonModel(JsonModel):
    """googleapiclient's JSON model (without a data wrapper, as `build` makes it), decoding answers
    with `exact_json`: a page of thousands of rows decodes in half the time, to what the library
    would have made of it."""

    def __init__(self) -> None:
        super().__init__(data_wrapper=False)

    def deserialize(self, content: bytes | str) -> Any:
        return exact_json.loads(content, stdlib=super().deserialize)


class ServicePerThread:
    """A service for each thread that asks: httplib2's `Http`, under every service, is not thread-safe."""

    def __init__(self, make_service: Callable[[], Any]):
        self._make_service = make_service
        self._local = threading.local()
        self._lock = threading.Lock()
        self._built: list[Any] = []
        self._closed = False

    def get(self) -> Any:
        service = getattr(self._local, "service", None)
        if service is None:
            service = self._make_service()
            with self._lock:
                closed = self._closed
                if not closed:
                    self._built.append(service)
            if closed:
                service.close()
            else:
                self._local.service, self._local.resources = service, {}
        if self._closed:
            # A worker still busy when the run ended (a later period, after one failed) must
            # not open connections nobody will close: its request fails here, and is not retried.
            raise RuntimeError("the Google Analytics client is closed")
        return service

    def resource(self, path: str) -> Any:
        """The calling thread's `service.a().b()` for `path` "a.b", made once: making one builds
        every method of it from the discovery document, milliseconds a time, once per request
        otherwise."""
        service = self.get()
        resources: dict[str, Any] = self._local.resources
        found = resources.get(path)
        if found is None:
            found = service
            for name in path.split("."):
                found = getattr(found, name)()
            resources[path] = found
        return found

    def close(self) -> None:
        """Close every thread's connection; no thread gets a service afterwards."""
        with self._lock:
            self._closed = True
            built, self._built = self._built, []
        for service in built:
            service.close()


class LoggedAuthorizedHttp(google_auth_httplib2.AuthorizedHttp):
    """google-auth's authorised httplib2 transport, logging one line per request it sends."""

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        started = time.monotonic()
        shown = url_for_log(uri)
        progress.note(progress.REQUEST, service=SERVICE)
        try:
            # Worker threads share the credentials: one refreshes, the others wait and then find
            # them valid, rather than each asking the token endpoint for a token.
            ensure_valid(self.credentials, self._request)
            response, content = super().request(uri, method, body=body, headers=headers, **kwargs)
        except Exception as error:
            log.info(
                "%s %s: failed after %.3f s: %s", method, shown, time.monotonic() - started, type(error).__name__
            )
            raise
        log.log(
            logging.DEBUG if 200 <= response.status < 300 else logging.INFO,
            "%s %s -> %d (%d bytes received, %.3f s)",
            method,
            shown,
            response.status,
            len(content or b""),
            time.monotonic() - started,
        )
        return response, content


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
    source: str = "query file",
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
            raise ConfigurationError(f"{error} in the {what}", source=source, key=key) from None
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


class GoogleApiClient:
    """Requests to one Google API (a service per thread), each sent under the retry policy; thread-safe.

    Subclasses name the API (`api`, `version`), what the credentials must be able to read
    (`resource`) and where Google documents its errors (`guide`), and add their requests.
    """

    api: ClassVar[str]
    version: ClassVar[str]
    resource: ClassVar[str] = "view"
    guide: ClassVar[str] = ERRORS_GUIDE

    def __init__(self, services: ServicePerThread, *, retry: RetryPolicy | None = None, query_source: str = "query"):
        self._services = services
        self.retry = retry or RetryPolicy.from_environment()
        self.query_source = query_source

    @classmethod
    def build(
        cls,
        google_credentials: Credentials,
        *,
        api_endpoint: str,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        query_source: str = "query",
        **extra: Any,
    ) -> Self:
        services = ServicePerThread(
            lambda: build_service(cls.api, cls.version, authorized_http(google_credentials, timeout), api_endpoint)
        )
        # Built now, so that a broken installation fails before any request.
        services.get()
        return cls(services, retry=retry, query_source=query_source, **extra)

    def call(self, path: str, method: str, what: str, **parameters: Any) -> dict[str, Any]:
        """`service.<path>().<method>(**parameters)`, executed; `what` names it in logs and errors."""
        return execute(
            lambda: getattr(self._services.resource(path), method)(**parameters),
            what,
            retry=self.retry,
            key="query",
            source=self.query_source,
            resource=self.resource,
            guide=self.guide,
        )

    def close(self) -> None:
        self._services.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
