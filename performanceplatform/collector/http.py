"""Plain JSON-over-HTTP calls (Backdrop, Pingdom, Stagecraft) with timeouts, logging and retries.

One `HttpClient` per service. Each request: refuses to send credentials over plain http to anything
but a loopback address, has connect and read timeouts, logs what it did (status, bytes, duration),
and goes through the project's one retry policy. A client may be shared by a backfill's worker
threads: each thread gets a `requests.Session` of its own, as requests does not promise that one
session is safe to use from several threads at once. Whether a response is a success, worth retrying or
fatal is decided by a `classify` function, which a service can replace to read its own error body
or rate-limit headers.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from performanceplatform.collector import __version__
from performanceplatform.collector.errors import (
    ConfigurationError,
    FatalUpstreamError,
    RetryableError,
)
from performanceplatform.collector.redaction import redact
from performanceplatform.collector.retry import RetryPolicy

log = logging.getLogger(__name__)

USER_AGENT = f"pp-collector/{__version__}"
ALLOW_INSECURE_VARIABLE = "PP_COLLECTOR_ALLOW_INSECURE_HTTP"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ERROR_MESSAGE_LENGTH = 500
# How much of a transport error's own message `short_reason` keeps.
MAX_REASON_LENGTH = 200


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    read: float = 60.0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Timeouts:
        environ = os.environ if environ is None else environ
        values = {}
        for variable, attribute in (
            ("PP_COLLECTOR_CONNECT_TIMEOUT", "connect"),
            ("PP_COLLECTOR_READ_TIMEOUT", "read"),
        ):
            raw = environ.get(variable)
            if raw:
                try:
                    values[attribute] = float(raw)
                except ValueError:
                    raise ConfigurationError(
                        f"expected a number of seconds, got {raw!r}",
                        source=f"environment variable {variable}",
                    ) from None
                if values[attribute] <= 0:
                    raise ConfigurationError(
                        f"expected a positive number of seconds, got {raw!r}",
                        source=f"environment variable {variable}",
                    )
        return cls(**values)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_secure_transport(url: str, what: str, environ: Mapping[str, str] | None = None) -> None:
    """Refuse to send `what` (a token, a password) over plain http to a non-loopback host."""
    environ = os.environ if environ is None else environ
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return
    if parts.scheme == "http" and environ.get(ALLOW_INSECURE_VARIABLE, "").lower() == "true":
        log.warning("sending %s over plain http to %s (%s=true)", what, parts.hostname, ALLOW_INSECURE_VARIABLE)
        return
    if parts.scheme not in ("http", "https"):
        raise ConfigurationError(f"expected an http:// or https:// URL, got {url_for_log(url)!r}")
    raise ConfigurationError(
        f"refusing to send {what} over plain http to {parts.hostname}; use https "
        f"(or set {ALLOW_INSECURE_VARIABLE}=true to accept the risk)"
    )


def url_for_log(url: str) -> str:
    """The URL without user info; query strings are kept (secrets in them are redacted by the log filter)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def retry_after_seconds(response: requests.Response) -> float | None:
    """The wait a `Retry-After` header asks for, in seconds (number or HTTP date)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_message_from_body(response: requests.Response) -> str:
    """The server's own explanation: a JSON `message`/`messages`/`error`, else the text."""
    text = response.text or ""
    try:
        body = response.json()
    except ValueError:
        body = None
    message: Any = None
    if isinstance(body, dict):
        for key in ("message", "messages", "error", "errors"):
            if key in body:
                message = body[key]
                break
        if isinstance(message, dict):
            message = message.get("message") or message.get("errormessage") or message
        if isinstance(message, list):
            message = "; ".join(str(item) for item in message)
    if message is None:
        message = " ".join(text.split())
    message = str(message)
    if len(message) > MAX_ERROR_MESSAGE_LENGTH:
        message = message[:MAX_ERROR_MESSAGE_LENGTH] + "…"
    return message or (response.reason or "no message")


def default_classify(service: str, response: requests.Response) -> None:
    """Return for a 2xx; raise `RetryableError` for 429 and 5xx; `FatalUpstreamError` otherwise."""
    if 200 <= response.status_code < 300:
        return
    message = f"{service} answered {response.status_code}: {error_message_from_body(response)}"
    if response.status_code in RETRYABLE_STATUSES:
        raise RetryableError(
            message,
            service=service,
            status=response.status_code,
            retry_after=retry_after_seconds(response),
        )
    raise FatalUpstreamError(message, service=service, status=response.status_code)


