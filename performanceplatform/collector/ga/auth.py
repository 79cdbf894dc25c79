"""Google credentials for the GA collectors: every shape the original accepted, plus today's.

`credentials_from_config` turns the keys of a GA credentials file into google-auth credentials
with the `analytics.readonly` scope:

1. `CLIENT_SECRETS` (path) + `STORAGE_PATH`: a user's stored OAuth tokens, in oauth2client's JSON
   format (what the original tool wrote) or google-auth's `authorized_user` JSON (what
   `tools/generate-ga-credentials.py` writes now). The stored access token is used while it is
   valid; a refresh goes to the file's own `token_uri` and the new token is written back in the
   file's own format.
2. `ACCOUNT_NAME` + `PRIVATE_KEY` (a `.p12` key with Google's `notasecret` password, or PEM), and
   an optional `TOKEN_URI`: a service account signing a JWT-bearer grant.
3. `SERVICE_ACCOUNT_KEY`: a service account's JSON key (its own `token_uri` applies).
4. `CLIENT_SECRETS` as an object with `installed` + `OAUTH2_CREDENTIALS` (an object or a JSON
   string in oauth2client's format): the form configs fetched from Stagecraft carried. Refreshed
   tokens live in memory only, as there is no file to write them to.

Token requests never use the transport google-auth is handed by the API client (httplib2 for
google-api-python-client): they go through `requests` with the project's timeouts, its one retry
policy and its rule against sending secrets over plain http. Many cron jobs share one storage file,
so a refresh holds an `fcntl` lock on a file beside it, re-reads it (another process may have just
refreshed) and replaces it atomically. Every secret is registered with `redaction` as it is read.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import google.auth.credentials
import google.auth.crypt
import google.auth.exceptions
import google.auth.transport
import google.auth.transport.requests
import google.oauth2.credentials
import google.oauth2.service_account
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from performanceplatform.collector.errors import (
    CollectorError,
    ConfigurationError,
    FatalUpstreamError,
    RetryableError,
)
from performanceplatform.collector.http import (
    RETRYABLE_STATUSES,
    Timeouts,
    require_secure_transport,
    retry_after_seconds,
    url_for_log,
)
from performanceplatform.collector.redaction import redact, register_secret
from performanceplatform.collector.retry import RetryPolicy

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a password)
# The password Google has always put on the .p12 keys it hands out.
P12_PASSWORD = b"notasecret"
GENERATOR = "tools/generate-ga-credentials.py"
SERVICE = "Google OAuth token endpoint"
ACCEPTED_SHAPES = (
    "expected one of: CLIENT_SECRETS (path to a client secrets file) + STORAGE_PATH (stored "
    "OAuth tokens); ACCOUNT_NAME + PRIVATE_KEY (.p12 or PEM key file) with an optional TOKEN_URI; "
    "SERVICE_ACCOUNT_KEY (service-account JSON key file); CLIENT_SECRETS (object with 'installed') "
    "+ OAUTH2_CREDENTIALS"
)
OAUTH2CLIENT_EXPIRY_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# A stored access token is only worth using if it outlives google-auth's own refresh margin
# (3 min 45 s); otherwise google-auth would call it expired straight away and refresh anyway.
STORED_TOKEN_MARGIN = timedelta(minutes=5)
# Google-style OAuth errors that mean "try again"; google-auth would retry them with sleeps of
# its own, so they are turned into RetryableError before google-auth sees them.
RETRYABLE_OAUTH_ERRORS = frozenset({"server_error", "temporarily_unavailable", "internal_failure"})
LOCK_POLL_SECONDS = 0.05
MAX_ERROR_TEXT = 300


# Public API ---------------------------------------------------------------------------------------


def credentials_from_config(
    credentials: Mapping[str, Any],
    *,
    source: str = "credentials file",
    retry: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
) -> google.auth.credentials.Credentials:
    """Google credentials (scope `analytics.readonly`) for the keys of a GA credentials file.

    `source` names the credentials file in errors; when it is the path of an existing file,
    relative paths inside it are resolved against that file's directory, else against the
    current directory. Raises `ConfigurationError` for anything the user must fix.
    """
    if not isinstance(credentials, Mapping):
        raise ConfigurationError(
            f"expected a JSON object, got {type(credentials).__name__}; {ACCEPTED_SHAPES}",
            source=source,
        )
    endpoint = _TokenEndpoint(retry or RetryPolicy.from_environment(), timeouts or Timeouts.from_environment())
    paths = _Paths(source)

    def given(key: str) -> bool:
        return credentials.get(key) not in (None, "")

    if given("SERVICE_ACCOUNT_KEY") and (given("CLIENT_SECRETS") or given("ACCOUNT_NAME")):
        raise ConfigurationError(
            "SERVICE_ACCOUNT_KEY cannot be combined with CLIENT_SECRETS or ACCOUNT_NAME; " + ACCEPTED_SHAPES,
            source=source,
        )
    # The order is the original's: stored user tokens, then a named service account, then the
    # Stagecraft form; a JSON service-account key is new and stands alone.
    client_secrets = credentials.get("CLIENT_SECRETS")
    if isinstance(client_secrets, Mapping):
        return _from_embedded_tokens(credentials, client_secrets, source=source, endpoint=endpoint)
    if given("CLIENT_SECRETS"):
        return _from_storage_file(credentials, paths, source=source, endpoint=endpoint)
    if given("ACCOUNT_NAME"):
        return _from_account_and_key(credentials, paths, source=source, endpoint=endpoint)
    if given("SERVICE_ACCOUNT_KEY"):
        return _from_service_account_key(credentials, paths, source=source, endpoint=endpoint)
    present = ", ".join(sorted(str(key) for key in credentials)) or "none"
    raise ConfigurationError(f"no Google credentials in it (keys present: {present}); {ACCEPTED_SHAPES}", source=source)


@dataclass(frozen=True)
class ClientSecrets:
    """The parts of a Google client secrets file (`installed` or `web`) that matter here."""

    kind: str
    client_id: str
    client_secret: str
    token_uri: str | None
    auth_uri: str | None
    raw: Mapping[str, Any] = field(repr=False)


def parse_client_secrets(data: Any, *, source: str, key: str | None = None) -> ClientSecrets:
    """Read a client secrets object: `{"installed": {...}}` or `{"web": {...}}`."""
    if not isinstance(data, Mapping):
        raise ConfigurationError(
            f"expected a client secrets object with 'installed' or 'web', got {type(data).__name__}",
            source=source,
            key=key,
        )
    kinds = [kind for kind in ("installed", "web") if isinstance(data.get(kind), Mapping)]
    if len(kinds) != 1:
        raise ConfigurationError(
            "expected a client secrets object with exactly one of 'installed' or 'web' "
            "(download it from the Google Cloud console's Credentials page)",
            source=source,
            key=key,
        )
    kind = kinds[0]
    section = data[kind]
    values: dict[str, str] = {}
    for name in ("client_id", "client_secret"):
        value = section.get(name)
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"'{kind}' has no '{name}'", source=source, key=key)
        values[name] = value
    register_secret(values["client_secret"])
    optional = {}
    for name in ("token_uri", "auth_uri"):
        value = section.get(name)
        if value is not None and not (isinstance(value, str) and value):
            raise ConfigurationError(f"'{kind}.{name}' must be a URL", source=source, key=key)
        optional[name] = value
    return ClientSecrets(
        kind=kind,
        client_id=values["client_id"],
        client_secret=values["client_secret"],
        token_uri=optional["token_uri"],
        auth_uri=optional["auth_uri"],
        raw=data,
    )


def load_client_secrets(path: Path, *, source: str | None = None, key: str | None = None) -> ClientSecrets:
    """Read and check a client secrets file."""
    data = _read_json(path, "client secrets file", source=source, key=key)
    return parse_client_secrets(data, source=str(path))


def write_json_atomically(path: Path, data: Any, *, mode: int = 0o600) -> None:
    """Replace `path` with `data` as JSON, so that readers see the old file or the new, never half.

    The temporary file is created in the same directory (os.replace is only atomic within one
    file system) with `mode` from the start, so a secret is never readable by others, even briefly.
    """
    directory = path.parent
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "w", encoding="utf-8") as output:
            json.dump(data, output, indent=2, sort_keys=False)
            output.write("\n")
            output.flush()
            os.fsync(output.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    # The rename itself must reach the disk too, or a crash could bring back the old token.
    with contextlib.suppress(OSError):
        directory_handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_handle)
        finally:
            os.close(directory_handle)


# Stored user tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredTokens:
    """A user's OAuth tokens as stored in a file (or in Stagecraft's OAUTH2_CREDENTIALS)."""

    format: str  # "oauth2client" or "authorized_user"
    data: Mapping[str, Any] = field(repr=False)
    refresh_token: str = field(repr=False)
    client_id: str | None
    client_secret: str | None = field(repr=False)
    token_uri: str | None
    access_token: str | None = field(repr=False)
    expiry: datetime | None  # naive UTC, as google-auth keeps it
    scopes: tuple[str, ...] | None

    def usable_access_token(self) -> str | None:
        """The stored access token if it will stay valid for a while; None otherwise.

        A token without a known expiry is not trusted: oauth2client wrote `null` when Google
        sent no `expires_in`, and using such a token blindly would mean a 401 on the first call.
        """
        if self.access_token and self.expiry is not None and _utcnow() < self.expiry - STORED_TOKEN_MARGIN:
            return self.access_token
        return None

    def updated(
        self,
        *,
        access_token: str,
        expiry: datetime | None,
        refresh_token: str,
        granted_scopes: list[str] | None,
    ) -> dict[str, Any]:
        """The stored object after a refresh, in the same format, other keys kept as they were."""
        data = dict(self.data)
        if self.format == "oauth2client":
            data["access_token"] = access_token
            data["token_expiry"] = expiry.strftime(OAUTH2CLIENT_EXPIRY_FORMAT) if expiry else None
            # oauth2client kept the token endpoint's last answer; keep it current, as it did.
            response: dict[str, Any] = {"access_token": access_token, "token_type": "Bearer"}
            if expiry is not None:
                response["expires_in"] = max(0, int((expiry - _utcnow()).total_seconds()))
            if granted_scopes:
                response["scope"] = " ".join(granted_scopes)
            data["token_response"] = response
            if "invalid" in data:
                data["invalid"] = False
        else:
            data["token"] = access_token
            data["expiry"] = expiry.replace(microsecond=0).isoformat() + "Z" if expiry else None
        data["refresh_token"] = refresh_token
        return data


def parse_stored_tokens(data: Any, *, source: str, key: str | None = None, hint: str = "") -> StoredTokens:
    """Read stored user tokens in oauth2client's format or google-auth's `authorized_user` one."""

    def problem(message: str) -> ConfigurationError:
        return ConfigurationError(message + hint, source=source, key=key)

    if not isinstance(data, Mapping):
        raise problem(f"expected stored OAuth tokens (a JSON object), got {type(data).__name__}")
    kind = data.get("type")
    if kind is not None and kind != "authorized_user":
        raise problem(
            f"holds credentials of type {kind!r}, not a user's stored OAuth tokens"
            + ("; a service-account key goes in SERVICE_ACCOUNT_KEY" if kind == "service_account" else "")
        )
    oauth2client_keys = ("_class", "_module", "access_token", "token_expiry", "token_response")
    stored_format = "oauth2client" if any(name in data for name in oauth2client_keys) else "authorized_user"
    if data.get("invalid") is True:
        raise problem("oauth2client marked these tokens invalid (Google refused them)")
    refresh_token = data.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise problem("has no refresh_token")
    register_secret(refresh_token)
    strings: dict[str, str | None] = {}
    for name in ("client_id", "client_secret", "token_uri"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise problem(f"'{name}' must be a string")
        strings[name] = value or None
    register_secret(strings["client_secret"])
    token_key, expiry_key = ("access_token", "token_expiry") if stored_format == "oauth2client" else ("token", "expiry")
    access_token = data.get(token_key) if isinstance(data.get(token_key), str) else None
    register_secret(access_token)
    scopes = data.get("scopes")
    if isinstance(scopes, str):
        scopes = scopes.split()
    scopes_tuple = tuple(str(scope) for scope in scopes) if isinstance(scopes, list) and scopes else None
    return StoredTokens(
        format=stored_format,
        data=data,
        refresh_token=refresh_token,
        client_id=strings["client_id"],
        client_secret=strings["client_secret"],
        token_uri=strings["token_uri"],
        access_token=access_token or None,
        expiry=_parse_expiry(data.get(expiry_key), where=f"{source}: {expiry_key}"),
        scopes=scopes_tuple,
    )


class StorageFile:
    """A stored-tokens file shared by many cron jobs: read freely, change under a lock."""

    def __init__(self, path: Path, *, source: str, lock_timeout: float):
        self.path = path
        self.source = source
        # The lock is a separate file: os.replace puts a new inode at `path`, so a lock taken on
        # the old one would not stop a process that opened the file after the swap.
        self.lock_path = path.with_name(path.name + ".lock")
        self.lock_timeout = lock_timeout

    @property
    def hint(self) -> str:
        return (
            f"; create it with {GENERATOR} path/to/client_secret.json "
            "(see its --help), then point STORAGE_PATH at the storage file it writes"
        )

    def read(self) -> StoredTokens:
        data = _read_json(self.path, "stored OAuth tokens file", source=self.source, key="STORAGE_PATH", hint=self.hint)
        return parse_stored_tokens(data, source=str(self.path), hint=self.hint)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        try:
            handle = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise ConfigurationError(
                f"cannot create the lock file {self.lock_path} ({error.strerror}); the directory "
                "must be writable by the user running pp-collector, which writes refreshed tokens there",
                source=self.source,
                key="STORAGE_PATH",
            ) from None
        try:
            # Polled with a deadline rather than blocking, so that a process stuck while holding
            # the lock cannot hang every other cron job for ever.
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise CollectorError(
                            f"gave up after {self.lock_timeout:.0f} s waiting for {self.lock_path}, "
                            "held by another pp-collector refreshing the same Google tokens"
                        ) from None
                    time.sleep(LOCK_POLL_SECONDS)
            yield
        finally:
            os.close(handle)  # closing the descriptor releases the lock

    def write(self, data: Mapping[str, Any]) -> None:
        try:
            write_json_atomically(self.path, data, mode=0o600)
        except OSError as error:
            raise ConfigurationError(
                f"cannot write the refreshed token to {self.path} ({error.strerror})",
                source=self.source,
                key="STORAGE_PATH",
            ) from None


# Token requests -----------------------------------------------------------------------------------


class _TokenTransport(google.auth.transport.Request):
    """google-auth's requests transport with our timeouts, the https rule and our error classes.

    Statuses worth retrying become `RetryableError` here, before google-auth sees them: google-auth
    would otherwise retry them itself, with its own sleeps, outside the project's retry policy.
    """

    def __init__(self, timeouts: Timeouts):
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
                f"could not reach the {SERVICE} {shown}: {_short_reason(error)}", service=SERVICE
            ) from None
        self.last_status = response.status
        # DEBUG: the refresh itself gets the one INFO line (or the retry policy a warning).
        log.debug("%s %s -> %d (%.3f s)", method, shown, response.status, time.monotonic() - started)
        body_json = _json_or_none(response.data)
        error_code = body_json.get("error") if isinstance(body_json, dict) else None
        if response.status in RETRYABLE_STATUSES or (response.status >= 400 and error_code in RETRYABLE_OAUTH_ERRORS):
            raise RetryableError(
                f"the {SERVICE} {shown} answered {response.status}: {_oauth_error_text(body_json, response.data)}",
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


class _TokenEndpoint:
    """What a refresh needs besides the credentials: transport, retry policy, lock, log name."""

    def __init__(self, retry: RetryPolicy, timeouts: Timeouts):
        self.retry = retry
        self.timeouts = timeouts
        self.transport = _TokenTransport(timeouts)
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
                raise _refused(error, self.transport.last_status, shown, self.description, self.hint) from None

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
            _expiry_text(credentials.expiry),
        )


class _UserCredentials(google.oauth2.credentials.Credentials):
    """A user's OAuth credentials whose refreshes go through `_TokenEndpoint` and the storage file."""

    _pp_endpoint: _TokenEndpoint
    _pp_storage: StorageFile | None
    _pp_client: ClientSecrets | None

    def refresh(self, request: Any) -> None:
        # `request` is whatever transport the API client holds; it is ignored on purpose (see
        # `_TokenTransport`).
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
                        _expiry_text(stored.expiry),
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
        self._token_uri = _user_token_uri(stored, self._pp_client)

    def _grant(self) -> None:
        perform = super().refresh
        self._pp_endpoint.grant(self, perform, self._token_uri)
        register_secret(self._refresh_token)

    def _make_copy(self) -> _UserCredentials:
        copy = super()._make_copy()
        copy._pp_endpoint = self._pp_endpoint
        copy._pp_storage = self._pp_storage
        copy._pp_client = self._pp_client
        return copy


