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

This module reads the shapes and builds the credentials; the stored-tokens files (reading, the
lock, the atomic write-back) are `token_storage`'s, the google-auth classes whose refreshes go
through the project are `refreshing_credentials`'s, and the token requests themselves (transport,
retries, Google's refusals) are `token_endpoint`'s. Every secret is registered with `redaction` as
it is read. A user's stored tokens come back as `DeferredCredentials`, which serve a still-valid
stored access token without importing google-auth (production's realtime runs, every two
minutes, mostly do just that); a service account's key is read, and google-auth imported, at once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.token_endpoint import TokenEndpoint
from performanceplatform.collector.ga.token_storage import (
    GENERATOR,
    GOOGLE_TOKEN_URI,
    StorageFile,
    StoredTokens,
    parse_stored_tokens,
    read_json_file,
    user_token_uri,
    write_json_atomically,
)
from performanceplatform.collector.http import Timeouts
from performanceplatform.collector.redaction import redact, register_secret
from performanceplatform.collector.retry import RetryPolicy

if TYPE_CHECKING:
    # google-auth and cryptography are imported where a token is made (`refreshing_credentials`)
    # or a key is read, not here: a run whose stored token is valid needs neither.
    import google.auth.credentials
    from cryptography.hazmat.primitives.asymmetric import rsa

# `GENERATOR` and `write_json_atomically` moved to `token_storage`; the tool and the tests still
# import them from here, so they stay part of this module's API.
__all__ = [
    "GENERATOR",
    "GOOGLE_TOKEN_URI",
    "SCOPE",
    "ClientSecrets",
    "credentials_from_config",
    "load_client_secrets",
    "parse_client_secrets",
    "write_json_atomically",
]

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
# The password Google has always put on the .p12 keys it hands out.
P12_PASSWORD = b"notasecret"
ACCEPTED_SHAPES = (
    "expected one of: CLIENT_SECRETS (path to a client secrets file) + STORAGE_PATH (stored "
    "OAuth tokens); ACCOUNT_NAME + PRIVATE_KEY (.p12 or PEM key file) with an optional TOKEN_URI; "
    "SERVICE_ACCOUNT_KEY (service-account JSON key file); CLIENT_SECRETS (object with 'installed') "
    "+ OAUTH2_CREDENTIALS"
)


# Public API ---------------------------------------------------------------------------------------


def credentials_from_config(
    credentials: Mapping[str, Any],
    *,
    source: str = "credentials file",
    credentials_path: Path | None = None,
    retry: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
) -> google.auth.credentials.Credentials | DeferredCredentials:
    """Google credentials (scope `analytics.readonly`) for the keys of a GA credentials file.

    `source` names the credentials file in errors. Relative paths inside it are resolved against
    the working directory, as in the original, or, when nothing is there, against the directory
    of the credentials file (`credentials_path`, or `source` when that is a file's path; see
    `_Paths`). Raises `ConfigurationError` for anything the user must fix.
    """
    if not isinstance(credentials, Mapping):
        raise ConfigurationError(
            f"expected a JSON object, got {type(credentials).__name__}; {ACCEPTED_SHAPES}",
            source=source,
        )
    endpoint = TokenEndpoint(retry or RetryPolicy.from_environment(), timeouts or Timeouts.from_environment())
    paths = _Paths(source, credentials_path)

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
    client_secret: str = field(repr=False)
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
    data = read_json_file(path, "client secrets file", source=source, key=key)
    return parse_client_secrets(data, source=str(path))


# A stored token served until it needs refreshing -------------------------------------------------


class DeferredCredentials:
    """A user's stored OAuth tokens, whose google-auth credentials are built when first needed.

    While the stored access token stays valid (`StoredTokens.usable_access_token`), `token` and
    `valid` are answered from it, and nothing of google-auth is imported: that import is a third of
    a realtime run's start-up, and a stored token serves the runs of an hour. A refresh, or any other
    attribute of google-auth's credentials (`before_request`, `apply`, ...), builds the credentials
    (`refreshing_credentials.UserCredentials`, holding the same stored token), and from then on
    everything is theirs.
    """

    def __init__(self, stored: StoredTokens, build: Callable[[], google.auth.credentials.Credentials]):
        self._stored = stored
        self._build = build
        self._built: google.auth.credentials.Credentials | None = None
        self._lock = threading.Lock()

    def google_credentials(self) -> google.auth.credentials.Credentials:
        """The google-auth credentials, built on the first call."""
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    @property
    def token(self) -> str | None:
        if self._built is not None:
            return self._built.token
        return self._stored.usable_access_token()

    @property
    def expiry(self) -> datetime | None:
        if self._built is not None:
            return self._built.expiry
        return self._stored.expiry if self._stored.usable_access_token() else None

    @property
    def valid(self) -> bool:
        if self._built is not None:
            return self._built.valid
        return self._stored.usable_access_token() is not None

    def refresh(self, request: Any) -> None:
        self.google_credentials().refresh(request)

    def __getattr__(self, name: str) -> Any:
        # Only reached for what is not defined above: google-auth's own interface.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.google_credentials(), name)


