"""What a failed Google API call means: worth retrying, or fatal, with Google's own reason.

Google's error body is `{"error": {"errors": [{"domain", "reason", "message"}], "code", "message"}}`.
Rate limits and server trouble are retried (429, 5xx, and 403 with a rate-limit reason); anything
else (400 bad query, 401 bad credentials, 403 no access to the view) fails at once, naming the
reason and Google's message so the person reading cron mail knows what to fix.
"""

from __future__ import annotations

import http.client
import json
from typing import TYPE_CHECKING, Any

from performanceplatform.collector.errors import (
    FatalUpstreamError,
    RetryableError,
    UpstreamError,
)

if TYPE_CHECKING:
    from googleapiclient.errors import HttpError

SERVICE = "Google Analytics"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RATE_LIMIT_REASONS = frozenset({"userRateLimitExceeded", "quotaExceeded", "rateLimitExceeded"})
ERRORS_GUIDE = "https://developers.google.com/analytics/devguides/reporting/core/v3/errors"
MAX_MESSAGE_LENGTH = 300


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


def classify_http_error(error: HttpError, what: str) -> UpstreamError:
    """The project's error for Google's answer to `what` (e.g. "Core Reporting request for ga:1")."""
    status = int(error.resp.status)
    fallback = getattr(error.resp, "reason", "") or http.client.responses.get(status, "error")
    reason, message = reason_and_message(error.content, fallback)
    text = f"Google Analytics answered {status} {reason} to the {what}"
    if message:
        text += f": {message}"
    if status in RETRYABLE_STATUSES or (status == 403 and reason in RATE_LIMIT_REASONS):
        return RetryableError(text, service=SERVICE, status=status, retry_after=_retry_after(error))
    if status == 401:
        text += " (the credentials were refused: check the credentials file)"
    elif status == 403:
        text += " (check that the credentials' account can read this view)"
    return FatalUpstreamError(f"{text}; see {ERRORS_GUIDE}", service=SERVICE, status=status)


def _retry_after(error: HttpError) -> float | None:
    value = error.resp.get("retry-after") if hasattr(error.resp, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
