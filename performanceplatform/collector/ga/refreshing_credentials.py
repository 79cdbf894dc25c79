"""google-auth credentials whose token requests go through `TokenEndpoint`.

`auth` reads a credentials file; what it builds from it are these, google-auth's own credentials
with their refreshes routed through the project's token endpoint (its transport, retries and
reading of Google's refusals), and, for a user's stored tokens, through the storage file (its lock,
another process's fresher token, the write-back). Importing this module imports google-auth, so
`auth` imports it only when a token must be made: a run whose stored token is still valid does
not (`auth.DeferredCredentials`).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import google.oauth2.credentials
import google.oauth2.service_account

from performanceplatform.collector.ga.token_endpoint import TokenEndpoint
from performanceplatform.collector.ga.token_storage import StorageFile, StoredTokens, expiry_text, user_token_uri
from performanceplatform.collector.redaction import register_secret

# The refreshes are logged as the credentials file's reading is: under `auth`.
log = logging.getLogger("performanceplatform.collector.ga.auth")


class OAuthClient(Protocol):
    """The client a user's tokens were granted to (`auth.ClientSecrets`)."""

    client_id: str
    client_secret: str
    token_uri: str | None


class UserCredentials(google.oauth2.credentials.Credentials):
    """A user's OAuth credentials whose refreshes go through `TokenEndpoint` and the storage file."""

    _pp_endpoint: TokenEndpoint
    _pp_storage: StorageFile | None
    _pp_client: OAuthClient | None

    def refresh(self, request: Any) -> None:
        # `request` is whatever transport the API client holds; it is ignored on purpose (see
        # `token_endpoint.TokenTransport`).
        with self._pp_endpoint.lock:
            if self._pp_storage is None:
                self._grant()
                return
            with self._pp_storage.locked():
                stored = self._pp_storage.read()
                fresh = stored.usable_access_token()
                # Another process refreshed while we waited: use its token rather than ask again.
                # A stored token equal to ours is the one that just failed or expired.
                if fresh is not None and fresh != self.token:
                    self.token = fresh
                    self.expiry = stored.expiry
                    self._adopt(stored)
                    log.info(
                        "using the Google access token another process stored in %s; it expires at %s",
                        self._pp_storage.path,
                        expiry_text(stored.expiry),
                    )
                    return
                self._adopt(stored)
                self._grant()
                self._pp_storage.write(
                    stored.updated(
                        access_token=self.token,
                        expiry=self.expiry,
                        refresh_token=self._refresh_token,
                        granted_scopes=self._granted_scopes,
                    )
                )

    def _adopt(self, stored: StoredTokens) -> None:
        """Take the stored refresh token and client: the file may have been regenerated since."""
        self._refresh_token = stored.refresh_token
        self._client_id = stored.client_id or (self._pp_client.client_id if self._pp_client else None)
        self._client_secret = stored.client_secret or (self._pp_client.client_secret if self._pp_client else None)
        self._token_uri = user_token_uri(stored, self._pp_client.token_uri if self._pp_client else None)

    def _grant(self) -> None:
        perform = super().refresh
        self._pp_endpoint.grant(self, perform, self._token_uri)
        register_secret(self._refresh_token)

    def _make_copy(self) -> UserCredentials:
        copy = super()._make_copy()
        copy._pp_endpoint = self._pp_endpoint
        copy._pp_storage = self._pp_storage
        copy._pp_client = self._pp_client
        return copy


class ServiceAccountCredentials(google.oauth2.service_account.Credentials):
    """A service account whose JWT-bearer grants go through `TokenEndpoint`."""

    _pp_endpoint: TokenEndpoint

    def refresh(self, request: Any) -> None:
        # As for user credentials, the caller's transport is ignored on purpose.
        with self._pp_endpoint.lock:
            self._pp_endpoint.grant(self, super().refresh, self._token_uri)

    def _make_copy(self) -> ServiceAccountCredentials:
        copy = super()._make_copy()
        copy._pp_endpoint = self._pp_endpoint
        return copy