# The four shapes ----------------------------------------------------------------------------------


def _from_storage_file(
    credentials: Mapping[str, Any], paths: _Paths, *, source: str, endpoint: TokenEndpoint
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
        paths.resolve(credentials["CLIENT_SECRETS"], "CLIENT_SECRETS", what="client secrets file"),
        source=source,
        key="CLIENT_SECRETS",
    )
    storage_path = paths.resolve(
        storage_value, "STORAGE_PATH", what="stored OAuth tokens file", hint=f"; create it with {GENERATOR}"
    )
    storage = StorageFile(storage_path, source=source, lock_timeout=endpoint.lock_timeout)
    stored = storage.read()
    endpoint.description = str(storage.path)
    endpoint.hint = f"run {GENERATOR} to authorise pp-collector again and write a new {storage.path}"
    return _user_credentials(stored, client, endpoint, storage)


def _from_embedded_tokens(
    credentials: Mapping[str, Any],
    client_secrets: Mapping[str, Any],
    *,
    source: str,
    endpoint: TokenEndpoint,
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
    stored: StoredTokens, client: ClientSecrets, endpoint: TokenEndpoint, storage: StorageFile | None
) -> DeferredCredentials:
    def build() -> google.auth.credentials.Credentials:
        from performanceplatform.collector.ga.refreshing_credentials import UserCredentials

        token = stored.usable_access_token()
        result = UserCredentials(
            token,
            refresh_token=stored.refresh_token,
            # The refresh token was issued to the client named in the stored tokens; the client
            # secrets file only fills in what an old file left out.
            client_id=stored.client_id or client.client_id,
            client_secret=stored.client_secret or client.client_secret,
            token_uri=user_token_uri(stored, client.token_uri),
            # Refreshes ask for exactly the scopes the user granted (or none, which means the
            # same): asking for `analytics.readonly` on a token granted the full `analytics` scope,
            # as the original tool's were, risks `invalid_scope`. New consents ask for readonly
            # (the tool).
            scopes=list(stored.scopes) if stored.scopes else None,
            expiry=stored.expiry if token else None,
        )
        result._pp_endpoint = endpoint
        result._pp_storage = storage
        result._pp_client = client
        return result

    return DeferredCredentials(stored, build)


