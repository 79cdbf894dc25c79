"""Several chunks on their way to Backdrop at once land exactly what one chunk at a time lands.

Over real HTTP to the Backdrop stand-in. Which chunk lands first is up to the stand-in and the
scheduler, so each test either holds chunks at the stand-in (`hold_next`) to fix the order it
needs, or checks what is left in Backdrop, which must not depend on the order.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from performanceplatform.collector.backdrop import BackdropSink, DataSet, Pusher
from performanceplatform.collector.errors import CollectorError, ConfigurationError, PushError, RunInterrupted
from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.server import RecordedRequest
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN

TS = "2013-04-01T00:00:00+00:00"
DATA_PATH = f"/data/{DATA_GROUP}/{DATA_TYPE}"


def make_records(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"_timestamp": TS, "_id": f"id-{i}", "count": i} for i in range(start, start + count)]


def holding(record_id: str):
    """A stand-in predicate: the request whose body holds the record with this `_id`."""
    marker = f'"_id":"{record_id}"'.encode()
    return lambda request: marker in request.body


def stored(backdrop: BackdropStandIn) -> dict[str, dict[str, Any]]:
    """What Backdrop holds, by `_id`, without the time it was stored."""
    return {
        record["_id"]: {key: value for key, value in record.items() if key != "_updated_at"}
        for record in backdrop.records(DATA_GROUP, DATA_TYPE)
    }


def posts(backdrop: BackdropStandIn) -> list[list[dict[str, Any]]]:
    return [request.json() for request in backdrop.requests_to(DATA_PATH, "POST")]


def fresh(backdrop: BackdropStandIn) -> None:
    backdrop.reset()
    backdrop.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN)


def sequential_result(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What a one-at-a-time push leaves: the last record with each `_id`."""
    return {record["_id"]: record for record in records}


# Chunks overlap --------------------------------------------------------------------------------------


def test_up_to_n_chunks_are_on_their_way_at_once(backdrop_data_set_config, backdrop) -> None:
    held = backdrop.hold_next(when=holding("id-0"))

    def generate() -> Iterator[dict[str, Any]]:
        yield from make_records(6)
        # Asked for chunk 4's records: chunk 1 is held unanswered, chunks 2 and 3 went out beside it.
        assert backdrop.wait_for(lambda: backdrop.in_flight == 1 and len(posts(backdrop)) == 3)
        assert "id-0" not in stored(backdrop) and {"id-2", "id-4"} <= set(stored(backdrop))
        held.release()
        yield from make_records(2, start=6)

    report = Pusher(backdrop_data_set_config, {"chunk-size": 2}, push_concurrency=3).push(generate())

    assert report.chunks_sent == 4 and report.records_sent == 8
    assert stored(backdrop) == sequential_result(make_records(8))
    assert backdrop.max_in_flight <= 3


class OnLogLine(logging.Handler):
    """Runs `action` (on the logging thread) when a line starting with `prefix` is logged."""

    def __init__(self, prefix: str, action: Callable[[], None]):
        super().__init__(logging.DEBUG)
        self.prefix, self.action = prefix, action

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.prefix):
            self.action()


@contextmanager
def on_sink_log(prefix: str, action: Callable[[], None]) -> Iterator[None]:
    handler = OnLogLine(prefix, action)
    logger = logging.getLogger("performanceplatform.collector.backdrop.sink")
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def test_a_chunk_repeating_an_id_on_its_way_waits_until_that_chunk_has_landed(
    backdrop_data_set_config, backdrop
) -> None:
    # Chunk 1 and chunk 3 both hold "shared"; chunk 2 holds other ids.
    first = [{"_timestamp": TS, "_id": "shared", "count": 1}, {"_timestamp": TS, "_id": "a", "count": 1}]
    second = [{"_timestamp": TS, "_id": "b", "count": 2}, {"_timestamp": TS, "_id": "c", "count": 2}]
    third = [{"_timestamp": TS, "_id": "shared", "count": 3}, {"_timestamp": TS, "_id": "d", "count": 3}]
    held = backdrop.hold_next(when=holding("a"))
    stored_when_chunk_3_arrived: list[set[str]] = []

    def observe(request: RecordedRequest) -> bool:
        if holding("d")(request):
            stored_when_chunk_3_arrived.append(set(stored(backdrop)))
        return False  # a fault that never applies: it only looks

    backdrop.delay_next(0, when=observe)

    # Chunk 1 is released only once the sink has said that chunk 3 waits for it.
    with on_sink_log("chunk 3 waits for chunk 1 to land", held.release):
        report = Pusher(backdrop_data_set_config, {"chunk-size": 2}, push_concurrency=4).push(first + second + third)

    assert report.chunks_sent == 3
    # Chunk 3 reached Backdrop after chunk 1 had been stored, so the last "shared" won, as one at a time.
    (seen,) = stored_when_chunk_3_arrived
    assert {"shared", "a"} <= seen
    assert stored(backdrop)["shared"]["count"] == 3
    assert stored(backdrop) == sequential_result(first + second + third)