Classifier = Callable[[str, requests.Response], None]


class HttpClient:
    """Requests to one service, through the retry policy, with timeouts and a log line each."""

    def __init__(
        self,
        service: str,
        *,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        classify: Classifier = default_classify,
        session: requests.Session | None = None,
    ):
        self.service = service
        self.retry = retry or RetryPolicy.from_environment()
        self.timeouts = timeouts or Timeouts.from_environment()
        self.classify = classify
        self._given_session = session
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        """The session of the calling thread (or the one given, for every thread)."""
        if self._given_session is not None:
            session = self._given_session
        else:
            session = getattr(self._local, "session", None)
            if session is None:
                session = self._local.session = requests.Session()
        # Proxies and .netrc from the environment must not redirect credentials.
        session.trust_env = False
        return session

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        auth: tuple[str, str] | None = None,
        sends_credentials: bool = True,
    ) -> requests.Response:
        if sends_credentials:
            require_secure_transport(url, f"{self.service} credentials")
        all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        shown_url = url_for_log(url)

        def attempt() -> requests.Response:
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=all_headers,
                    params=params,
                    data=body,
                    auth=auth,
                    timeout=(self.timeouts.connect, self.timeouts.read),
                    allow_redirects=False,
                )
            except requests.Timeout as error:
                log.info(
                    "%s %s: timed out after %.3f s", method, shown_url, time.monotonic() - started
                )
                raise RetryableError(
                    f"{self.service} did not answer {method} {shown_url} in time ({type(error).__name__})",
                    service=self.service,
                ) from None
            except requests.RequestException as error:
                log.info(
                    "%s %s: connection failed after %.3f s: %s",
                    method,
                    shown_url,
                    time.monotonic() - started,
                    type(error).__name__,
                )
                raise RetryableError(
                    f"could not reach {self.service} for {method} {shown_url}: {short_reason(error)}",
                    service=self.service,
                ) from None
            log.info(
                "%s %s -> %d (%d bytes sent, %d bytes received, %.3f s)",
                method,
                shown_url,
                response.status_code,
                len(body or b""),
                len(response.content),
                time.monotonic() - started,
            )
            self.classify(self.service, response)
            return response

        return self.retry.call(attempt, description=f"{self.service} {method} {shown_url}")

    def get_json(self, url: str, **kwargs: Any) -> Any:
        response = self.request("GET", url, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise FatalUpstreamError(
                f"{self.service} answered {response.status_code} with a body that is not JSON: "
                f"{' '.join(response.text.split())[:200]!r}",
                service=self.service,
                status=response.status_code,
            ) from None


def json_body(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def short_reason(error: BaseException, *, innermost: bool = False, limit: int = MAX_REASON_LENGTH) -> str:
    """The cause of a transport error in a few words, without the noise of its wrapping.

    Walks down the chain of causes and stops at the first `OSError` that says what went wrong
    ("ConnectionRefusedError: Connection refused"). Failing that:

    - by default, for `requests`' own errors, whose message is the informative part: `error`'s
      message, cut at `limit` characters with an ellipsis;
    - with `innermost`, for an error a library wrapped round `requests`' (google-auth's
      `TransportError`): the innermost cause's type and message, redacted and cut at `limit`. The
      walk then follows explicit causes (`raise ... from`) before the implicit context, as such
      wrappers set them.

    The two modes name the same failure differently (a TLS failure, say), so each caller keeps the
    wording its messages have always had.
    """
    cause: BaseException = error
    # A set rather than comparing each link with its own parent: a longer cycle must end too.
    seen = {id(cause)}
    while True:
        inner = (cause.__cause__ or cause.__context__) if innermost else cause.__context__
        if inner is None or id(inner) in seen:
            break
        seen.add(id(inner))
        cause = inner
        if isinstance(cause, OSError) and cause.strerror:
            return f"{type(cause).__name__}: {cause.strerror}"
    if innermost:
        return redact(type(cause).__name__ + (f": {cause}" if str(cause) else ""))[:limit]
    reason = str(error)
    return reason if len(reason) < limit else reason[:limit] + "…"
