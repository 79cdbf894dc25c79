"""Requests to Google's OAuth token endpoint, for every kind of GA credentials.

Token requests never use the transport google-auth is handed by the API client (httplib2 for
google-api-python-client): they go through `requests` with the project's timeouts, its one retry
policy and its rule against sending secrets over plain http. Failures are sorted here into the
project's error classes: worth retrying (`RetryableError`, before google-auth sees them, as it
would otherwise retry with sleeps of its own) or refused for good (`FatalUpstreamError`, with
Google's reason and what to do about it, never a token).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import google.auth.credentials
import google.auth.exceptions
import google.auth.transport
import google.auth.transport.requests
import requests

from performanceplatform.collector.errors import FatalUpstreamError, RetryableError
from performanceplatform.collector.ga.token_storage import expiry_text
from performanceplatform.collector.http import (
    RETRYABLE_STATUSES,
    Timeouts,
    require_secure_transport,
    retry_after_seconds,
    short_reason,
    url_for_log,
)
from performanceplatform.collector.redaction import redact, register_secret
from performanceplatform.collector.retry import RetryPolicy

# The GA credentials modules share the logger `ga.auth` had before they were split out of it:
# its name is in every log line, and operators' filters and the tests select on it.
log = logging.getLogger("performanceplatform.collector.ga.auth")

SERVICE = "Google OAuth token endpoint"
# Google-style OAuth errors that mean "try again"; google-auth would retry them with sleeps of
# its own, so they are turned into RetryableError before google-auth sees them.
RETRYABLE_OAUTH_ERRORS = frozenset({"server_error", "temporarily_unavailable", "internal_failure"})
MAX_ERROR_TEXT = 300


class TokenTransport(google.auth.transport.Request):
    """google-auth's requests transport with our timeouts, the https rule and our error classes.

    Statuses worth retrying become `RetryableError` here, before google-auth sees them: google-auth
    would otherwise retry them itself, with its own sleeps, outside the project's retry policy.
    """

    def __init__(self, timeouts: Timeouts) -> None:
        self.timeouts = timeouts
        self.session = requests.Session()
        # Proxies and .netrc from the environment must not redirect credentials.
        self.session.trust_env = False
        self._request = google.auth.transport.requests.Request(self.session)
        self.last_status: int | None = None

    def close(self) -> None:
        """Drop pooled connections: a refresh comes once an hour, so keeping one open buys nothing."""
        self.session.close()

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: Any = None,
        **kwargs: Any,
    ) -> google.auth.transport.Response:
        require_secure_transport(url, "Google OAuth credentials")
        shown = url_for_log(url)
        self.last_status = None
        started = time.monotonic()
        # A token endpoint never redirects; following one could resend the secrets elsewhere.
        kwargs.setdefault("allow_redirects", False)
        try:
            response = self._request(
                url,
                method=method,
                body=body,
                headers=headers,
                timeout=(self.timeouts.connect, self.timeouts.read),
                **kwargs,
            )
        except google.auth.exceptions.TransportError as error:
            log.debug("%s %s: failed after %.3f s", method, shown, time.monotonic() - started)
            raise RetryableError(
                f"could not reach the {SERVICE} {shown}: {short_reason(error, innermost=True, limit=MAX_ERROR_TEXT)}",
                service=SERVICE,
            ) from None
        self.last_status = response.status
        # DEBUG: the refresh itself gets the one INFO line (or the retry policy a warning).
        log.debug("%s %s -> %d (%.3f s)", method, shown, response.status, time.monotonic() - started)
        body_json = _json_or_none(response.data)
        if is_retryable(response.status, body_json):
            raise RetryableError(
                f"the {SERVICE} {shown} answered {response.status}: {oauth_error_text(body_json, response.data)}",
                service=SERVICE,
                status=response.status,
                # retry_after_seconds only reads .headers, which google-auth's response has too.
                retry_after=retry_after_seconds(response),  # type: ignore[arg-type]
            )
        if response.status == 200 and not isinstance(body_json, dict):
            raise FatalUpstreamError(
                f"the {SERVICE} {shown} answered 200 with a body that is not a JSON object",
                service=SERVICE,
                status=200,
            )
        return response


class TokenEndpoint:
    """What a refresh needs besides the credentials: transport, retry policy, lock, log name."""

    def __init__(self, retry: RetryPolicy, timeouts: Timeouts) -> None:
        self.retry = retry
        self.timeouts = timeouts
        self.transport = TokenTransport(timeouts)
        # One refresh at a time in this process (google-auth may refresh from a worker thread).
        self.lock = threading.RLock()
        self.description = "Google credentials"
        self.hint = ""

    @property
    def lock_timeout(self) -> float:
        # Long enough for another process to finish its own refresh, retries included.
        per_attempt = self.timeouts.connect + self.timeouts.read
        return self.retry.max_total_delay + self.retry.max_attempts * per_attempt + 30

    def grant(
        self, credentials: google.auth.credentials.Credentials, perform: Callable[[Any], None], token_uri: str
    ) -> None:
        """Run google-auth's grant `perform` through the retry policy and log the outcome."""
        shown = url_for_log(token_uri)
        attempts = 0

        def attempt() -> None:
            nonlocal attempts
            attempts += 1
            try:
                perform(self.transport)
            except google.auth.exceptions.RefreshError as error:
                raise refused(error, self.transport.last_status, shown, self.description, self.hint) from None

        try:
            self.retry.call(attempt, description=f"refreshing the Google access token for {self.description}")
        except RetryableError as error:
            # Retries are spent; failing as fatal stops the API client's retry policy from
            # starting the whole round again.
            raise FatalUpstreamError(
                f"could not refresh the Google access token for {self.description} "
                f"after {attempts} attempt{'s' if attempts > 1 else ''}: {error}",
                service=SERVICE,
                status=error.status,
            ) from None
        finally:
            self.transport.close()
        register_secret(credentials.token)
        log.info(
            "refreshed the Google access token for %s through %s; it expires at %s",
            self.description,
            shown,
            expiry_text(credentials.expiry),
        )


