"""The Backdrop client: pushes records to one data set, in chunks, and says exactly what landed.

`DataSet` is the original `performanceplatform-client` DataSet and `Pusher` the collector's
`data_pusher.Pusher`, with their bugs fixed:

- records are checked against Backdrop's rules before they are sent (`backdrop_validation`),
  because Backdrop rejects a whole request for one bad record;
- any iterable of dicts is accepted and consumed lazily: a chunk is sent as soon as it is full, so a
  collector can stream records while it fetches them, and the next chunk is gathered while the
  one before is on its way (on a courier thread); chunks still land one at a time, in order, each
  only once the one before it was stored;
- every request has timeouts and goes through the project's one retry policy (`HttpClient`):
  connection errors, timeouts, 429 and 5xx are retried with backoff, honouring Retry-After; other
  4xx fail at once with Backdrop's own message;
- a retried request resends the whole (possibly gzipped) body; the original sent an empty one;
- datetimes and Decimals are encoded (a date is written as `YYYY-MM-DD`, a string to Backdrop, so
  the check refuses one as `_timestamp`); a failed push says how many chunks and records landed;
- `--dry-run` prints the exact JSON that would be sent, with the token redacted, and sends nothing.

Retrying a POST is safe for records with an `_id` (Backdrop upserts by `_id`); a record without one
gets a fresh id each time it is stored, so a chunk whose answer was lost may be stored twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any, TextIO
from urllib.parse import urlsplit

import orjson

from performanceplatform.collector.backdrop_validation import check_records
from performanceplatform.collector.errors import (
    CollectorError,
    ConfigurationError,
    FatalUpstreamError,
    InvalidRecordError,
    PushError,
    RetryableError,
    RunInterrupted,
    UpstreamError,
)
from performanceplatform.collector.http import (
    USER_AGENT,
    HttpClient,
    HttpResponse,
    default_classify,
    require_secure_transport,
    url_for_log,
)
from performanceplatform.collector.redaction import PLACEHOLDER, redact, register_secret
from performanceplatform.collector.workers import FINISH_IN_FLIGHT_SECONDS, DaemonPool

log = logging.getLogger(__name__)

SERVICE = "Backdrop"
DEFAULT_CHUNK_SIZE = 100
# Bodies longer than this are gzipped, as the original client did.
GZIP_THRESHOLD = 2048
# Backdrop decompresses at most this much and answers 413 beyond it.
MAX_DECOMPRESSED_BODY = 10 * 1024 * 1024
CONFIG_SOURCE = "Backdrop data set config"

Record = Mapping[str, Any]


@dataclass(frozen=True)
class PushReport:
    """What a push did. In a dry run the counts are of requests printed, not sent."""

    records_sent: int
    chunks_sent: int
    emptied: bool = False
    dry_run: bool = False


# Encoding ------------------------------------------------------------------------------------------


def encode_value(value: Any) -> str:
    """One record value as JSON text.

    A naive datetime is taken to be UTC, as in the original client; an aware one keeps its own
    offset (Backdrop converts it to UTC). A Decimal is written as the number it is, digit for
    digit, rather than through a float.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return json.dumps(value.isoformat())
    if isinstance(value, dt.date):
        return json.dumps(value.isoformat())
    if isinstance(value, Decimal):
        # str() of a finite Decimal ("12.50", "1E+3", "-0") is always a valid JSON number.
        return str(value)
    return json.dumps(value, allow_nan=False)


class _NeedsExactNumber(Exception):
    """A Decimal, which the C encoder cannot write digit for digit: the record-by-record path can."""


def _encode_default(value: Any) -> Any:
    # Called by the C encoder for what JSON has no type for; the result must read as `encode_value`
    # writes it.
    if isinstance(value, dt.date):  # datetimes too
        return _iso_text(value, getattr(value, "tzinfo", None))
    if isinstance(value, Mapping):
        return dict(value)
    raise _NeedsExactNumber