class _ServiceAccountCredentials(google.oauth2.service_account.Credentials):
    """A service account whose JWT-bearer grants go through `_TokenEndpoint`."""

    _pp_endpoint: _TokenEndpoint

    def refresh(self, request: Any) -> None:
        # As for user credentials, the caller's transport is ignored on purpose.
        with self._pp_endpoint.lock:
            self._pp_endpoint.grant(self, super().refresh, self._token_uri)

    def _make_copy(self) -> _ServiceAccountCredentials:
        copy = super()._make_copy()
        copy._pp_endpoint = self._pp_endpoint
        return copy


# The four shapes ----------------------------------------------------------------------------------


def _from_storage_file(
    credentials: Mapping[str, Any], paths: _Paths, *, source: str, endpoint: _TokenEndpoint
) -> google.auth.credentials.Credentials:
    storage_value = credentials.get("STORAGE_PATH")
    if storage_value in (None, ""):
        raise ConfigurationError(
            "CLIENT_SECRETS is a path, so STORAGE_PATH must name the stored OAuth tokens file; "
            f"create both with {GENERATOR} path/to/client_secret.json",
            source=source,
            key="STORAGE_PATH",
        )
    client = load_client_secrets(
        paths.resolve(credentials["CLIENT_SECRETS"], "CLIENT_SECRETS"), source=source, key="CLIENT_SECRETS"
    )
    storage = StorageFile(
        paths.resolve(storage_value, "STORAGE_PATH"), source=source, lock_timeout=endpoint.lock_timeout
    )
    stored = storage.read()
    endpoint.description = str(storage.path)
    endpoint.hint = f"run {GENERATOR} to authorise pp-collector again and write a new {storage.path}"
    return _user_credentials(stored, client, endpoint, storage)


