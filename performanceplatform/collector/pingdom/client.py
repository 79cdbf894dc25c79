"""Pingdom's HTTP API, 2.0 (what the original spoke) and 3.1 (what Pingdom serves today).

Three parts, one job each: `connection_from_credentials` turns a credentials file into a base URL
and an authenticator; `classify` decides whether a response is a success, worth retrying (429,
5xx) or fatal (401, 403, anything else); `PingdomClient` looks a check up by name and fetches one
window of hourly summaries. Requests go through the shared `HttpClient`, so timeouts, the log line
per request, the refusal to send credentials over plain http and the one retry policy all apply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from performanceplatform.collector.errors import (
    ConfigurationError,
    FatalUpstreamError,
    RetryableError,
)
from performanceplatform.collector.http import (
    HttpClient,
    HttpResponse,
    error_message_from_body,
    retry_after_seconds,
)
from performanceplatform.collector.redaction import register_secret

log = logging.getLogger(__name__)

SERVICE = "Pingdom"
API_2_0_URL = "https://api.pingdom.com/api/2.0/"
API_3_1_URL = "https://api.pingdom.com/api/3.1/"

# Pingdom documents no maximum span for hourly summaries; its TMS report endpoint caps `hour` at a
# week and a day, so a week a request stays inside any limit the summary endpoint may share.
MAX_HOURLY_SPAN = timedelta(days=7)

# `GET checks` returns at most 25,000 checks a page (3.1 OpenAPI spec); ask for the most.
CHECKS_PAGE_LIMIT = 25_000
# A server that keeps answering with pages would otherwise loop for ever.
MAX_CHECK_PAGES = 1_000

RATE_LIMIT_HEADERS = ("Req-Limit-Short", "Req-Limit-Long")
RATE_LIMIT_PATTERN = re.compile(r"Remaining:\s*(\d+)\s*Time until reset:\s*(\d+)")

TOKEN_KEYS = ("api_token",)
BASIC_KEYS = ("user", "password", "app_key")
OPTIONAL_KEYS = ("account_email", "api_url")
# The CLI's JSON loader may add the file's own path to every loaded config (as the original did).
PATH_KEY = "path_to_json_file"
ACCEPTED_SHAPES = (
    'expected either {"api_token"} (Pingdom API 3.1) or {"user", "password", "app_key"} with an '
    'optional "account_email" (Pingdom API 2.0); either may add "api_url" to replace the base URL'
)


@dataclass(frozen=True)
class Connection:
    """Where one Pingdom account is and how to authenticate to it."""

    version: str
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    auth: tuple[str, str] | None = field(default=None, repr=False)

    def url(self, path: str) -> str:
        return self.base_url + path


@dataclass(frozen=True)
class Check:
    id: int
    name: str


@dataclass(frozen=True)
class HourlySummary:
    """One hour of a check's performance, as Pingdom reported it (values passed through as-is)."""

    start: datetime
    avgresponse: Any
    uptime: Any
    downtime: Any
    unmonitored: Any


# Credentials ------------------------------------------------------------------------------------


def connection_from_credentials(credentials: Mapping[str, Any], *, source: str = "credentials file") -> Connection:
    """The API version, base URL and authentication a credentials file describes.

    An `api_token` selects API 3.1 with a bearer token; `user`, `password` and `app_key` select
    API 2.0 with basic auth and the `App-Key` (and, for multi-user accounts, `Account-Email`)
    headers. The secrets are registered for redaction before anything can log them.
    """
    source = _credentials_source(credentials, source)
    if not isinstance(credentials, Mapping):
        raise ConfigurationError(f"{ACCEPTED_SHAPES}; got {type(credentials).__name__}", source=source)
    for key in (*TOKEN_KEYS, *BASIC_KEYS):
        register_secret(credentials.get(key))
    present = [key for key in credentials if key != PATH_KEY]

    if "api_token" in credentials:
        token = _string(credentials, "api_token", source)
        base_url = _base_url(credentials, API_3_1_URL, source)
        ignored = [key for key in BASIC_KEYS if key in credentials]
        if ignored:
            # Both shapes in one file: the token is today's API, so it wins; say so once.
            log.info(
                "%s has an api_token; using Pingdom API 3.1 and ignoring %s",
                source,
                ", ".join(ignored),
            )
        return Connection("3.1", base_url, {"Authorization": f"Bearer {token}"}, None)

    basic_present = [key for key in BASIC_KEYS if key in credentials]
    if not basic_present:
        raise ConfigurationError(
            f"{ACCEPTED_SHAPES}; found {_describe_keys(present)}", source=source
        )
    missing = [key for key in BASIC_KEYS if key not in credentials]
    if missing:
        raise ConfigurationError(
            f"missing {', '.join(repr(key) for key in missing)}: {ACCEPTED_SHAPES}; "
            f"found {_describe_keys(present)}",
            source=source,
        )
    user = _string(credentials, "user", source)
    password = _string(credentials, "password", source)
    headers = {"App-Key": _string(credentials, "app_key", source)}
    if credentials.get("account_email") is not None:
        headers["Account-Email"] = _string(credentials, "account_email", source)
    base_url = _base_url(credentials, API_2_0_URL, source)
    return Connection("2.0", base_url, headers, (user, password))


