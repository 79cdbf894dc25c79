"""What a failed Google API call means: worth retrying, or fatal, with Google's own reason.

Google's error body is `{"error": {"errors": [{"domain", "reason", "message"}], "code", "message"}}`,
or, from the GA4 Data API, `{"error": {"code", "message", "status", "details"}}` (the status word
stands in for the reason). Rate limits and server trouble are retried (429, 5xx, and 403 with a
rate-limit reason; a GA4 429 `RESOURCE_EXHAUSTED` waits for its quota, see `quota_wait`);
anything else (400 bad query, 401 bad credentials, 403 no access to the view) fails at once,
naming the reason and Google's message so the person reading cron mail knows what to fix.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta, timezone, tzinfo
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from performanceplatform.collector.errors import (
    FatalUpstreamError,
    RetryableError,
    UpstreamError,
)
from performanceplatform.collector.periods import utc_now

if TYPE_CHECKING:
    from collections.abc import Callable

    from googleapiclient.errors import HttpError

    from performanceplatform.collector.http import HttpResponse

SERVICE = "Google Analytics"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RATE_LIMIT_REASONS = frozenset({"userRateLimitExceeded", "quotaExceeded", "rateLimitExceeded"})
ERRORS_GUIDE = "https://developers.google.com/analytics/devguides/reporting/core/v3/errors"
MAX_MESSAGE_LENGTH = 300
# GA4's answer (a gRPC status word) when a property's quota is used up.
QUOTA_EXHAUSTED = "RESOURCE_EXHAUSTED"
QUOTA_DAY_ZONE = "America/Los_Angeles"
HOUR = 3600.0


def reason_and_message(content: bytes | str | None, fallback: str) -> tuple[str, str]:
    """Google's `reason` and `message` from an error body; `fallback` (the HTTP reason) otherwise."""
    try:
        body: Any = json.loads(content or b"")
    except (TypeError, ValueError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    reason, message = "", ""
    if isinstance(error, dict):
        details = error.get("errors")
        if isinstance(details, list) and details and isinstance(details[0], dict):
            reason = str(details[0].get("reason") or "")
            message = str(details[0].get("message") or "")
        message = message or str(error.get("message") or "")
        # The newer error shape carries a status word instead of a reason.
        reason = reason or str(error.get("status") or "")
    message = " ".join(message.split())
    if len(message) > MAX_MESSAGE_LENGTH:
        message = message[:MAX_MESSAGE_LENGTH] + "…"
    return reason or fallback, message


def classify_http_error(
    error: HttpError, what: str, *, resource: str = "view", guide: str = ERRORS_GUIDE
) -> UpstreamError:
    """The project's error for Google's answer to `what` (e.g. "Core Reporting request for ga:1"),
    as google-api-python-client raised it (see `classify_answer`)."""
    value = error.resp.get("retry-after") if hasattr(error.resp, "get") else None
    return classify_answer(
        int(error.resp.status),
        getattr(error.resp, "reason", ""),
        error.content,
        value,
        what,
        resource=resource,
        guide=guide,
    )


def raise_for_answer(what: str, *, resource: str, guide: str) -> Callable[[str, HttpResponse], None]:
    """An `HttpClient` classifier for Google's answers to `what`: return for a 2xx, else raise
    `classify_answer`'s error."""

    def classify(service: str, response: HttpResponse) -> None:
        if 200 <= response.status_code < 300:
            return
        raise classify_answer(
            response.status_code,
            response.reason,
            response.content,
            response.headers.get("Retry-After"),
            what,
            resource=resource,
            guide=guide,
        )

    return classify


def classify_answer(
    status: int,
    reason_phrase: str,
    content: bytes | str | None,
    retry_after: str | None,
    what: str,
    *,
    resource: str = "view",
    guide: str = ERRORS_GUIDE,
) -> UpstreamError:
    """The project's error for Google's answer (`status`, its reason phrase, body and Retry-After
    header) to `what`.

    `resource` is what the credentials must be able to read (a UA view, a GA4 property) and
    `guide` the page documenting the API's errors.
    """
    fallback = reason_phrase or _phrase(status)
    reason, message = reason_and_message(content, fallback)
    text = f"Google Analytics answered {status} {reason} to the {what}"
    if message:
        text += f": {message}"
    if status in RETRYABLE_STATUSES or (status == 403 and reason in RATE_LIMIT_REASONS):
        wait = _seconds(retry_after)
        if status == 429 and reason == QUOTA_EXHAUSTED and wait is None:
            wait, note = quota_wait(content, message)
            text += note
        return RetryableError(text, service=SERVICE, status=status, retry_after=wait)
    if status == 401:
        text += " (the credentials were refused: check the credentials file)"
    elif status == 403:
        text += f" (check that the credentials' account can read this {resource})"
    return FatalUpstreamError(f"{text}; see {guide}", service=SERVICE, status=status)


def quota_wait(content: bytes | str | None, message: str) -> tuple[float | None, str]:
    """How long a GA4 `RESOURCE_EXHAUSTED` (429) says to wait, and a note for the error's text.

    Google's `RetryInfo` detail says exactly, when present. Otherwise the message names the quota
    (developers.google.com/analytics/devguides/reporting/data/v1/quotas): daily tokens return at
    midnight Pacific time, hourly ones within the hour; concurrent-request and other short limits
    get the retry policy's own backoff (None). The policy bounds every wait (its maximum delay),
    so a cron job gives up with this reason rather than sleep until the quota resets.
    """
    delay = _retry_info_delay(content)
    if delay is not None:
        return delay, ""
    lowered = message.lower()
    if "per day" in lowered:
        zone = _quota_day_zone()
        now = utc_now().astimezone(zone)
        midnight = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=zone)
        return (midnight - now).total_seconds(), " (GA4's daily tokens return at midnight Pacific time)"
    if "per hour" in lowered:
        return HOUR, " (GA4's hourly tokens return within the hour)"
    return None, ""


def _quota_day_zone() -> tzinfo:
    try:
        return ZoneInfo(QUOTA_DAY_ZONE)
    except ZoneInfoNotFoundError:
        # A host without time zone data: Pacific standard time is at most an hour out.
        return timezone(timedelta(hours=-8))


def _retry_info_delay(content: bytes | str | None) -> float | None:
    """`google.rpc.RetryInfo.retryDelay` ("1.5s") from the error's `details`, if there."""
    try:
        body: Any = json.loads(content or b"")
    except (TypeError, ValueError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _seconds(value: str | None) -> float | None:
    """A Retry-After header's seconds (Google sends a number)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _phrase(status: int) -> str:
    """The standard reason phrase of a status (what `http.client.responses` holds, without
    importing http.client in a run that speaks HTTP through `connections`)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"
