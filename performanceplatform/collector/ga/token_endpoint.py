"""Requests to Google's OAuth token endpoint, for every kind of GA credentials.

Token requests never use the transport google-auth is handed by the API client (httplib2 for
google-api-python-client): they go through the project's `HttpClient`, with its timeouts, its one
retry policy and its rule against sending secrets over plain http. Failures are sorted here into the
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
from typing import TYPE_CHECKING, Any

from performanceplatform.collector.errors import FatalUpstreamError, RetryableError
from performanceplatform.collector.ga.token_storage import expiry_text
from performanceplatform.collector.http import (
    RETRYABLE_STATUSES,
    HttpClient,
    HttpResponse,
    Timeouts,
    require_secure_transport,
    retry_after_seconds,
    url_for_log,
)
from performanceplatform.collector.redaction import redact, register_secret
from performanceplatform.collector.retry import RetryPolicy

if TYPE_CHECKING:
    # google-auth is imported by the credentials that refresh (`refreshing_credentials`), not here:
    # `auth` makes a `TokenEndpoint` for every run, and most runs never ask it for a token.
    import google.auth.credentials
    import google.auth.exceptions
    import google.auth.transport

# The GA credentials modules share the logger `ga.auth` had before they were split out of it:
# its name is in every log line, and operators' filters and the tests select on it.
log = logging.getLogger("performanceplatform.collector.ga.auth")

SERVICE = "Google OAuth token endpoint"
# Google-style OAuth errors that mean "try again"; google-auth would retry them with sleeps of
# its own, so they are turned into RetryableError before google-auth sees them.
RETRYABLE_OAUTH_ERRORS = frozenset({"server_error", "temporarily_unavailable", "internal_failure"})
MAX_ERROR_TEXT = 300


class TokenTransport:
    """google-auth's transport for token requests: the project's `HttpClient` (timeouts, the https
    rule, the log line of a failed request), one attempt a call, and our error classes. It has the
    shape of `google.auth.transport.Request` (called with the URL, method, body and headers; answers
    with a status, headers and data), without deriving from it, so that google-auth is imported
    only by a refresh.

    Statuses worth retrying become `RetryableError` here, before google-auth sees them: google-auth
    would otherwise retry them itself, with its own sleeps, outside the project's retry policy,
    which runs round google-auth's whole grant instead (`TokenEndpoint.grant`).
    """

    def __init__(self, timeouts: Timeouts) -> None:
        self.timeouts = timeouts
        # No retries of its own (the policy retries the grant) and every answer handed back: what
        # a token endpoint's answer means is decided below, not by the client's usual rules.
        self.http = HttpClient(
            SERVICE, retry=RetryPolicy(max_attempts=1), timeouts=timeouts, classify=_any_answer, source=False
        )
        self.last_status: int | None = None

    def close(self) -> None:
        """Drop pooled connections: a refresh comes once an hour, so keeping one open buys nothing."""
        self.http.close()

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
        payload = body.encode("utf-8") if isinstance(body, str) else body
        # The client never follows a redirect: a token endpoint never redirects, and following one
        # could resend the secrets elsewhere. Its failures to connect are RetryableError already.
        response = self.http.request(method, url, headers=headers, body=payload, log_success=False)
        self.last_status = response.status_code
        # DEBUG: the refresh itself gets the one INFO line (or the retry policy a warning).
        log.debug("%s %s -> %d (%.3f s)", method, shown, response.status_code, time.monotonic() - started)
        body_json = _json_or_none(response.content)
        if is_retryable(response.status_code, body_json):
            raise RetryableError(
                f"the {SERVICE} {shown} answered {response.status_code}: "
                f"{oauth_error_text(body_json, response.content)}",
                service=SERVICE,
                status=response.status_code,
                retry_after=retry_after_seconds(response),
            )
        if response.status_code == 200 and not isinstance(body_json, dict):
            raise FatalUpstreamError(
                f"the {SERVICE} {shown} answered 200 with a body that is not a JSON object",
                service=SERVICE,
                status=200,
            )
        return _Answer(response)


class _Answer:
    """An `HttpResponse` as google-auth reads a response (`google.auth.transport.Response`'s shape)."""

    def __init__(self, response: HttpResponse):
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


def _any_answer(service: str, response: HttpResponse) -> None:
    """Every answer is the token endpoint's to read (see `TokenTransport`)."""


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
        import google.auth.exceptions

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