def _credentials_source(credentials: Any, source: str) -> str:
    if isinstance(credentials, Mapping) and isinstance(credentials.get(PATH_KEY), str):
        return f"credentials file {credentials[PATH_KEY]}"
    return source


def _describe_keys(keys: list[str]) -> str:
    return "keys " + ", ".join(repr(key) for key in keys) if keys else "no keys"


def _string(credentials: Mapping[str, Any], key: str, source: str) -> str:
    value = credentials.get(key)
    if not isinstance(value, str) or not value:
        # The value is not shown: it may be a secret.
        raise ConfigurationError(
            f"expected a non-empty string, got {type(value).__name__}", source=source, key=key
        )
    return value


def _base_url(credentials: Mapping[str, Any], default: str, source: str) -> str:
    if credentials.get("api_url") is None:
        return default
    url = _string(credentials, "api_url", source)
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"expected an http:// or https:// URL, got {url!r}", source=source, key="api_url"
        )
    # Paths are joined onto the base, so `…/api/3.1` and `…/api/3.1/` must mean the same.
    return url if url.endswith("/") else url + "/"


# Responses -------------------------------------------------------------------------------------


def pingdom_error_message(response: HttpResponse) -> str:
    """Pingdom's own explanation from `{"error": {"statuscode", "statusdesc", "errormessage"}}`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and (error.get("errormessage") or error.get("statusdesc")):
        description = error.get("statusdesc") or response.reason or ""
        message = error.get("errormessage") or ""
        return f"{description}: {message}" if description and message else description or message
    return error_message_from_body(response)


def rate_limits(headers: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """`{header: (remaining, seconds until reset)}` for the rate-limit headers present."""
    found = {}
    for name in RATE_LIMIT_HEADERS:
        value = headers.get(name)
        match = RATE_LIMIT_PATTERN.search(value) if value else None
        if match:
            found[name] = (int(match.group(1)), int(match.group(2)))
    return found


def rate_limit_wait(headers: Mapping[str, str]) -> float | None:
    """How long until every exhausted rate limit resets; None when none says it is exhausted."""
    exhausted = [reset for remaining, reset in rate_limits(headers).values() if remaining == 0]
    return float(max(exhausted)) if exhausted else None


def classify(service: str, response: HttpResponse) -> None:
    """Pingdom's `classify` hook for `HttpClient`.

    429 and 5xx are retryable, waiting as long as `Retry-After` or an exhausted `Req-Limit-*`
    header says (the retry policy bounds that wait and gives up on a month-long reset); anything
    else that is not 2xx is fatal, with Pingdom's own message.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    message = f"{service} answered {status} {pingdom_error_message(response)}"
    if status == 429 or status >= 500:
        wait = retry_after_seconds(response)
        if wait is None and status == 429:
            wait = rate_limit_wait(response.headers)
        limits = rate_limits(response.headers)
        if status == 429 and limits:
            message += " (" + "; ".join(
                f"{name}: {remaining} remaining, resets in {reset} s"
                for name, (remaining, reset) in limits.items()
            ) + ")"
        raise RetryableError(message, service=service, status=status, retry_after=wait)
    raise FatalUpstreamError(message, service=service, status=status)


# The client -------------------------------------------------------------------------------------