def test_empty_data_set_empties_before_any_chunk_is_sent(backdrop_data_set_config, backdrop) -> None:
    backdrop.store(DATA_GROUP, DATA_TYPE, make_records(3, start=100))

    Pusher(backdrop_data_set_config, {"empty-data-set": True, "chunk-size": 2}, push_concurrency=4).push(
        make_records(9)
    )

    methods = [request.method for request in backdrop.requests]
    assert methods == ["PUT"] + ["POST"] * 5
    assert stored(backdrop) == sequential_result(make_records(9))


def test_a_dry_run_prints_every_chunk_in_order(backdrop_data_set_config, backdrop) -> None:
    out = io.StringIO()
    config = {**backdrop_data_set_config, "dry_run": True}

    report = Pusher(config, {"chunk-size": 2}, stdout=out, push_concurrency=4).push(make_records(7))

    bodies = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("[")]
    assert [[record["count"] for record in body] for body in bodies] == [[0, 1], [2, 3], [4, 5], [6]]
    assert report.chunks_sent == 4 and report.dry_run
    assert backdrop.requests == []


@pytest.mark.parametrize("bad", [0, -1, True, "2", 1.5])
def test_the_push_concurrency_is_a_whole_number_of_at_least_one(backdrop_data_set_config, bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="push-concurrency"):
        BackdropSink(DataSet.from_config(backdrop_data_set_config), concurrency=bad)


# Failures and stops ---------------------------------------------------------------------------------


def test_a_refused_chunk_reports_the_later_chunks_that_landed_and_where_a_rerun_starts(
    backdrop_data_set_config, backdrop
) -> None:
    # Chunk 3 (records 4-5) is held until chunks 4 and 5 have landed, then refused.
    held = backdrop.hold_next(when=holding("id-4"), then_status=400, body={"messages": ["chunk 3 refused"]})
    landed_later = threading.Event()

    def generate() -> Iterator[dict[str, Any]]:
        yield from make_records(10)
        assert backdrop.wait_for(lambda: {"id-6", "id-8"} <= set(stored(backdrop)))
        landed_later.set()
        held.release()

    with pytest.raises(PushError) as raised:
        Pusher(backdrop_data_set_config, {"chunk-size": 2}, push_concurrency=3).push(generate())

    error = raised.value
    assert landed_later.is_set()
    assert (error.failed_chunk, error.chunks_sent, error.records_sent, error.resume_from) == (3, 4, 8, 4)
    assert str(error) == (
        f"push to Backdrop {DATA_GROUP}/{DATA_TYPE} failed at chunk 3 (records 4-5): Backdrop answered 400: "
        "chunk 3 refused. Chunks 1-2 and 4-5 (8 records) had been stored. Nothing after chunk 5 was sent. "
        "A re-run from record 4 completes the data set."
    )
    assert set(stored(backdrop)) == {f"id-{i}" for i in (0, 1, 2, 3, 6, 7, 8, 9)}
    # The re-run from that record completes the data set.
    Pusher(backdrop_data_set_config, {"chunk-size": 2}, push_concurrency=3).push(make_records(10)[error.resume_from:])
    assert stored(backdrop) == sequential_result(make_records(10))


def test_a_chunk_that_may_have_been_stored_is_named_with_the_later_ones(backdrop_data_set_config, backdrop) -> None:
    # Every attempt at chunk 2 gets a 503 (Backdrop may have stored it); its first is held until
    # chunk 3 has landed.
    first_attempt = backdrop.hold_next(when=holding("id-2"), then_status=503)
    backdrop.fail_next(503, times=4, when=holding("id-2"))

    def generate() -> Iterator[dict[str, Any]]:
        yield from make_records(6)
        assert backdrop.wait_for(lambda: "id-4" in stored(backdrop))
        first_attempt.release()

    with pytest.raises(PushError) as raised:
        Pusher(backdrop_data_set_config, {"chunk-size": 2}, push_concurrency=3).push(generate())

    error = raised.value
    assert (error.failed_chunk, error.chunks_sent, error.resume_from) == (2, 2, 2)
    assert "Chunks 1 and 3 (4 records) had been stored." in str(error)
    assert "Chunk 2 may or may not have been stored (Backdrop can fail after storing)." in str(error)
    assert str(error).endswith("Nothing after chunk 3 was sent. A re-run from record 2 completes the data set.")
    assert len(backdrop.requests_to(DATA_PATH, "POST")) == 7


