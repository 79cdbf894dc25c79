"""Every error pp-collector raises on purpose, grouped by what the caller should do about it.

The CLI maps them to exit codes: a `ConfigurationError` is the user's to fix (exit 2); anything else
that derives from `CollectorError` is a failed collection (exit 1). Messages are written for the
person reading cron mail: they name the file, the key and what was expected, and never carry a
secret (see `redaction`).
"""

from __future__ import annotations

from collections.abc import Callable

EXIT_OK = 0
EXIT_COLLECTION_FAILED = 1
EXIT_USAGE = 2


class CollectorError(Exception):
    """Base class: a collection that cannot complete. Exit code 1."""

    exit_code = EXIT_COLLECTION_FAILED


class ConfigurationError(CollectorError):
    """A usage or configuration mistake the user must fix (exit code 2).

    `source` names the file (or flag) and `key` the offending key, when known; they are folded into
    the message so that it stands alone on one line. `reason`, when given, says what is wrong in a
    few words that are the same for every file with the same problem, so that problems can be
    counted (the GA4 migration report's totals).
    """

    exit_code = EXIT_USAGE

    def __init__(
        self, message: str, *, source: str | None = None, key: str | None = None, reason: str | None = None
    ):
        self.source = source
        self.key = key
        self.detail = message
        self.reason = reason
        prefix = ""
        if source and key:
            prefix = f"{source}: key {key!r}: "
        elif source:
            prefix = f"{source}: "
        elif key:
            prefix = f"key {key!r}: "
        super().__init__(prefix + message)


class PluginError(ConfigurationError):
    """A plugin string that is not a call of a known plugin with literal arguments."""


class UpstreamError(CollectorError):
    """A source API (Google, Pingdom, Stagecraft) or Backdrop answered with an error."""

    def __init__(self, message: str, *, service: str, status: int | None = None):
        self.service = service
        self.status = status
        super().__init__(message)


class RetryableError(UpstreamError):
    """A failure worth trying again: a timeout, a dropped connection, 429 or a 5xx.

    `retry_after` is the wait, in seconds, that the server asked for (Retry-After, a rate-limit
    header, a quota reset), if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, service=service, status=status)
        self.retry_after = retry_after


class FatalUpstreamError(UpstreamError):
    """A failure that another attempt will not fix: 400, 401, 403, 404 and the like."""


class PushError(CollectorError):
    """A push to Backdrop failed part-way: says which chunks landed and which did not.

    `resume_from` is the first record (counted from 0) that is not known to be in Backdrop: every
    record before it was stored, so a re-run that sends it and what follows completes the data set.
    """

    def __init__(
        self,
        message: str,
        *,
        chunks_sent: int,
        records_sent: int,
        failed_chunk: int | None,
        cause: CollectorError | None = None,
        resume_from: int = 0,
    ):
        self.chunks_sent = chunks_sent
        self.records_sent = records_sent
        self.failed_chunk = failed_chunk
        self.cause = cause
        self.resume_from = resume_from
        super().__init__(message)


class InvalidRecordError(CollectorError):
    """A record Backdrop would reject; raised before anything is sent."""

    def __init__(self, message: str, *, index: int, key: str | None):
        self.index = index
        self.key = key
        super().__init__(message)


class RunInterrupted(CollectorError):
    """SIGTERM or Ctrl-C arrived mid-run. Exit code 128 + the signal number, as shells report it."""

    def __init__(self, message: str, *, signal_number: int):
        self.signal_number = signal_number
        self.exit_code = 128 + signal_number
        super().__init__(message)


def problems_of(*steps: Callable[[], object]) -> list[str]:
    """Run each step; the message of each `ConfigurationError` one raises is a problem.

    For `--check`: each step is one thing a run checks before its first request, called exactly
    as the run calls it, so that both report a problem in the same words.
    """
    problems = []
    for step in steps:
        try:
            step()
        except ConfigurationError as error:
            problems.append(str(error))
    return problems


def in_query_file(error: ConfigurationError, source: str | None) -> ConfigurationError:
    """A problem a query reader found in the `query` object (source "query"), naming the query file."""
    if error.source not in (None, "query") or source is None:
        return error
    key = f"query.{error.key}" if error.key and not error.key.startswith(("query", "options")) else error.key
    return ConfigurationError(error.detail, source=source, key=key or "query", reason=error.reason)