def _from_embedded_tokens(
    credentials: Mapping[str, Any],
    client_secrets: Mapping[str, Any],
    *,
    source: str,
    endpoint: _TokenEndpoint,
) -> google.auth.credentials.Credentials:
    if "installed" not in client_secrets and "web" not in client_secrets:
        raise ConfigurationError(
            "an object here must hold the client's 'installed' section; " + ACCEPTED_SHAPES,
            source=source,
            key="CLIENT_SECRETS",
        )
    client = parse_client_secrets(client_secrets, source=source, key="CLIENT_SECRETS")
    embedded = credentials.get("OAUTH2_CREDENTIALS")
    if embedded in (None, ""):
        raise ConfigurationError(
            "CLIENT_SECRETS is an object, so OAUTH2_CREDENTIALS must hold the stored OAuth tokens",
            source=source,
            key="OAUTH2_CREDENTIALS",
        )
    if isinstance(embedded, str):
        try:
            embedded = json.loads(embedded)
        except ValueError as error:
            # The position only: the text itself holds secrets.
            raise ConfigurationError(
                f"is a string but not JSON (line {getattr(error, 'lineno', '?')} column "
                f"{getattr(error, 'colno', '?')})",
                source=source,
                key="OAUTH2_CREDENTIALS",
            ) from None
    stored = parse_stored_tokens(embedded, source=source, key="OAUTH2_CREDENTIALS")
    endpoint.description = f"OAUTH2_CREDENTIALS in {source}"
    endpoint.hint = "authorise pp-collector again and store the new tokens in OAUTH2_CREDENTIALS"
    return _user_credentials(stored, client, endpoint, None)