@functools.lru_cache(maxsize=4096)
def _iso_text(value: dt.date, tzinfo: dt.tzinfo | None) -> str:
    # A period's records share a few timestamps. `tzinfo` is part of the key because equal
    # instants in different zones compare equal but are written differently.
    if isinstance(value, dt.datetime) and tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_encode_default)


def encode_records(records: Sequence[Record]) -> bytes:
    """A list of validated (flat) records as the JSON body Backdrop expects.

    orjson writes the whole list (a tenth of the stdlib encoder's time, which a million-record
    push notices), calling `_encode_default` for datetimes and dates so that they read exactly as
    `encode_value` writes them (orjson's own datetime format rounds odd UTC offsets). What orjson
    refuses (a Decimal, an int beyond 64 bits, a lone surrogate) goes through the stdlib encoder,
    and a chunk holding a Decimal is written record by record with `encode_value`. Every path
    gives JSON that reads back as the same records; orjson leaves non-ASCII characters as UTF-8
    where the stdlib escapes them.
    """
    chunk = records if isinstance(records, list) else list(records)
    try:
        return orjson.dumps(chunk, default=_encode_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    except (orjson.JSONEncodeError, _NeedsExactNumber):
        pass
    try:
        return _ENCODER.encode(chunk).encode("ascii")
    except _NeedsExactNumber:
        pass
    parts = []
    for record in chunk:
        fields = ",".join(f"{json.dumps(key)}:{encode_value(value)}" for key, value in record.items())
        parts.append("{" + fields + "}")
    return ("[" + ",".join(parts) + "]").encode("ascii")


# Responses -----------------------------------------------------------------------------------------


def classify_backdrop_response(service: str, response: HttpResponse) -> None:
    """`default_classify`, with a hint for 413 and the token redacted from Backdrop's messages.

    Backdrop's 401 message quotes the token it was sent, so the error must be cleaned before it
    reaches a log line, an exception message or cron mail.
    """
    if response.status_code == 413:
        raise FatalUpstreamError(
            f"{service} answered 413: the request body is larger than Backdrop accepts "
            f"({MAX_DECOMPRESSED_BODY // (1024 * 1024)} MiB of JSON once decompressed); "
            "lower chunk-size",
            service=service,
            status=413,
        )
    try:
        default_classify(service, response)
    except RetryableError as error:
        raise RetryableError(
            redact(str(error)),
            service=error.service,
            status=error.status,
            retry_after=error.retry_after,
        ) from None
    except FatalUpstreamError as error:
        raise FatalUpstreamError(
            redact(str(error)), service=error.service, status=error.status
        ) from None


# The client ----------------------------------------------------------------------------------------


@dataclass
class _Progress:
    chunks_sent: int = 0
    records_sent: int = 0
    emptied: bool = False

    @property
    def touched_backdrop(self) -> bool:
        return self.emptied or self.chunks_sent > 0


@dataclass(frozen=True)
class _Prepared:
    """One request, ready to go: its headers, and its body as JSON and as sent (gzipped when large)."""

    method: str
    # Not in the repr: they carry the bearer token.
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    payload: bytes = field(repr=False)

    @property
    def gzipped(self) -> bool:
        return self.payload is not self.body


@dataclass(frozen=True)
class _InFlight:
    """A chunk on its way to Backdrop: its outcome (the answer's status, None in a dry run, and
    the seconds it took), its number and its request."""

    future: Future[tuple[int | None, float]]
    number: int
    record_count: int
    request: _Prepared


class DataSet:
    """One Backdrop data set, written to with its own bearer token.

    All requests of one `DataSet` carry the same `Govuk-Request-Id` (one per run, since a run
    builds one `DataSet`), so Backdrop's logs tie a run's chunks and their retries together.
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        dry_run: bool = False,
        name: str | None = None,
        http: HttpClient | None = None,
        stdout: TextIO | None = None,
        request_id: str | None = None,
        data_type: str | None = None,
    ):
        """`data_type` (the config's `data-type`) picks the schema records are checked against."""
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise ConfigurationError(
                f"expected an http:// or https:// URL, got {url!r}", source=CONFIG_SOURCE, key="url"
            )
        if token is not None and not isinstance(token, str):
            raise ConfigurationError(
                f"expected a string, got a {type(token).__name__}", source=CONFIG_SOURCE, key="token"
            )
        register_secret(token)
        self.url = url.rstrip("/")
        self.token = token
        self.dry_run = dry_run
        self.data_type = data_type
        self.name = name or url_for_log(self.url)
        self.request_id = request_id or f"pp-collector-{uuid.uuid4().hex}"
        self._stdout = stdout
        self._http: HttpClient | None = None
        if not dry_run:
            if not token:
                raise ConfigurationError(
                    "expected the data set's bearer token (a non-empty string)",
                    source=CONFIG_SOURCE,
                    key="token",
                )
            # Fail before an hour of collecting, not at push time.
            require_secure_transport(self.url, "the Backdrop token")
            self._http = http or HttpClient(SERVICE, classify=classify_backdrop_response)

    @classmethod
    def from_config(
        cls,
        data_set_config: Mapping[str, Any],
        *,
        http: HttpClient | None = None,
        stdout: TextIO | None = None,
    ) -> DataSet:
        """From `{"url", "token", "data-group", "data-type", "dry_run"}` (as main builds it)."""
        if not isinstance(data_set_config, Mapping):
            raise ConfigurationError(
                f"expected a mapping, got a {type(data_set_config).__name__}", source=CONFIG_SOURCE
            )
        if "url" not in data_set_config:
            raise ConfigurationError("missing", source=CONFIG_SOURCE, key="url")
        dry_run = data_set_config.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise ConfigurationError(
                f"expected true or false, got {dry_run!r}", source=CONFIG_SOURCE, key="dry_run"
            )
        group = data_set_config.get("data-group")
        data_type = data_set_config.get("data-type")
        name = f"{group}/{data_type}" if group and data_type else None
        return cls(
            data_set_config["url"],
            data_set_config.get("token"),
            dry_run=dry_run,
            name=name,
            http=http,
            stdout=stdout,
            data_type=data_type if isinstance(data_type, str) else None,
        )

    # Public operations -----------------------------------------------------------------------------

    def post(
        self,
        records: Iterable[Record],
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        *,
        empty_first: bool = False,
    ) -> PushReport:
        """POST `records` in chunks of `chunk_size`, each sent as soon as it is full.

        A list or tuple is checked whole before anything is sent. Any other iterable is checked a
        chunk at a time, just before that chunk goes out, so a bad record late in a stream fails
        the push after the earlier chunks have landed; the `PushError` then says so. When
        `empty_first` is set the data set is emptied (PUT []) just before the first chunk, and only
        if there is a first chunk.
        """
        _require_records_iterable(records)
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ConfigurationError(
                f"expected a positive whole number of records per request, got {chunk_size!r}",
                key="chunk-size",
            )
        checked_in_advance = isinstance(records, Sequence)
        if checked_in_advance:
            check_records(records, data_type=self.data_type)

        progress = _Progress()
        log.info(
            "pushing to Backdrop %s in chunks of %d (Govuk-Request-Id %s%s)",
            self.name,
            chunk_size,
            self.request_id,
            ", dry run" if self.dry_run else "",
        )
        # While one chunk is on its way, the next is gathered (fetching and building its records),
        # checked and encoded here: a push waits for Backdrop's answer only when the next chunk is
        # ready. Chunks still go one at a time, each only once the one before it was stored.
        courier = None if self.dry_run else DaemonPool(1, "backdrop-push")
        in_flight: _InFlight | None = None
        stopped = False
        iterator = iter(records)
        try:
            while True:
                number = progress.chunks_sent + (2 if in_flight else 1)
                first_index = progress.records_sent + (in_flight.record_count if in_flight else 0)
                try:
                    chunk = list(islice(iterator, chunk_size))
                except BaseException as error:
                    if isinstance(error, RunInterrupted) and in_flight is not None and not _landed(in_flight):
                        raise  # a stopped run does not wait: the handler below names the chunk in flight
                    # A sequential push would have met the chunk in flight's failure first.
                    in_flight = self._settle(in_flight, progress)
                    self._note_source_failure(error, progress)
                    raise
                if not chunk:
                    break
                if not checked_in_advance:
                    try:
                        check_records(chunk, start_index=first_index, data_type=self.data_type)
                    except InvalidRecordError as error:
                        in_flight = self._settle(in_flight, progress)
                        if not progress.touched_backdrop:
                            raise
                        raise self._failure(progress, number, first_index, len(chunk), str(error), error) from error
                body = encode_records(chunk)
                if len(body) > MAX_DECOMPRESSED_BODY:
                    in_flight = self._settle(in_flight, progress)
                    raise self._failure(
                        progress,
                        number,
                        first_index,
                        len(chunk),
                        f"its {len(body)} bytes of JSON are more than the "
                        f"{MAX_DECOMPRESSED_BODY} Backdrop accepts in one request; lower chunk-size",
                        None,
                    )
                request = self._prepare("POST", body)
                in_flight = self._settle(in_flight, progress)
                if empty_first and not progress.emptied:
                    self.empty_data_set()
                    progress.emptied = True
                in_flight = _InFlight(Future(), number, len(chunk), request)
                self._dispatch(courier, in_flight, progress, first_index)
            in_flight = self._settle(in_flight, progress)
        except RunInterrupted as interruption:
            stopped = True
            if in_flight is None:
                raise
            raise RunInterrupted(
                f"{interruption} while pushing chunk {in_flight.number} to Backdrop {self.name}: "
                f"{progress.chunks_sent} earlier chunks ({progress.records_sent} records) had been "
                f"stored; chunk {in_flight.number} may or may not have been; nothing after it was sent",
                signal_number=interruption.signal_number,
            ) from None
        finally:
            if courier is not None:
                courier.stop()
                if not stopped:
                    # A push that failed in an unforeseen way still lets its chunk in flight end
                    # (as a backfill lets its requests end); a stopped run is ending at once.
                    courier.join(timeout=FINISH_IN_FLIGHT_SECONDS)

        if progress.chunks_sent == 0:
            log.info("no data to push to Backdrop %s; nothing sent", self.name)
        else:
            log.info(
                "%s %d records in %d chunks to Backdrop %s",
                "printed (dry run)" if self.dry_run else "pushed",
                progress.records_sent,
                progress.chunks_sent,
                self.name,
            )
        return PushReport(
            records_sent=progress.records_sent,
            chunks_sent=progress.chunks_sent,
            emptied=progress.emptied,
            dry_run=self.dry_run,
        )

    def empty_data_set(self) -> None:
        """Remove every record of the data set (PUT `[]`, the only PUT Backdrop supports)."""
        started = time.monotonic()
        try:
            status = self._send(self._prepare("PUT", b"[]"))
        except UpstreamError as error:
            raise PushError(
                f"emptying Backdrop data set {self.name} (PUT []) failed: {redact(str(error))}. "
                "No records were pushed.",
                chunks_sent=0,
                records_sent=0,
                failed_chunk=None,
                cause=error,
            ) from error
        if status is not None:
            log.info(
                "emptied Backdrop data set %s: status %d, %.3f s",
                self.name,
                status,
                time.monotonic() - started,
            )

    # Internals -------------------------------------------------------------------------------------

    def _dispatch(
        self, courier: DaemonPool | None, in_flight: _InFlight, progress: _Progress, first_index: int
    ) -> None:
        """Send `in_flight`'s chunk on the courier's thread (a dry run prints it here and now);
        its future gets the outcome. The courier only sends: the request was prepared, and its log
        line is written, on the caller's thread, so that the next chunk can go sooner."""

        def deliver(_: None) -> None:
            started = time.monotonic()
            try:
                status = self._send(in_flight.request)
            except UpstreamError as error:
                # `progress` counts the chunks before this one: the caller updates it only once
                # this chunk is settled.
                failure = self._failure(
                    progress,
                    in_flight.number,
                    first_index,
                    in_flight.record_count,
                    str(error),
                    error,
                    maybe_stored=isinstance(error, RetryableError),
                )
                failure.__cause__ = error
                in_flight.future.set_exception(failure)
            except RunInterrupted:
                raise  # only in a dry run, on this (the main) thread: the caller says what it stopped
            except BaseException as error:
                in_flight.future.set_exception(error)
            else:
                in_flight.future.set_result((status, time.monotonic() - started))

        if courier is None:
            deliver(None)
        else:
            courier.submit(deliver, None)

    def _settle(self, in_flight: _InFlight | None, progress: _Progress) -> None:
        """Wait for the chunk in flight: count and log it when it was stored, raise its failure when not."""
        if in_flight is None:
            return None
        # Waiting here is interruptible: SIGTERM's handler raises in this (the main) thread.
        status, seconds = in_flight.future.result()
        progress.chunks_sent += 1
        progress.records_sent += in_flight.record_count
        body = in_flight.request.body
        if status is None:
            log.info(
                "dry run: chunk %d for Backdrop %s printed, not sent: %d records, %d bytes of JSON",
                in_flight.number,
                self.name,
                in_flight.record_count,
                len(body),
            )
        else:
            log.info(
                "pushed chunk %d to Backdrop %s: %d records, %d bytes of JSON%s, status %d, %.3f s",
                in_flight.number,
                self.name,
                in_flight.record_count,
                len(body),
                " (gzipped)" if in_flight.request.gzipped else "",
                status,
                seconds,
            )
        return None

    def _note_source_failure(self, error: BaseException, progress: _Progress) -> None:
        # The records' source (a collector fetching as it goes) failed mid-stream. Its own error is
        # the one to raise, but what already landed must not go unsaid: in the log, and as a note
        # that the CLI prints after the error's own message.
        if not progress.touched_backdrop:
            return
        log.warning(
            "the records being pushed to Backdrop %s stopped with an error after "
            "%d chunks (%d records) had been stored%s",
            self.name,
            progress.chunks_sent,
            progress.records_sent,
            " in the emptied data set" if progress.emptied else "",
        )
        if isinstance(error, CollectorError):
            error.add_note(
                f"{progress.chunks_sent} chunk{'s' if progress.chunks_sent != 1 else ''} "
                f"({progress.records_sent} records) had been stored in Backdrop {self.name}"
                f"{' (emptied first)' if progress.emptied else ''}; nothing after them was sent"
            )

    def _prepare(self, method: str, body: bytes) -> _Prepared:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Govuk-Request-Id": self.request_id,
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = body
        if len(body) > GZIP_THRESHOLD:
            # mtime=0 keeps the bytes reproducible. The bytes object is reused as it is by every
            # attempt of the retry policy, so a retry resends the whole body. Level 1: records
            # are repetitive JSON, so it compresses nearly as well as 9 (5% against 4.6%) in a
            # ninth of the time, which a backfill of a million records notices.
            payload = gzip.compress(body, compresslevel=1, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return _Prepared(method, headers, body, payload)

    def _send(self, request: _Prepared) -> int | None:
        """Send (or, in a dry run, print) one request; its status, or None in a dry run."""
        if self._http is None:
            self._print_request(request.method, request.headers, request.body)
            return None
        # Each chunk that landed is logged by `_settle`; every failed attempt by the client.
        response = self._http.request(
            request.method, self.url, headers=request.headers, body=request.payload, log_success=False
        )
        return response.status_code

    def _print_request(self, method: str, headers: Mapping[str, str], body: bytes) -> None:
        shown = dict(headers)
        if "Authorization" in shown:
            shown["Authorization"] = f"Bearer {PLACEHOLDER}"
        lines = [f"{method} {url_for_log(self.url)}"]
        lines.extend(f"{name}: {value}" for name, value in shown.items())
        lines.extend(["", body.decode("utf-8"), ""])
        out = self._stdout if self._stdout is not None else sys.stdout
        out.write(redact("\n".join(lines)) + "\n")
        out.flush()

    def _failure(
        self,
        progress: _Progress,
        number: int,
        first_index: int,
        record_count: int,
        reason: str,
        cause: CollectorError | None,
        *,
        maybe_stored: bool = False,
    ) -> PushError:
        last_index = first_index + record_count - 1
        records = f"record {first_index}" if record_count == 1 else f"records {first_index}-{last_index}"
        message = f"push to Backdrop {self.name} failed at chunk {number} ({records}): {redact(reason)}. "
        if progress.chunks_sent:
            message += (
                f"{progress.chunks_sent} earlier chunk{'s' if progress.chunks_sent != 1 else ''} "
                f"({progress.records_sent} records) had been stored"
            )
            message += " in the emptied data set. " if progress.emptied else ". "
        elif maybe_stored:
            message += "No earlier chunk had been stored"
            message += " (the data set had been emptied). " if progress.emptied else ". "
        elif progress.emptied:
            message += "The data set had been emptied and no records were stored. "
        else:
            message += "No records were stored. "
        if maybe_stored:
            message += (
                f"Chunk {number} may or may not have been stored (Backdrop can fail after storing). "
            )
        message += "Nothing after it was sent."
        return PushError(
            message,
            chunks_sent=progress.chunks_sent,
            records_sent=progress.records_sent,
            failed_chunk=number,
            cause=cause,
        )


def _landed(in_flight: _InFlight) -> bool:
    """Whether the chunk's answer has come, and said it was stored."""
    return in_flight.future.done() and in_flight.future.exception() is None


def _require_records_iterable(records: object) -> None:
    # A str is iterable and a dict iterates over its keys: both would be chunked into nonsense, as
    # the original client did with a str on Python 3.
    if isinstance(records, str | bytes | bytearray | Mapping) or not isinstance(records, Iterable):
        raise TypeError(
            f"records must be an iterable of dicts (a list or a generator), "
            f"not a {type(records).__name__}"
        )


# The pusher ----------------------------------------------------------------------------------------


class Pusher:
    """Pushes a collector's records to its data set, as the query's options say.

    Options: `chunk-size` (records per request, default 100) and `empty-data-set` (empty the data
    set before pushing, and only when there is something to push).
    """

    def __init__(
        self,
        data_set_config: Mapping[str, Any],
        options: Mapping[str, Any] | None = None,
        *,
        source: str | None = None,
        http: HttpClient | None = None,
        stdout: TextIO | None = None,
    ):
        options = options or {}
        self.chunk_size = options.get("chunk-size", DEFAULT_CHUNK_SIZE)
        if (
            isinstance(self.chunk_size, bool)
            or not isinstance(self.chunk_size, int)
            or self.chunk_size < 1
        ):
            raise ConfigurationError(
                f"expected a positive whole number of records per request, got {self.chunk_size!r}",
                source=source,
                key="chunk-size",
            )
        self.empty_data_set = options.get("empty-data-set", False)
        if not isinstance(self.empty_data_set, bool):
            raise ConfigurationError(
                f"expected true or false, got {self.empty_data_set!r}",
                source=source,
                key="empty-data-set",
            )
        self.data_set = DataSet.from_config(data_set_config, http=http, stdout=stdout)

    def push(self, records: Iterable[Record]) -> PushReport:
        return self.data_set.post(records, self.chunk_size, empty_first=self.empty_data_set)
