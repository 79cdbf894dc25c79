"""Pushing a run's records to one Backdrop data set, chunk by chunk, always knowing what landed.

The pipeline hands the sink one chunk at a time (`send`); the sink checks it against Backdrop's
rules (Backdrop refuses a whole request for one bad record), encodes and prepares it on the
pushing thread, and courier threads send it, so that the next chunks are fetched and built while
earlier ones are on their way. Up to `concurrency` chunks are on their way at once
(`--push-concurrency`): against a Backdrop that takes 20 ms to answer a POST, one chunk of 100 at a
time caps a push at 5,000 records a second, whatever the collector's own speed. With 1, each chunk
is sent only once the one before it was stored, as the original client did.

Overlapping changes nothing Backdrop ends up holding: Backdrop upserts by `_id`, the last record
with an `_id` winning, so a chunk holding an `_id` that a chunk still on its way holds is sent only
once that one has landed; records without an `_id` get a fresh one from Backdrop and can land in any
order. (A data set whose Backdrop config computes ids from fields, `auto_ids`, overwrites the ids
sent, which the sink cannot see: push to such a data set one chunk at a time.)

The couriers own the push's progress: a `_Ledger` of every chunk, written as answers arrive. So
however the run ends (a chunk refused, the source failing, a bad record, SIGTERM or Ctrl-C at any
moment, between chunks included), leaving the `with` block reports exactly which chunks were stored,
which may or may not have been, and the first record from which a re-run completes the data set: in
the `PushError`'s message (and its `resume_from`), or as a note on the error that stopped the run, or
in the `RunInterrupted` itself. A stopped run does not wait for the chunks on their way; a failed one
lets them end first, so that their fate is known, and sends nothing more.

`empty-data-set` empties the data set (PUT []) just before the first chunk, and only if there is
one. A dry run prints each request, in order, on the pushing thread, and sends nothing; its counts
are of chunks printed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from types import TracebackType
from typing import Any

from performanceplatform.collector import progress
from performanceplatform.collector.backdrop.client import MAX_DECOMPRESSED_BODY, DataSet, PreparedRequest
from performanceplatform.collector.backdrop.encoding import encode_records
from performanceplatform.collector.backdrop_validation import check_records
from performanceplatform.collector.errors import (
    CollectorError,
    ConfigurationError,
    InvalidRecordError,
    PushError,
    RetryableError,
    RunInterrupted,
    UpstreamError,
)
from performanceplatform.collector.options import DEFAULT_CHUNK_SIZE
from performanceplatform.collector.redaction import redact
from performanceplatform.collector.workers import FINISH_IN_FLIGHT_SECONDS, DaemonPool

log = logging.getLogger(__name__)

Record = Mapping[str, Any]


@dataclass(frozen=True)
class PushReport:
    """What a push did. In a dry run the counts are of requests printed, not sent."""

    records_sent: int
    chunks_sent: int
    emptied: bool = False
    dry_run: bool = False


def push_records(sink: BackdropSink, records: Iterable[Record]) -> PushReport:
    """Send `records` through `sink`, a chunk at a time as they are read.

    A list or tuple is checked whole before anything is sent; any other iterable (a source still
    fetching) a chunk at a time, just before that chunk goes out. Whatever stops the records (the
    source failing, a stop) surfaces here, and the sink's exit says what had landed by then.
    """
    _require_records_iterable(records)
    checked = isinstance(records, Sequence)
    with sink:
        if checked:
            sink.check(list(records))
        for chunk in chunked(records, sink.chunk_size):
            sink.send(chunk, checked=checked)
        return sink.finish()


def chunked(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """`records` in lists of `size` (the last may be shorter), read as they are needed."""
    _require_records_iterable(records)
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass
class _Chunk:
    number: int
    first_index: int
    record_count: int
    request: PreparedRequest
    # Its last record's `_timestamp`: where a re-run of a stopped backfill can start from.
    last_timestamp: Any = None
    # The `_id`s of its records, when chunks overlap: a later chunk sharing one waits for this one.
    ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Failed:
    """A chunk whose POST failed: why, and whether Backdrop may have stored it all the same."""

    chunk: _Chunk
    reason: str
    cause: BaseException
    maybe_stored: bool


class _Ledger:
    """What became of each chunk. The couriers write it as answers arrive; the pushing thread reads
    it under the same condition, and waits on it for room or for the chunks on their way.

    `stored_chunks` and `stored_records` count every chunk stored so far (in a dry run: printed);
    `complete_chunks` and `complete_records` count those of the unbroken run of stored chunks from
    chunk 1 (overlapping chunks can land out of order): every record before `complete_records` is
    in Backdrop.
    """

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.stored_chunks = 0
        self.stored_records = 0
        self.complete_chunks = 0
        self.complete_records = 0
        self.emptied = False
        self.on_the_way: list[_Chunk] = []
        self.failed: list[_Failed] = []
        self.last_dispatched = 0
        # Stored chunks after the first one that is not, by number.
        self._stored_beyond: dict[int, _Chunk] = {}

    @property
    def touched_backdrop(self) -> bool:
        return self.emptied or self.stored_chunks > 0 or bool(self.on_the_way)

    @property
    def stored_out_of_order(self) -> list[int]:
        """The numbers of the chunks stored after one that is not."""
        return sorted(self._stored_beyond)

    def dispatched(self, chunk: _Chunk) -> None:
        self.on_the_way.append(chunk)
        self.last_dispatched = chunk.number

    def landed(self, chunk: _Chunk) -> None:
        self.on_the_way.remove(chunk)
        self.stored_chunks += 1
        self.stored_records += chunk.record_count
        self._stored_beyond[chunk.number] = chunk
        while (following := self._stored_beyond.pop(self.complete_chunks + 1, None)) is not None:
            self.complete_chunks += 1
            self.complete_records += following.record_count

    def failure(self) -> _Failed | None:
        """The failed chunk a sequential push would have met first."""
        return min(self.failed, key=lambda failed: failed.chunk.number) if self.failed else None


class BackdropSink:
    """Use as `with BackdropSink(data_set, chunk_size=...) as sink: sink.send(chunk) ...; sink.finish()`.

    `concurrency`: the most chunks on their way at once (1, the default: one after another).
    """

    def __init__(
        self,
        data_set: DataSet,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        empty_first: bool = False,
        concurrency: int = 1,
    ):
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ConfigurationError(
                f"expected a positive whole number of records per request, got {chunk_size!r}", key="chunk-size"
            )
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigurationError(
                f"expected a whole number of at least 1, got {concurrency!r}", key="push-concurrency"
            )
        self.data_set = data_set
        self.chunk_size = chunk_size
        self.empty_first = empty_first
        # A dry run prints on the pushing thread, one request after another.
        self.concurrency = 1 if data_set.dry_run else concurrency
        self._ledger = _Ledger()
        self._couriers: DaemonPool | None = None
        self._next_number = 1
        self._next_index = 0
        # "stored" or "printed": what a chunk that went out became.
        self._landed_word = "printed (dry run)" if data_set.dry_run else "stored"
        if empty_first:
            progress.note(progress.REPLACES)

    @property
    def ledger(self) -> _Ledger:
        """What has become of the chunks so far (read its counts under `ledger.changed`)."""
        return self._ledger

    # The push ------------------------------------------------------------------------------------

    def __enter__(self) -> BackdropSink:
        log.info(
            "pushing to Backdrop %s in chunks of %d%s (Govuk-Request-Id %s%s)",
            self.data_set.name,
            self.chunk_size,
            f", up to {self.concurrency} at once" if self.concurrency > 1 else "",
            self.data_set.request_id,
            ", dry run" if self.data_set.dry_run else "",
        )
        if not self.data_set.dry_run:
            self._couriers = DaemonPool(self.concurrency, "backdrop-push")
        return self

    def check(self, records: list[Record]) -> None:
        """Check a whole set of records before any is sent: a bad one fails the push with nothing sent."""
        check_records(records, start_index=self._next_index, data_type=self.data_set.data_type)

    def send(self, records: list[Record], *, checked: bool = False) -> None:
        """Check (unless `checked` already), encode and dispatch one chunk; raises the failure of a
        chunk before it, if any."""
        if not records:
            return
        number, first_index = self._next_number, self._next_index
        self._raise_failure()
        try:
            if not checked:
                check_records(records, start_index=first_index, data_type=self.data_set.data_type)
        except InvalidRecordError as error:
            # A sequential push would have met the chunks before this one first.
            self._settle()
            if not self._ledger.touched_backdrop:
                raise
            raise self._failure(number, first_index, len(records), str(error), error) from error
        body = encode_records(records)
        if len(body) > MAX_DECOMPRESSED_BODY:
            self._settle()
            raise self._failure(
                number,
                first_index,
                len(records),
                f"its {len(body)} bytes of JSON are more than the {MAX_DECOMPRESSED_BODY} Backdrop accepts "
                "in one request; lower chunk-size",
                None,
            )
        ids = _ids_of(records) if self.concurrency > 1 else frozenset()
        chunk = _Chunk(number, first_index, len(records), self.data_set.prepare("POST", body),
                       records[-1].get("_timestamp"), ids)
        self._wait_for_room(chunk)
        if self.empty_first and not self._ledger.emptied:
            self._empty()
        with self._ledger.changed:
            self._ledger.dispatched(chunk)
        self._next_number += 1
        self._next_index += len(records)
        if self._couriers is None:
            self._deliver(chunk)
            self._raise_failure()
        else:
            self._couriers.submit(self._deliver, chunk)

    def finish(self) -> PushReport:
        """Wait for every chunk on its way; the report, or the failure of the first that failed."""
        self._settle()
        ledger = self._ledger
        if ledger.stored_chunks == 0:
            log.info("no data to push to Backdrop %s; nothing sent", self.data_set.name)
        else:
            log.info(
                "%s %d records in %d chunks to Backdrop %s",
                "printed (dry run)" if self.data_set.dry_run else "pushed",
                ledger.stored_records,
                ledger.stored_chunks,
                self.data_set.name,
            )
        return PushReport(
            records_sent=ledger.stored_records,
            chunks_sent=ledger.stored_chunks,
            emptied=ledger.emptied,
            dry_run=self.data_set.dry_run,
        )

    def empty_now(self) -> None:
        """Empty the data set with nothing to push after it (a trending run that found no pages)."""
        self._empty()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        stopped = isinstance(error, RunInterrupted | KeyboardInterrupt)
        try:
            if error is None or isinstance(error, PushError):
                return
            if not stopped:
                # Let the chunks on their way end, so that what landed is known exactly; one that
                # failed is the push's failure, as a sequential push would have met it first.
                failure = self._settle(raise_failure=False)
                if failure is not None:
                    raise failure from error
            self._report_on(error)
        finally:
            if self._couriers is not None:
                self._couriers.stop()
                if not stopped:
                    self._couriers.join(timeout=FINISH_IN_FLIGHT_SECONDS)

    # Internals -----------------------------------------------------------------------------------

    def _deliver(self, chunk: _Chunk) -> None:
        """Send one chunk (on a courier's thread; a dry run prints it on the pushing thread)."""
        started = time.monotonic()
        try:
            status = self.data_set.send(chunk.request)
        except UpstreamError as error:
            failure: BaseException = error
        except RunInterrupted:
            raise  # only in a dry run, on the pushing thread: the sink's exit says what it stopped
        except BaseException as error:  # a bug must end the push, not leave it waiting for ever
            failure = error
        else:
            self._landed(chunk, status, time.monotonic() - started)
            return
        with self._ledger.changed:
            self._ledger.on_the_way.remove(chunk)
            self._ledger.failed.append(
                _Failed(chunk, str(failure), failure, maybe_stored=isinstance(failure, RetryableError))
            )
            self._ledger.changed.notify_all()

    def _landed(self, chunk: _Chunk, status: int | None, seconds: float) -> None:
        with self._ledger.changed:
            self._ledger.landed(chunk)
            self._ledger.changed.notify_all()
        progress.note(progress.CHUNK, number=chunk.number, records=chunk.record_count, last=chunk.last_timestamp)
        size = len(chunk.request.body)
        if status is None:
            log.debug(
                "dry run: chunk %d for Backdrop %s printed, not sent: %d records, %d bytes of JSON",
                chunk.number, self.data_set.name, chunk.record_count, size,
            )
        else:
            log.debug(
                "pushed chunk %d to Backdrop %s: %d records, %d bytes of JSON%s, status %d, %.3f s",
                chunk.number,
                self.data_set.name,
                chunk.record_count,
                size,
                " (gzipped)" if chunk.request.gzipped else "",
                status,
                seconds,
            )

    def _wait_for_room(self, chunk: _Chunk) -> None:
        """Wait until fewer than `concurrency` chunks are on their way, none of them holding an `_id`
        that `chunk` holds; raise a failure that came meanwhile."""
        ledger = self._ledger
        limit, ids = self.concurrency, chunk.ids

        def room() -> bool:
            if ledger.failed:
                return True
            if len(ledger.on_the_way) >= limit:
                return False
            return not ids or all(ids.isdisjoint(earlier.ids) for earlier in ledger.on_the_way)

        with ledger.changed:
            sharing = [earlier.number for earlier in ledger.on_the_way if ids and not ids.isdisjoint(earlier.ids)]
        if sharing:
            log.debug(
                "chunk %d waits for %s to land: they hold the same _id, and the last one sent must win",
                chunk.number,
                _chunks(sharing),
            )
        with ledger.changed:
            # Waiting here is interruptible: SIGTERM's handler raises in this (the main) thread.
            ledger.changed.wait_for(room)
        self._raise_failure()

    def _settle(self, *, raise_failure: bool = True) -> PushError | None:
        """Wait for every chunk on its way; raise (or return) the push's failure, if any."""
        ledger = self._ledger
        with ledger.changed:
            ledger.changed.wait_for(lambda: not ledger.on_the_way)
            failed = ledger.failure()
        if failed is None:
            return None
        chunk = failed.chunk
        failure = self._failure(
            chunk.number,
            chunk.first_index,
            chunk.record_count,
            failed.reason,
            failed.cause if isinstance(failed.cause, CollectorError) else None,
            maybe_stored=failed.maybe_stored,
        )
        failure.__cause__ = failed.cause
        if raise_failure:
            raise failure
        return failure

    def _raise_failure(self) -> None:
        if self._ledger.failed:
            # The chunks still on their way end first, so that the failure says what became of them.
            self._settle()

    def _empty(self) -> None:
        try:
            self.data_set.empty()
        except UpstreamError as error:
            raise PushError(
                f"emptying Backdrop data set {self.data_set.name} (PUT []) failed: {redact(str(error))}. "
                "No records were pushed.",
                chunks_sent=0,
                records_sent=0,
                failed_chunk=None,
                cause=error,
            ) from error
        with self._ledger.changed:
            self._ledger.emptied = True

    def _report_on(self, error: BaseException) -> None:
        """Say what had landed when `error` (the source's, a bad record's, a stop's) ended the push."""
        ledger = self._ledger
        with ledger.changed:
            stored_chunks, stored_records = ledger.stored_chunks, ledger.stored_records
            emptied = ledger.emptied
            on_the_way = sorted(chunk.number for chunk in ledger.on_the_way)
            out_of_order = ledger.stored_out_of_order
            resume_from, last_sent = ledger.complete_records, ledger.last_dispatched
        name = self.data_set.name
        if on_the_way and isinstance(error, RunInterrupted):
            if len(on_the_way) == 1 and not out_of_order:
                number = on_the_way[0]
                raise RunInterrupted(
                    f"{error} while pushing chunk {number} to Backdrop {name}: {stored_chunks} earlier chunks "
                    f"({stored_records} records) had been {self._landed_word}; chunk {number} may or may not "
                    "have been; nothing after it was sent",
                    signal_number=error.signal_number,
                ) from None
            raise RunInterrupted(
                f"{error} while pushing {_chunks(on_the_way)} to Backdrop {name}: "
                f"{self._stored_text(stored_chunks, stored_records, out_of_order)}; "
                f"{_chunks(on_the_way)} may or may not have been; nothing after chunk {last_sent} was sent; "
                f"a re-run from record {resume_from} completes the data set",
                signal_number=error.signal_number,
            ) from None
        if not (emptied or stored_chunks):
            return
        log.warning(
            "the records being pushed to Backdrop %s stopped with an error after %d chunks (%d records) had been %s%s",
            name,
            stored_chunks,
            stored_records,
            self._landed_word,
            " in the emptied data set" if emptied else "",
        )
        if isinstance(error, CollectorError):
            error.add_note(
                f"{stored_chunks} chunk{'s' if stored_chunks != 1 else ''} ({stored_records} records) had been "
                f"{self._landed_word} {'for' if self.data_set.dry_run else 'in'} Backdrop {name}"
                f"{' (emptied first)' if emptied else ''}; "
                "nothing after them was sent"
            )

    def _stored_text(self, stored_chunks: int, stored_records: int, out_of_order: list[int]) -> str:
        """"chunks 1-4 and 6 (500 records) had been stored", for chunks that landed out of order."""
        if not stored_chunks:
            return f"no chunk had been {self._landed_word}"
        complete = self._ledger.complete_chunks
        numbers = [*range(1, complete + 1), *out_of_order]
        return f"{_chunks(numbers)} ({stored_records} records) had been {self._landed_word}"

    def _failure(
        self,
        number: int,
        first_index: int,
        record_count: int,
        reason: str,
        cause: CollectorError | None,
        *,
        maybe_stored: bool = False,
    ) -> PushError:
        ledger = self._ledger
        with ledger.changed:
            stored_chunks, stored_records = ledger.stored_chunks, ledger.stored_records
            out_of_order = ledger.stored_out_of_order
            later = sorted(
                failed.chunk.number for failed in ledger.failed if failed.chunk.number > number and failed.maybe_stored
            )
            last_sent = ledger.last_dispatched
            resume_from = min(ledger.complete_records, first_index)
        last_index = first_index + record_count - 1
        records = f"record {first_index}" if record_count == 1 else f"records {first_index}-{last_index}"
        message = f"push to Backdrop {self.data_set.name} failed at chunk {number} ({records}): {redact(reason)}. "
        if last_sent > number:
            # Chunks after the failed one were on their way when it failed: say what became of each.
            message += _sentence(self._stored_text(stored_chunks, stored_records, out_of_order))
            message += " in the emptied data set. " if ledger.emptied and stored_chunks else ". "
            unknown = [number] if maybe_stored else []
            if unknown or later:
                message += _sentence(
                    f"{_chunks(unknown + later)} may or may not have been stored (Backdrop can fail after storing). "
                )
            message += (
                f"Nothing after chunk {last_sent} was sent. "
                f"A re-run from record {resume_from} completes the data set."
            )
        else:
            if stored_chunks:
                message += (
                    f"{stored_chunks} earlier chunk{'s' if stored_chunks != 1 else ''} "
                    f"({stored_records} records) had been {self._landed_word}"
                )
                message += " in the emptied data set. " if ledger.emptied else ". "
            elif maybe_stored:
                message += "No earlier chunk had been stored"
                message += " (the data set had been emptied). " if ledger.emptied else ". "
            elif ledger.emptied:
                message += "The data set had been emptied and no records were stored. "
            else:
                message += "No records were stored. "
            if maybe_stored:
                message += f"Chunk {number} may or may not have been stored (Backdrop can fail after storing). "
            message += "Nothing after it was sent."
        return PushError(
            message,
            chunks_sent=stored_chunks,
            records_sent=stored_records,
            failed_chunk=number,
            cause=cause,
            resume_from=resume_from,
        )


def _ids_of(records: list[Record]) -> frozenset[str]:
    """The `_id`s the records carry (a record without one gets a fresh id from Backdrop)."""
    return frozenset(record["_id"] for record in records if "_id" in record)


def _chunks(numbers: Sequence[int]) -> str:
    """"chunk 3", "chunks 1-4 and 6", "chunks 5, 7 and 9": chunk numbers in order, runs joined."""
    runs: list[list[int]] = []
    for number in sorted(numbers):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    parts = [str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs]
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"chunk {listed}" if len(numbers) == 1 else f"chunks {listed}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _require_records_iterable(records: object) -> None:
    # A str is iterable and a dict iterates over its keys: both would be chunked into nonsense, as
    # the original client did with a str on Python 3.
    if isinstance(records, str | bytes | bytearray | Mapping) or not isinstance(records, Iterable):
        raise TypeError(
            f"records must be an iterable of dicts (a list or a generator), not {type(records).__name__}"
        )
