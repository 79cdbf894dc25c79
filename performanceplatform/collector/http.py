"""Plain JSON-over-HTTP calls (Backdrop, Pingdom, Stagecraft) with timeouts, logging and retries.

One `HttpClient` per service. Each request: refuses to send credentials over plain http to anything
but a loopback address, has connect and read timeouts, logs what it did (status, bytes, duration),
and goes through the project's one retry policy. The transport is the client's own keep-alive
HTTP/1.1 connections (`connections`), which are thread-safe, so a backfill's worker threads share
one client and its connections; it costs half the client CPU a request that http.client did (a
sixth of what a `requests.Session` did), which a push of a million records (10,000 POSTs)
notices, and a fraction of urllib3's import time, which a realtime run every two minutes
notices. Responses are read in full into an `HttpResponse`. Whether a response is a success,
worth retrying or fatal is decided by a `classify` function, which a service can
replace to read its own error body or rate-limit headers.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import os
import threading
import time
from binascii import b2a_base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from performanceplatform.collector import __version__, progress
from performanceplatform.collector.connections import (
    ACCEPTED_ENCODINGS,
    ConnectTimeout,
    OriginPool,
    ReadTimeout,
    TransportError,
)
from performanceplatform.collector.errors import (
    ConfigurationError,
    FatalUpstreamError,
    RetryableError,
)
from performanceplatform.collector.redaction import register_secret
from performanceplatform.collector.retry import RetryPolicy

log = logging.getLogger(__name__)

USER_AGENT = f"pp-collector/{__version__}"
ALLOW_INSECURE_VARIABLE = "PP_COLLECTOR_ALLOW_INSECURE_HTTP"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ERROR_MESSAGE_LENGTH = 500
# URLs a client remembers as checked for `require_secure_transport` (a run calls a handful).
MAX_REMEMBERED_URLS = 1000
# How much of a transport error's own message `short_reason` keeps.
MAX_REASON_LENGTH = 200
# Idle keep-alive connections kept per host: requests' default, and GA4's cap on concurrency. A
# backfill set to more workers raises it to their number (see `HttpClient`).
DEFAULT_POOL_SIZE = 10

# The headers requests sent with every request, so that servers see the same requests as before;
# `Accept-Encoding` names the codings the client decodes (gzip, deflate), written as requests wrote it.
_DEFAULT_HEADERS = {
    "user-agent": ("User-Agent", USER_AGENT),
    "accept-encoding": ("Accept-Encoding", ACCEPTED_ENCODINGS),
    "accept": ("Accept", "*/*"),
    "connection": ("Connection", "keep-alive"),
}


class Headers(Mapping[str, str]):
    """Response headers, looked up case-insensitively; a header sent more than once reads as its
    values joined by ", ", as requests' did."""

    def __init__(self, items: Mapping[str, str] | list[tuple[str, str]] | None = None):
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in items.items() if isinstance(items, Mapping) else items or []:
            key = name.lower()
            if key in self._items:
                value = f"{self._items[key][1]}, {value}"
                name = self._items[key][0]
            self._items[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Any:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


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


@functools.lru_cache(maxsize=256)
def url_for_log(url: str) -> str:
    """The URL without user info; query strings are kept (secrets in them are redacted by the log filter)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class HttpResponse:
    """A response read in full: what `classify` functions and `HttpClient.request`'s callers get.

    `headers` are looked up case-insensitively (a plain dict given here is converted), and a header
    sent more than once reads as its values joined by ", ", as requests' did.
    """

    status_code: int
    headers: Mapping[str, str] = field(default_factory=Headers)
    # Not in the repr: a body may quote a credential (Backdrop's 401 does).
    content: bytes = field(default=b"", repr=False)
    reason: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))

    @property
    def charset(self) -> str | None:
        """The `charset` parameter of `Content-Type`, if the server named one."""
        _, _, parameters = self.headers.get("Content-Type", "").partition(";")
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "charset":
                return value.strip().strip("'\"") or None
        return None

    @property
    def text(self) -> str:
        """The body decoded as requests decoded it: the named charset, else ISO-8859-1 for text/*
        (HTTP/1.1's old default), else UTF-8; undecodable bytes become U+FFFD rather than failing."""
        encoding = self.charset
        if encoding is None:
            mime = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            encoding = "ISO-8859-1" if mime.startswith("text/") else "utf-8"
        try:
            return str(self.content, encoding, errors="replace")
        except LookupError:  # a charset Python does not know
            return str(self.content, "utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; `ValueError` if it is not JSON."""
        if self.charset is None:
            # json.loads detects UTF-8/16/32 from the bytes themselves, as requests did.
            return json.loads(self.content)
        return json.loads(self.text)


def retry_after_seconds(response: HttpResponse) -> float | None:
    """The wait a `Retry-After` header asks for, in seconds (number or HTTP date)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    # An HTTP date is rare (Google and Pingdom send seconds): its parser is imported for it alone.
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_message_from_body(response: HttpResponse) -> str:
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


def default_classify(service: str, response: HttpResponse) -> None:
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


Classifier = Callable[[str, HttpResponse], None]


class Authenticator(Protocol):
    """What gives a request its `Authorization` header (a bearer token that expires, say)."""

    def authorization(self) -> str:
        """The header's value, valid now (refreshed first if it had expired)."""
        ...

    def refresh_after_refusal(self, refused: str) -> bool:
        """The service answered 401 to `refused`: get a fresh credential. True: send again."""
        ...


class HttpClient:
    """Requests to one service, through the retry policy, with timeouts and a log line each.

    Safe to share between threads: the pool manager hands each concurrent request a connection of
    its own and keeps up to `pool_size` idle keep-alive connections per host for the next ones.
    """

    def __init__(
        self,
        service: str,
        *,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        classify: Classifier = default_classify,
        pool_size: int | None = None,
        source: bool = True,
    ):
        self.service = service
        # Whether its requests count as the run's source requests (Backdrop's and the token
        # endpoint's do not) in the progress display and the run's summary line.
        self.source = source
        self.retry = retry or RetryPolicy.from_environment()
        self.timeouts = timeouts or Timeouts.from_environment()
        self.classify = classify
        # A backfill's workers may all call one host at once: a request never waits for a free
        # connection (one more is opened, and closed afterwards), and as many idle ones are kept
        # as there are workers (`--concurrency`, which the caller passes), never fewer than
        # requests' 10. Idle slots cost nothing.
        self._pool_size = max(DEFAULT_POOL_SIZE, pool_size or 0)
        # Worked out once per URL: whether credentials may go there, and which pool serves it.
        self._secure_urls: set[str] = set()
        self._pools: dict[str, OriginPool] = {}
        self._pools_lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        auth: tuple[str, str] | None = None,
        authenticator: Authenticator | None = None,
        classify: Classifier | None = None,
        sends_credentials: bool = True,
        log_success: bool = True,
    ) -> HttpResponse:
        """Send one request (retried per the policy) and return its answer once `classify` (this
        request's, else the client's) accepts it.

        An `authenticator` gives each attempt its `Authorization` header, and a 401 one fresh
        credential: the attempt is sent once more with it (both sends logged) before `classify`
        reads the answer. Every request is logged, except a successful one when `log_success` is
        off: a caller that logs each of its requests in its own words (Backdrop, a line per chunk)
        turns it off.
        """
        accept = classify or self.classify
        if sends_credentials and url not in self._secure_urls:
            require_secure_transport(url, f"{self.service} credentials")
            if len(self._secure_urls) < MAX_REMEMBERED_URLS:
                self._secure_urls.add(url)
        all_headers = merged_headers(headers, auth or credentials_in_url(url))
        shown_url = url_for_log(url)
        full_url = url_with_params(url, params) if params else url
        pool, request_uri = self._pool_for(full_url)

        def send(sent_headers: dict[str, str]) -> HttpResponse:
            started = time.monotonic()
            if self.source:
                progress.note(progress.REQUEST, service=self.service)
            try:
                # The same bytes object every attempt: a retry resends the whole body. A 3xx is the
                # service's answer (as requests was told, allow_redirects=False).
                answer = pool.request(method, request_uri, body, sent_headers)
            except (ConnectTimeout, ReadTimeout) as error:
                log.info("%s %s: timed out after %.3f s", method, shown_url, time.monotonic() - started)
                # Named as requests named them, which is what messages have always shown.
                name = "ConnectTimeout" if isinstance(error, ConnectTimeout) else "ReadTimeout"
                raise RetryableError(
                    f"{self.service} did not answer {method} {shown_url} in time ({name})",
                    service=self.service,
                ) from None
            # Refused, reset, dropped, a TLS failure, a body cut short: the service was not reached.
            except TransportError as error:
                raise self._unreachable(method, shown_url, started, error) from None
            response = HttpResponse(answer.status, Headers(answer.headers), answer.body, answer.reason)
            succeeded = 200 <= response.status_code < 300
            if log_success or not succeeded:
                # Each request is detail (DEBUG); one that was refused is news.
                log.log(
                    logging.DEBUG if succeeded else logging.INFO,
                    "%s %s -> %d (%d bytes sent, %d bytes received, %.3f s)",
                    method,
                    shown_url,
                    response.status_code,
                    len(body or b""),
                    len(response.content),
                    time.monotonic() - started,
                )
            return response

        def attempt() -> HttpResponse:
            if authenticator is None:
                response = send(all_headers)
            else:
                sent_headers = {**all_headers, "Authorization": authenticator.authorization()}
                response = send(sent_headers)
                if response.status_code == 401 and authenticator.refresh_after_refusal(sent_headers["Authorization"]):
                    response = send({**all_headers, "Authorization": authenticator.authorization()})
            accept(self.service, response)
            return response

        return self.retry.call(attempt, description=f"{self.service} {method} {shown_url}")

    def close(self) -> None:
        """Close the idle keep-alive connections (a request afterwards opens new ones)."""
        with self._pools_lock:
            pools = list(self._pools.values())
        for pool in pools:
            pool.close()

    def _pool_for(self, url: str) -> tuple[OriginPool, str]:
        """The connection pool for `url`'s host, and the path and query to ask it for."""
        (scheme, host, port), request_uri = _origin_and_request_uri(url)
        origin = f"{scheme}://{host}:{port}"
        pool = self._pools.get(origin)
        if pool is None:
            with self._pools_lock:
                pool = self._pools.get(origin)
                if pool is None:
                    pool = self._pools[origin] = OriginPool(
                        scheme, host, port, connect=self.timeouts.connect, read=self.timeouts.read,
                        max_idle=self._pool_size,
                    )
        return pool, request_uri

    def _unreachable(self, method: str, shown_url: str, started: float, error: BaseException) -> RetryableError:
        log.info(
            "%s %s: connection failed after %.3f s: %s",
            method,
            shown_url,
            time.monotonic() - started,
            type(error).__name__,
        )
        return RetryableError(
            f"could not reach {self.service} for {method} {shown_url}: {short_reason(error)}",
            service=self.service,
        )

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


@functools.lru_cache(maxsize=256)
def _origin_and_request_uri(url: str) -> tuple[tuple[str, str, int | None], str]:
    """(scheme, host, port) and the path and query a request for `url` asks for."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"expected an http:// or https:// URL, got {url_for_log(url)!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.scheme, parts.hostname, parts.port), target


def merged_headers(headers: Mapping[str, str | None] | None, auth: tuple[str, str] | None) -> dict[str, str]:
    """requests' default headers overridden by `headers` (case-insensitively, in requests' order;
    a None value drops a header), then `auth` as a Basic `Authorization` header, as requests did."""
    merged = dict(_DEFAULT_HEADERS)
    for name, value in (headers or {}).items():
        merged[name.lower()] = (name, value)
    if auth is not None:
        merged["authorization"] = ("Authorization", basic_authorization(*auth))
    return {name: value for name, value in merged.values() if value is not None}


def basic_authorization(user: str, password: str) -> str:
    """`Basic base64(user:password)`, encoded as requests encoded it (Latin-1).

    The encoded pair reveals the password as surely as the password does, so it is registered for
    redaction too. Every time, not once per process: each in-process CLI run forgets its secrets.
    """
    credentials = b2a_base64(user.encode("latin1") + b":" + password.encode("latin1"), newline=False).decode("ascii")
    register_secret(credentials)
    return f"Basic {credentials}"


def credentials_in_url(url: str) -> tuple[str, str] | None:
    """`user:password@` in a URL, which requests sent as basic auth when no `auth` was given."""
    if "@" not in url:
        return None
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return None
    return unquote(parts.username or ""), unquote(parts.password or "")


def url_with_params(url: str, params: Mapping[str, Any]) -> str:
    """`url` with `params` added to its query as requests added them: a list value repeats its key,
    None values are left out, the rest are form-encoded after any query the URL already has."""
    pairs = []
    for key, values in params.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        pairs.extend((key, value) for value in values if value is not None)
    if not pairs:
        return url
    encoded = urlencode(pairs, doseq=True)
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=f"{parts.query}&{encoded}" if parts.query else encoded))


def json_body(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def short_reason(error: BaseException, *, limit: int = MAX_REASON_LENGTH) -> str:
    """The cause of a transport error in a few words, without the noise of its wrapping.

    Starts at `error` and walks down the chain of causes, stopping at the first `OSError` that says
    what went wrong ("ConnectionRefusedError: Connection refused"). Failing that, for the transport
    errors `HttpClient` catches, whose message is the informative part: `error`'s message, cut at
    `limit` characters with an ellipsis.
    """
    cause: BaseException = error
    if isinstance(cause, OSError) and cause.strerror:
        return f"{type(cause).__name__}: {cause.strerror}"
    # A set rather than comparing each link with its own parent: a longer cycle must end too.
    seen = {id(cause)}
    while True:
        inner = cause.__context__
        if inner is None or id(inner) in seen:
            break
        seen.add(id(inner))
        cause = inner
        if isinstance(cause, OSError) and cause.strerror:
            return f"{type(cause).__name__}: {cause.strerror}"
    reason = str(error)
    return reason if len(reason) < limit else reason[:limit] + "…"
