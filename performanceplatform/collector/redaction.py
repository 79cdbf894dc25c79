"""Keeps secrets out of everything pp-collector writes.

Credentials are registered here as soon as they are loaded; the log handlers carry
`RedactingFilter`, and error messages and dry-run output pass through `redact`, so a token can only
reach a log line, stderr or stdout as `[REDACTED]`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

PLACEHOLDER = "[REDACTED]"
# Shorter strings are not secrets anyone could guess from a log line, and redacting them would
# garble ordinary words.
MINIMUM_SECRET_LENGTH = 3

_lock = threading.Lock()
_secrets: set[str] = set()
# The secrets, longest first (so that one containing another is replaced whole); rebuilt when a
# secret is added, not for every log line.
_longest_first: tuple[str, ...] = ()

SECRET_KEY_WORDS = ("token", "password", "secret", "key", "credential", "authorization")
PLACE_KEY_ENDINGS = ("uri", "url", "path", "root")
# Credentials-file keys whose values are file paths, not secrets.
PLACE_KEYS = frozenset({"CLIENT_SECRETS", "PRIVATE_KEY", "SERVICE_ACCOUNT_KEY"})


def register_secret(value: Any) -> None:
    """Remember `value` so that it never appears in output."""
    global _longest_first
    if isinstance(value, str) and len(value) >= MINIMUM_SECRET_LENGTH:
        with _lock:
            if value not in _secrets:
                _secrets.add(value)
                _longest_first = tuple(sorted(_secrets, key=len, reverse=True))


def register_secrets_in(mapping: Mapping[str, Any], keys: Iterable[str] | None = None) -> None:
    """Register the values of secret-looking keys (or of `keys`) in a loaded config, recursively.

    Keys naming a place rather than a secret (`token_uri`, `STORAGE_PATH`, `API_ROOT`) are skipped:
    hiding a URL or a path only makes the messages about it unreadable.
    """
    wanted = set(keys) if keys is not None else None
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            register_secrets_in(value, keys)
        elif wanted is not None:
            if key in wanted:
                register_secret(value)
        elif _names_a_place(key):
            continue
        elif any(word in key.lower() for word in SECRET_KEY_WORDS):
            register_secret(value)


def _names_a_place(key: str) -> bool:
    return key.lower().endswith(PLACE_KEY_ENDINGS) or key in PLACE_KEYS


def forget_all_secrets() -> None:
    """Clear the registry (each in-process CLI run starts afresh)."""
    global _longest_first
    with _lock:
        _secrets.clear()
        _longest_first = ()


def redact(text: str) -> str:
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, PLACEHOLDER)
    return text


class RedactingFilter(logging.Filter):
    """Renders each record's message once, with every registered secret replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg = cleaned
        record.args = None
        return True