class PingdomClient:
    """Check lookup and hourly summaries for one Pingdom account."""

    def __init__(self, connection: Connection, http: HttpClient | None = None, *, pool_size: int | None = None):
        self.connection = connection
        self.http = http or HttpClient(SERVICE, classify=classify, pool_size=pool_size)

    @classmethod
    def from_credentials(
        cls, credentials: Mapping[str, Any], *, source: str = "credentials file", pool_size: int | None = None
    ) -> PingdomClient:
        return cls(connection_from_credentials(credentials, source=source), pool_size=pool_size)

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        body = self.http.get_json(
            self.connection.url(path),
            params=params,
            headers=self.connection.headers,
            auth=self.connection.auth,
        )
        if not isinstance(body, dict):
            raise _unexpected(path, f"expected a JSON object, got {type(body).__name__}")
        return body

    def checks(self) -> Iterator[dict[str, Any]]:
        """Every check of the account, following 3.1's `limit`/`offset` pages.

        API 2.0 (as the original used it) answers with all checks at once and no `counts`, so only
        one request is made there.
        """
        offset = 0
        for _ in range(MAX_CHECK_PAGES):
            params = None
            if self.connection.version != "2.0":
                params = {"limit": CHECKS_PAGE_LIMIT, "offset": offset}
            body = self._get("checks", params)
            page = body.get("checks")
            if not isinstance(page, list):
                raise _unexpected("checks", "no list of 'checks'")
            yield from (check for check in page if isinstance(check, dict))
            counts = body.get("counts")
            total = counts.get("total") if isinstance(counts, dict) else None
            offset += len(page)
            if params is None or not page or not isinstance(total, int) or offset >= total:
                return
        raise _unexpected("checks", f"still more checks after {MAX_CHECK_PAGES} pages")

    def find_check(self, name: str) -> Check:
        """The check called exactly `name`; the first, with a warning, if several are."""
        checks = list(self.checks())
        matches = [check for check in checks if check.get("name") == name]
        if not matches:
            names = [check["name"] for check in checks if isinstance(check.get("name"), str)]
            raise FatalUpstreamError(
                f"{SERVICE} has no check named {name!r} ({_closest_names(name, names)})",
                service=SERVICE,
            )
        if len(matches) > 1:
            log.warning(
                "%d Pingdom checks are named %r (ids %s); using the first, %s",
                len(matches),
                name,
                ", ".join(str(check.get("id")) for check in matches),
                matches[0].get("id"),
            )
        check_id = matches[0].get("id")
        if isinstance(check_id, str) and check_id.isdigit():
            check_id = int(check_id)
        if not isinstance(check_id, int) or isinstance(check_id, bool):
            raise _unexpected("checks", f"check {name!r} has no numeric id")
        return Check(check_id, name)

    def hourly_summary(self, check: Check, start: datetime, end: datetime) -> list[HourlySummary]:
        """The check's hours that start in [start, end), one request; the span must fit the API."""
        if end - start > MAX_HOURLY_SPAN:
            raise ValueError(f"{start}..{end} is longer than {MAX_HOURLY_SPAN}; split it first")
        path = f"summary.performance/{check.id}"
        window_from, window_to = _epoch(start), _epoch(end)
        body = self._get(
            path,
            {
                "includeuptime": "true",
                "resolution": "hour",
                # Integer UTC epochs: the original sent host-local `mktime` floats.
                "from": window_from,
                "to": window_to,
            },
        )
        summary = body.get("summary")
        hours = summary.get("hours") if isinstance(summary, dict) else None
        if not isinstance(hours, list):
            raise _unexpected(path, "no 'summary.hours' list")
        result = []
        for hour in hours:
            parsed = _hourly_summary(hour, path)
            # Only [from, to) belongs to this window: should Pingdom include the hour starting at
            # `to`, the next window would report it again.
            if window_from <= _epoch(parsed.start) < window_to:
                result.append(parsed)
        # Ascending is Pingdom's default order, but records are pushed in time order regardless.
        return sorted(result, key=lambda hour: hour.start)


def _hourly_summary(hour: Any, path: str) -> HourlySummary:
    keys = ("starttime", "avgresponse", "uptime", "downtime", "unmonitored")
    if not isinstance(hour, dict) or any(key not in hour for key in keys):
        raise _unexpected(path, f"an hour without all of {', '.join(keys)}: {hour!r}"[:300])
    starttime = hour["starttime"]
    if not isinstance(starttime, int) or isinstance(starttime, bool):
        raise _unexpected(path, f"a starttime that is not a UNIX time: {starttime!r}")
    return HourlySummary(
        start=datetime.fromtimestamp(starttime, UTC),
        avgresponse=hour["avgresponse"],
        uptime=hour["uptime"],
        downtime=hour["downtime"],
        unmonitored=hour["unmonitored"],
    )


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _closest_names(name: str, names: list[str]) -> str:
    if not names:
        return "the account has no checks"
    # Case is folded for the comparison because a wrong capital is the likeliest typo.
    by_folded: dict[str, str] = {}
    for candidate in names:
        by_folded.setdefault(candidate.casefold(), candidate)
    import difflib  # only for a check name that is not there

    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=5, cutoff=0.6)
    if not close:
        return f"none of the account's {len(names)} checks has a similar name"
    return "closest names: " + ", ".join(repr(by_folded[folded]) for folded in close)


def _unexpected(path: str, detail: str) -> FatalUpstreamError:
    return FatalUpstreamError(f"{SERVICE} answered {path} unexpectedly: {detail}", service=SERVICE)