def _user_credentials(
    stored: StoredTokens, client: ClientSecrets, endpoint: _TokenEndpoint, storage: StorageFile | None
) -> _UserCredentials:
    token = stored.usable_access_token()
    result = _UserCredentials(
        token,
        refresh_token=stored.refresh_token,
        # The refresh token was issued to the client named in the stored tokens; the client
        # secrets file only fills in what an old file left out.
        client_id=stored.client_id or client.client_id,
        client_secret=stored.client_secret or client.client_secret,
        token_uri=_user_token_uri(stored, client),
        # Refreshes ask for exactly the scopes the user granted (or none, which means the same):
        # asking for `analytics.readonly` on a token granted the full `analytics` scope, as the
        # original tool's were, risks `invalid_scope`. New consents ask for readonly (the tool).
        scopes=list(stored.scopes) if stored.scopes else None,
        expiry=stored.expiry if token else None,
    )
    result._pp_endpoint = endpoint
    result._pp_storage = storage
    result._pp_client = client
    return result


def _from_account_and_key(
    credentials: Mapping[str, Any], paths: _Paths, *, source: str, endpoint: _TokenEndpoint
) -> google.auth.credentials.Credentials:
    account = credentials["ACCOUNT_NAME"]
    if not isinstance(account, str):
        raise ConfigurationError("expected the service account's email address", source=source, key="ACCOUNT_NAME")
    if credentials.get("PRIVATE_KEY") in (None, ""):
        raise ConfigurationError(
            "ACCOUNT_NAME needs PRIVATE_KEY, the path of the service account's .p12 or PEM key",
            source=source,
            key="PRIVATE_KEY",
        )
    key_path = paths.resolve(credentials["PRIVATE_KEY"], "PRIVATE_KEY")
    token_uri = credentials.get("TOKEN_URI") or GOOGLE_TOKEN_URI
    if not isinstance(token_uri, str):
        raise ConfigurationError("expected a URL", source=source, key="TOKEN_URI")
    pem = _private_key_pem(key_path, source=source)
    try:
        signer = google.auth.crypt.RSASigner.from_string(pem)
    except ValueError:
        raise ConfigurationError(f"{key_path} is not an RSA private key", source=source, key="PRIVATE_KEY") from None
    result = _ServiceAccountCredentials(signer, service_account_email=account, token_uri=token_uri, scopes=[SCOPE])
    result._pp_endpoint = endpoint
    endpoint.description = f"service account {account}"
    endpoint.hint = f"check ACCOUNT_NAME and that the key {key_path} is the account's and has not been deleted"
    return result


