"""The Google access token a request carries: valid before it is sent, refreshed once after a 401.

google-auth credentials (`auth`) hold the token and know how to refresh it (through
`token_endpoint`). A backfill's worker threads share one set of credentials: one thread refreshes
while the others wait, then finds the credentials valid and uses that thread's token, so a run asks
the token endpoint once, not once per thread. A 401 gets one fresh token (unless another thread
already replaced the one that was refused); if Google refuses that one too, another will not help.

`GoogleBearer` is the `http.Authenticator` the GA4 Data API client hands `HttpClient`;
`ensure_valid` is what the Core Reporting transport (google-auth-httplib2) calls before a request.
"""

from __future__ import annotations

import threading
from typing import Any

from performanceplatform.collector.errors import FatalUpstreamError, RetryableError
from performanceplatform.collector.ga.google_errors import SERVICE

# Threads sharing credentials refresh them one at a time.
_REFRESH_LOCK = threading.Lock()


def ensure_valid(credentials: Any, request: Any = None) -> None:
    """Refresh `credentials` unless they are valid (one thread at a time; the others then find them
    valid). `request` is the transport google-auth is handed, which our credentials ignore."""
    if not credentials.valid:
        with _REFRESH_LOCK:
            if not credentials.valid:
                _refresh(credentials, request)


class GoogleBearer:
    """`Authorization: Bearer <token>` from google-auth credentials, for `HttpClient.request`."""

    def __init__(self, credentials: Any):
        self.credentials = credentials

    def authorization(self) -> str:
        ensure_valid(self.credentials)
        return f"Bearer {self.credentials.token}"

    def refresh_after_refusal(self, refused: str) -> bool:
        """A 401 refused the header `refused`: get a fresh token, unless another thread already has.
        True: send again with `authorization()`."""
        with _REFRESH_LOCK:
            if f"Bearer {self.credentials.token}" == refused:
                _refresh(self.credentials, None)
        return True


def _refresh(credentials: Any, request: Any) -> None:
    # Imported here: the exception classes are google-auth's, loaded with the credentials anyway.
    import google.auth.exceptions

    try:
        credentials.refresh(request)
    except google.auth.exceptions.RefreshError as error:
        # Credentials of our own (`auth`) fail with the project's errors; others' with google-auth's.
        if getattr(error, "retryable", False):
            raise RetryableError(f"could not refresh the Google access token: {error}", service=SERVICE) from None
        raise FatalUpstreamError(f"Google refused to refresh the access token: {error}", service=SERVICE) from None