def _from_account_and_key(
    credentials: Mapping[str, Any], paths: _Paths, *, source: str, endpoint: TokenEndpoint
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
    key_path = paths.resolve(credentials["PRIVATE_KEY"], "PRIVATE_KEY", what="private key")
    token_uri = credentials.get("TOKEN_URI") or GOOGLE_TOKEN_URI
    if not isinstance(token_uri, str):
        raise ConfigurationError("expected a URL", source=source, key="TOKEN_URI")
    import google.auth.crypt

    from performanceplatform.collector.ga.refreshing_credentials import ServiceAccountCredentials

    signer = google.auth.crypt.RSASigner(_private_key(key_path, source=source))
    result = ServiceAccountCredentials(signer, service_account_email=account, token_uri=token_uri, scopes=[SCOPE])
    result._pp_endpoint = endpoint
    endpoint.description = f"service account {account}"
    endpoint.hint = f"check ACCOUNT_NAME and that the key {key_path} is the account's and has not been deleted"
    return result


def _from_service_account_key(
    credentials: Mapping[str, Any], paths: _Paths, *, source: str, endpoint: TokenEndpoint
) -> google.auth.credentials.Credentials:
    key_path = paths.resolve(credentials["SERVICE_ACCOUNT_KEY"], "SERVICE_ACCOUNT_KEY", what="service-account key file")
    info = read_json_file(key_path, "service-account key file", source=source, key="SERVICE_ACCOUNT_KEY")
    if not isinstance(info, Mapping) or info.get("type") != "service_account":
        raise ConfigurationError(
            f'{key_path} is not a service-account JSON key (its "type" must be "service_account")',
            source=source,
            key="SERVICE_ACCOUNT_KEY",
        )
    register_secret(info.get("private_key"))
    register_secret(info.get("private_key_id"))
    import google.auth.crypt

    from performanceplatform.collector.ga.refreshing_credentials import ServiceAccountCredentials

    try:
        missing = [name for name in ("client_email", "token_uri", "private_key") if name not in info]
        if missing:
            # As google-auth's from_service_account_info words it.
            raise ValueError(
                f"Service account info was not in the expected format, missing fields {', '.join(missing)}."
            )
        # What from_service_account_info does, through the public constructor, with the key read
        # once and unchecked (`_trusted_key`).
        signer = google.auth.crypt.RSASigner(
            _trusted_key(str(info["private_key"]).encode("utf-8")), key_id=info.get("private_key_id")
        )
        universe = {"universe_domain": info["universe_domain"]} if "universe_domain" in info else {}
        result = ServiceAccountCredentials(
            signer,
            service_account_email=info["client_email"],
            token_uri=info["token_uri"],
            project_id=info.get("project_id"),
            scopes=[SCOPE],
            **universe,
        )
    except (ValueError, KeyError, TypeError) as error:
        # google-auth and cryptography name what is missing or wrong; neither echoes the key itself.
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
    """Resolves the relative paths in a credentials file, each the same way.

    Against the working directory first, as the original did; when nothing is there, against the
    credentials file's own directory, so that a cron job, which runs in $HOME, finds the files
    kept beside it. The credentials file is the one the run loaded, or `source` when that is a
    file's path (the tool, library callers). Which path was used is logged.
    """

    def __init__(self, source: str, credentials_path: Path | None = None):
        self.source = source
        candidate = Path(source).expanduser()
        credentials_file = credentials_path or (candidate if candidate.is_file() else None)
        self.file_directory = credentials_file.resolve().parent if credentials_file is not None else None

    def resolve(self, value: Any, key: str, *, what: str, hint: str = "") -> Path:
        """The file `value` names (the `what` of `key`); a `ConfigurationError` when it is nowhere."""
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError("expected a file path", source=self.source, key=key)
        path = Path(value).expanduser()
        if path.is_absolute():
            return path
        working_directory = Path.cwd()
        in_working_directory = working_directory / path
        if in_working_directory.exists():
            log.info("%s: key %s: using %s, relative to the working directory", self.source, key, in_working_directory)
            return in_working_directory
        if self.file_directory is None:
            return in_working_directory  # its reader says that it does not exist
        beside = self.file_directory / path
        if not beside.exists():
            raise ConfigurationError(
                f"the {what} {value} does not exist, neither in the working directory {working_directory} nor "
                f"beside the credentials file, in {self.file_directory}{hint}",
                source=self.source,
                key=key,
            )
        log.info("%s: key %s: using %s, beside the credentials file (%s is not in the working directory %s)",
                 self.source, key, beside, value, working_directory)
        return beside


def _private_key(path: Path, *, source: str) -> rsa.RSAPrivateKey:
    """The RSA key at `path`: a PEM file, or a .p12 opened with Google's password. Its PEM text is
    registered as a secret, line by line, so that even a fragment never reaches a log."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigurationError(
            f"cannot read the private key {path} ({error.strerror})", source=source, key="PRIVATE_KEY"
        ) from None
    key: Any
    if b"-----BEGIN" in raw:
        pem = raw
        try:
            key = _trusted_key(raw)
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
    for line in text.splitlines():
        if not line.startswith("-----") and len(line) >= 16:
            register_secret(line)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"{path} is not an RSA private key", source=source, key="PRIVATE_KEY")
    return key


def _trusted_key(pem: bytes) -> Any:
    """An unencrypted PEM private key, read without cryptography's check of an RSA key's numbers.

    The check costs 50 ms a key, more than the rest of a realtime run's credentials, and guards
    against keys crafted to leak a signature's secrets; these come from the operator's own
    credentials files, and a key that is merely broken makes signatures Google refuses, with its
    reason. Read once: google-auth's `from_string` would read (and check) it again.
    """
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)


def _user_token_uri(stored: StoredTokens, client: ClientSecrets | None) -> str:
    return stored.token_uri or (client.token_uri if client else None) or GOOGLE_TOKEN_URI