def _from_service_account_key(
    credentials: Mapping[str, Any], paths: _Paths, *, source: str, endpoint: _TokenEndpoint
) -> google.auth.credentials.Credentials:
    key_path = paths.resolve(credentials["SERVICE_ACCOUNT_KEY"], "SERVICE_ACCOUNT_KEY")
    info = _read_json(key_path, "service-account key file", source=source, key="SERVICE_ACCOUNT_KEY")
    if not isinstance(info, Mapping) or info.get("type") != "service_account":
        raise ConfigurationError(
            f'{key_path} is not a service-account JSON key (its "type" must be "service_account")',
            source=source,
            key="SERVICE_ACCOUNT_KEY",
        )
    register_secret(info.get("private_key"))
    register_secret(info.get("private_key_id"))
    try:
        result = _ServiceAccountCredentials.from_service_account_info(info, scopes=[SCOPE])
    except (ValueError, KeyError) as error:
        # google-auth names the missing fields; it never echoes the key itself.
        raise ConfigurationError(
            f"{key_path} is not a usable service-account key: {redact(str(error))}",
            source=source,
            key="SERVICE_ACCOUNT_KEY",
        ) from None
    result._pp_endpoint = endpoint
    endpoint.description = f"service account {info.get('client_email')}"
    endpoint.hint = f"check that the key {key_path} has not been deleted or disabled"
    return result