def test_a_stop_with_chunks_on_their_way_names_them_all_without_waiting(backdrop_data_set_config, backdrop) -> None:
    held = backdrop.hold_next(times=2, when=lambda request: b'"_id":"id-2"' in request.body
                              or b'"_id":"id-4"' in request.body)

    chunk_1_landed = threading.Event()

    def generate() -> Iterator[dict[str, Any]]:
        yield from make_records(6)
        # The stop comes once chunk 1 has landed and chunks 2 and 3 are both held at Backdrop.
        assert chunk_1_landed.wait(30)
        assert backdrop.wait_for(lambda: backdrop.in_flight == 2)
        raise RunInterrupted("stopped by SIGTERM", signal_number=15)

    try:
        with pytest.raises(RunInterrupted) as raised, on_sink_log("pushed chunk 1 ", chunk_1_landed.set):
            Pusher(backdrop_data_set_config, {"chunk-size": 2}, push_concurrency=3).push(generate())
        assert backdrop.in_flight == 2  # the push ended without waiting for them
    finally:
        held.release()
    assert str(raised.value) == (
        f"stopped by SIGTERM while pushing chunks 2-3 to Backdrop {DATA_GROUP}/{DATA_TYPE}: chunk 1 (2 records) "
        "had been stored; chunks 2-3 may or may not have been; nothing after chunk 3 was sent; a re-run from "
        "record 2 completes the data set"
    )
    assert raised.value.exit_code == 143
    # The abandoned chunks still arrive: let them, before the next test resets the stand-in.
    assert backdrop.wait_for(lambda: not backdrop.in_flight and len(stored(backdrop)) == 6)


def test_a_source_failure_waits_for_every_chunk_on_its_way_and_counts_them(backdrop_data_set_config, backdrop) -> None:
    backdrop.delay_next(0.1, times=2, path=DATA_PATH)

    def generate() -> Iterator[dict[str, Any]]:
        yield from make_records(5)
        raise CollectorError("the source broke")

    with pytest.raises(CollectorError, match="the source broke") as raised:
        Pusher(backdrop_data_set_config, {"chunk-size": 2}, push_concurrency=3).push(generate())
    assert "2 chunks (4 records) had been stored" in "".join(raised.value.__notes__)
    assert set(stored(backdrop)) == {f"id-{i}" for i in range(4)}


# Overlapping lands what one at a time lands ---------------------------------------------------------


def numbered(ids: list[str]) -> list[dict[str, Any]]:
    """Records with these `_id`s (repeats included), each with its position, so that the one that won is seen."""
    return [{"_timestamp": TS, "_id": record_id, "seq": seq} for seq, record_id in enumerate(ids)]


def of_record(seq: int):
    marker = f'"seq":{seq}}}'.encode()
    return lambda request: marker in request.body


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ids=st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), min_size=1, max_size=24),
    chunk_size=st.integers(1, 4),
    concurrency=st.integers(2, 5),
    slow=st.sets(st.integers(0, 23), max_size=4),
    flaky=st.sets(st.integers(0, 23), max_size=3),
)
def test_overlapping_pushes_land_what_one_at_a_time_lands(
    backdrop_data_set_config, backdrop, ids, chunk_size, concurrency, slow, flaky
) -> None:
    records = numbered(ids)
    results = []
    for push_concurrency in (1, concurrency):
        fresh(backdrop)
        # Some chunks answer late (so later ones overtake them), some fail once and are retried.
        for seq in slow:
            backdrop.delay_next(0.02, when=of_record(seq))
        for seq in flaky:
            backdrop.fail_next(503, when=of_record(seq))
        report = Pusher(backdrop_data_set_config, {"chunk-size": chunk_size}, push_concurrency=push_concurrency).push(
            iter(records)
        )
        assert report.records_sent == len(records)
        results.append(stored(backdrop))
    one_at_a_time, overlapping = results
    assert overlapping == one_at_a_time == sequential_result(records)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ids=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=2, max_size=20),
    chunk_size=st.integers(1, 3),
    concurrency=st.integers(2, 4),
    refused=st.integers(0, 19),
)
def test_after_a_refused_chunk_a_rerun_from_the_named_record_completes_the_data_set(
    backdrop_data_set_config, backdrop, ids, chunk_size, concurrency, refused
) -> None:
    records = numbered(ids)
    refused %= len(records)
    fresh(backdrop)
    backdrop.fail_next(400, body={"messages": ["refused for the test"]}, when=of_record(refused))
    pusher = Pusher(backdrop_data_set_config, {"chunk-size": chunk_size}, push_concurrency=concurrency)
    with pytest.raises(PushError) as raised:
        pusher.push(iter(records))
    error = raised.value
    assert error.failed_chunk == refused // chunk_size + 1
    # Every record before `resume_from` is in Backdrop, and the refused chunk's are not.
    assert error.resume_from == (refused // chunk_size) * chunk_size
    landed = stored(backdrop)
    for record in records[: error.resume_from]:
        assert record["_id"] in landed
    answered = backdrop.requests_to(DATA_PATH, "POST")
    assert error.records_sent == sum(len(request.json()) for request in answered if request.status == 200)

    pusher.push(iter(records[error.resume_from:]))
    assert stored(backdrop) == sequential_result(records)