def is_retryable(status: int, body: Any) -> bool:
    """Whether a token endpoint's answer is worth asking again: a retryable status or OAuth error."""
    error_code = body.get("error") if isinstance(body, dict) else None
    return status in RETRYABLE_STATUSES or (status >= 400 and error_code in RETRYABLE_OAUTH_ERRORS)


def refused(
    error: google.auth.exceptions.RefreshError,
    status: int | None,
    token_uri: str,
    description: str,
    hint: str,
) -> FatalUpstreamError:
    """Google's `error` and `error_description`, and what to do about them; never a token."""
    details = error.args[1] if len(error.args) > 1 else None
    if isinstance(details, Mapping) and "error" in details:
        code = str(details.get("error"))
        reason = _error_and_description(details)
    else:
        code = ""
        reason = " ".join(str(error.args[0] if error.args else error).split())
    reason = _clip(reason)
    status_text = f" ({status})" if status else ""
    advice = ""
    if code == "invalid_grant" and hint:
        advice = f"; {hint}"
    elif code in ("invalid_client", "unauthorized_client"):
        advice = "; the client ID or secret is wrong, or the OAuth client was deleted"
    message = (
        f"the {SERVICE} {token_uri} refused to refresh the access token for {description}{status_text}: "
        f"{reason}{advice}"
    )
    return FatalUpstreamError(redact(message), service=SERVICE, status=status)


def oauth_error_text(body: Any, raw: Any) -> str:
    """A token endpoint's error answer in one redacted line: its OAuth error, else its text."""
    if isinstance(body, dict) and "error" in body:
        text = _error_and_description(body)
    else:
        text = " ".join((raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).split())
    text = text or "no message"
    return redact(_clip(text))


def _error_and_description(details: Mapping[str, Any]) -> str:
    """An OAuth error answer's `error`, and its `error_description` if it has one."""
    text = str(details["error"])
    if details.get("error_description"):
        text += f": {details['error_description']}"
    return text


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_TEXT else text[:MAX_ERROR_TEXT] + "…"


def _json_or_none(data: Any) -> Any:
    try:
        return json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (TypeError, ValueError):
        return None