# Helpers ------------------------------------------------------------------------------------------


class _Paths:
    """Resolves relative paths in the credentials file."""

    def __init__(self, source: str):
        candidate = Path(source).expanduser()
        self.from_file = candidate.is_file()
        self.source = source
        self.base = candidate.resolve().parent if self.from_file else Path.cwd()

    def resolve(self, value: Any, key: str) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError("expected a file path", source=self.source, key=key)
        path = Path(value).expanduser()
        if path.is_absolute():
            return path
        resolved = self.base / path
        if self.from_file and not resolved.exists():
            # The original opened these paths relative to the directory cron ran it from.
            legacy = Path.cwd() / path
            if legacy.exists():
                log.warning(
                    "%s: key %s: %s is not beside the credentials file; using %s, relative to the "
                    "current directory as the original collector did",
                    self.source,
                    key,
                    resolved,
                    legacy,
                )
                return legacy
        return resolved


def _read_json(path: Path, what: str, *, source: str | None = None, key: str | None = None, hint: str = "") -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"the {what} {path} does not exist{hint}", source=source, key=key) from None
    except IsADirectoryError:
        raise ConfigurationError(f"the {what} {path} is a directory{hint}", source=source, key=key) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise ConfigurationError(f"cannot read the {what} {path} ({reason}){hint}", source=source, key=key) from None
    try:
        return json.loads(text)
    except ValueError as error:
        # The position only: the file's text may hold secrets.
        raise ConfigurationError(
            f"the {what} {path} is not valid JSON (line {getattr(error, 'lineno', '?')} column "
            f"{getattr(error, 'colno', '?')}){hint}",
            source=source,
            key=key,
        ) from None


