"""A user's stored Google OAuth tokens: reading them, and writing refreshed ones back safely.

Stored tokens come in oauth2client's JSON format (what the original tool wrote) or google-auth's
`authorized_user` one (what `tools/generate-ga-credentials.py` writes now); a refresh is written
back in the format it was read in, other keys kept. Many cron jobs share one storage file, so a
change happens under an `fcntl` lock on a file beside it, after re-reading the file (another
process may have just refreshed), and replaces the file atomically.

Expiries are naive UTC datetimes, as google-auth keeps them. Every secret is registered with
`redaction` as it is read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from performanceplatform.collector.errors import CollectorError, ConfigurationError
from performanceplatform.collector.periods import to_utc_datetime, utc_now
from performanceplatform.collector.redaction import register_secret

# The GA credentials modules share the logger `ga.auth` had before they were split out of it:
# its name is in every log line, and operators' filters and the tests select on it.
log = logging.getLogger("performanceplatform.collector.ga.auth")

GENERATOR = "tools/generate-ga-credentials.py"
OAUTH2CLIENT_EXPIRY_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# A stored access token is only worth using if it outlives google-auth's own refresh margin
# (3 min 45 s); otherwise google-auth would call it expired straight away and refresh anyway.
STORED_TOKEN_MARGIN = timedelta(minutes=5)
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a password)


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
        if self.access_token and self.expiry is not None and _now() < self.expiry - STORED_TOKEN_MARGIN:
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
                response["expires_in"] = max(0, int((expiry - _now()).total_seconds()))
            if granted_scopes:
                response["scope"] = " ".join(granted_scopes)
            data["token_response"] = response
            if "invalid" in data:
                data["invalid"] = False
        else:
            data["token"] = access_token
            data["expiry"] = format_expiry(expiry)
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
        expiry=parse_expiry(data.get(expiry_key), where=f"{source}: {expiry_key}"),
        scopes=scopes_tuple,
    )


class StorageFile:
    """A stored-tokens file shared by many cron jobs: read freely, change under a lock."""

    def __init__(self, path: Path, *, source: str, lock_timeout: float) -> None:
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
        data = read_json_file(
            self.path, "stored OAuth tokens file", source=self.source, key="STORAGE_PATH", hint=self.hint
        )
        return parse_stored_tokens(data, source=str(self.path), hint=self.hint)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        from performanceplatform.collector.locking import flock_held

        def cannot_open(error: OSError) -> ConfigurationError:
            return ConfigurationError(
                f"cannot create the lock file {self.lock_path} ({error.strerror}); the directory "
                "must be writable by the user running pp-collector, which writes refreshed tokens there",
                source=self.source,
                key="STORAGE_PATH",
            )

        with flock_held(self.lock_path, self.lock_timeout, cannot_open=cannot_open, mode=0o600) as descriptor:
            if descriptor is None:
                raise CollectorError(
                    f"gave up after {self.lock_timeout:.0f} s waiting for {self.lock_path}, "
                    "held by another pp-collector refreshing the same Google tokens"
                )
            yield

    def write(self, data: Mapping[str, Any]) -> None:
        try:
            write_json_atomically(self.path, data, mode=0o600)
        except OSError as error:
            raise ConfigurationError(
                f"cannot write the refreshed token to {self.path} ({error.strerror})",
                source=self.source,
                key="STORAGE_PATH",
            ) from None


def read_json_file(path: Path, what: str, *, source: str | None = None, key: str | None = None, hint: str = "") -> Any:
    """The JSON in `path` (the `what` of the credentials file's `key`); `ConfigurationError` if unreadable.

    Not `config.load_json_file`: these messages name the file in the credentials file that
    points at it, and never quote the text, which holds secrets.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not JSON
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


# Expiries -----------------------------------------------------------------------------------------


def parse_expiry(value: Any, *, where: str) -> datetime | None:
    """An expiry as naive UTC ("2014-05-16T12:00:00Z", with or without fraction or offset)."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        log.warning("%s: cannot read the expiry %r; the access token will be refreshed", where, value)
        return None
    # A naive expiry is already UTC; an aware one is converted, then made naive like google-auth's.
    return to_utc_datetime(parsed).replace(tzinfo=None)


def format_expiry(expiry: datetime | None) -> str | None:
    """A naive UTC expiry as google-auth's `authorized_user` files hold it: whole seconds, "Z"."""
    return expiry.replace(microsecond=0).isoformat() + "Z" if expiry else None


def expiry_text(expiry: datetime | None) -> str:
    """An expiry for a log line."""
    return format_expiry(expiry) or "an unknown time"


def _now() -> datetime:
    # Naive, to compare with the naive UTC expiries google-auth keeps.
    return utc_now().replace(tzinfo=None)


def user_token_uri(stored: StoredTokens, client_token_uri: str | None) -> str:
    """Where a user's stored tokens are refreshed: the stored tokens' endpoint, else their client's,
    else Google's."""
    return stored.token_uri or client_token_uri or GOOGLE_TOKEN_URI