def _private_key_pem(path: Path, *, source: str) -> bytes:
    """The key at `path` as PEM: a PEM file as it is, a .p12 opened with Google's password."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigurationError(
            f"cannot read the private key {path} ({error.strerror})", source=source, key="PRIVATE_KEY"
        ) from None
    if b"-----BEGIN" in raw:
        pem = raw
        try:
            serialization.load_pem_private_key(raw, password=None)
        except (ValueError, TypeError):
            raise ConfigurationError(
                f"{path} is not an unencrypted PEM private key", source=source, key="PRIVATE_KEY"
            ) from None
    else:
        try:
            key, _certificate, _others = pkcs12.load_key_and_certificates(raw, P12_PASSWORD)
        except ValueError:
            raise ConfigurationError(
                f"{path} is neither a PEM key nor a .p12 key that opens with Google's password "
                f"'{P12_PASSWORD.decode()}'",
                source=source,
                key="PRIVATE_KEY",
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigurationError(f"{path} holds no RSA private key", source=source, key="PRIVATE_KEY")
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    text = pem.decode("ascii", errors="replace")
    register_secret(text.strip())
    # Each line of the key too, so that even a fragment never reaches a log.
    for line in text.splitlines():
        if not line.startswith("-----") and len(line) >= 16:
            register_secret(line)
    return pem


def _user_token_uri(stored: StoredTokens, client: ClientSecrets | None) -> str:
    return stored.token_uri or (client.token_uri if client else None) or GOOGLE_TOKEN_URI


def _refused(
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
        reason = code
        if details.get("error_description"):
            reason += f": {details['error_description']}"
    else:
        code = ""
        reason = " ".join(str(error.args[0] if error.args else error).split())
    if len(reason) > MAX_ERROR_TEXT:
        reason = reason[:MAX_ERROR_TEXT] + "…"
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


def _parse_expiry(value: Any, *, where: str) -> datetime | None:
    """An expiry as naive UTC ("2014-05-16T12:00:00Z", with or without fraction or offset)."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        log.warning("%s: cannot read the expiry %r; the access token will be refreshed", where, value)
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _expiry_text(expiry: datetime | None) -> str:
    return expiry.replace(microsecond=0).isoformat() + "Z" if expiry else "an unknown time"


def _json_or_none(data: Any) -> Any:
    try:
        return json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (TypeError, ValueError):
        return None


def _oauth_error_text(body: Any, raw: Any) -> str:
    if isinstance(body, dict) and "error" in body:
        text = str(body["error"])
        if body.get("error_description"):
            text += f": {body['error_description']}"
    else:
        text = " ".join((raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).split())
    text = text or "no message"
    return redact(text if len(text) <= MAX_ERROR_TEXT else text[:MAX_ERROR_TEXT] + "…")


def _short_reason(error: BaseException) -> str:
    """The innermost cause of a transport error, without the noise of its wrapping."""
    cause: BaseException = error
    seen = {id(cause)}
    while True:
        inner = cause.__cause__ or cause.__context__
        if inner is None or id(inner) in seen:
            break
        seen.add(id(inner))
        cause = inner
        if isinstance(cause, OSError) and cause.strerror:
            return f"{type(cause).__name__}: {cause.strerror}"
    return redact(type(cause).__name__ + (f": {cause}" if str(cause) else ""))[:MAX_ERROR_TEXT]
