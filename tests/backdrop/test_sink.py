"""The Backdrop client and Pusher, over real HTTP to the Backdrop stand-in."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from performanceplatform.collector.backdrop import BackdropSink, DataSet, Pusher, PushReport, push_records
from performanceplatform.collector.errors import (
    CollectorError,
    ConfigurationError,
    FatalUpstreamError,
    InvalidRecordError,
    PushError,
    RetryableError,
    RunInterrupted,
)
from performanceplatform.collector.http import USER_AGENT
from performanceplatform.collector.standins.backdrop import BackdropStandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN

TS = "2013-04-01T00:00:00+00:00"
DATA_PATH = f"/data/{DATA_GROUP}/{DATA_TYPE}"


def make_records(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"_timestamp": TS, "_id": f"id-{i}", "count": i} for i in range(start, start + count)]


def posts(backdrop: BackdropStandIn) -> list[Any]:
    return [request.json() for request in backdrop.requests_to(DATA_PATH, "POST")]


def stored_ids(backdrop: BackdropStandIn) -> list[str]:
    return [record["_id"] for record in backdrop.records(DATA_GROUP, DATA_TYPE)]


def post(data_set: DataSet, records: Any, chunk_size: int = 100) -> PushReport:
    return push_records(BackdropSink(data_set, chunk_size=chunk_size), records)


class LoggedEvent(logging.Handler):
    """Set when a log line starting with `prefix` is written: what the sink says as a chunk lands."""

    def __init__(self, prefix: str):
        super().__init__(logging.DEBUG)
        self.prefix = prefix
        self.happened = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.prefix):
            self.happened.set()


@pytest.fixture
def chunk_2_landed() -> Iterator[threading.Event]:
    handler = LoggedEvent("pushed chunk 2 ")
    logger = logging.getLogger("performanceplatform.collector.backdrop.sink")
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler.happened
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


# Chunking ------------------------------------------------------------------------------------------


def test_chunk_size_2_of_3_records_sends_two_posts(backdrop_data_set_config, backdrop) -> None:
    records = make_records(3)
    report = Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(records)
    assert posts(backdrop) == [records[:2], records[2:]]
    assert report == PushReport(records_sent=3, chunks_sent=2, emptied=False, dry_run=False)
    assert stored_ids(backdrop) == ["id-0", "id-1", "id-2"]


def test_the_default_chunk_size_is_100(backdrop_data_set_config, backdrop) -> None:
    report = Pusher(backdrop_data_set_config).push(make_records(250))
    assert [len(body) for body in posts(backdrop)] == [100, 100, 50]
    assert report.records_sent == 250 and report.chunks_sent == 3
    assert len(backdrop.records(DATA_GROUP, DATA_TYPE)) == 250


def test_the_chunk_size_option_is_honoured(backdrop_data_set_config, backdrop) -> None:
    Pusher(backdrop_data_set_config, {"chunk-size": 98}).push(make_records(200))
    assert [len(body) for body in posts(backdrop)] == [98, 98, 4]


@pytest.mark.parametrize("bad", [0, -1, "100", 2.5, True, None])
def test_a_chunk_size_that_is_not_a_positive_int_is_a_configuration_error(
    backdrop_data_set_config, backdrop, bad: Any
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Pusher(backdrop_data_set_config, {"chunk-size": bad})
    assert raised.value.key == "options.chunk-size"
    assert "chunk-size" in str(raised.value)
    with pytest.raises(ConfigurationError) as raised:
        BackdropSink(DataSet.from_config(backdrop_data_set_config), chunk_size=bad)
    assert raised.value.key == "chunk-size"
    assert backdrop.requests == []


def test_a_generator_is_consumed_lazily_at_most_one_chunk_ahead(backdrop_data_set_config, backdrop) -> None:
    seen_posts_when_yielding: list[int] = []

    def generate() -> Iterator[dict[str, Any]]:
        for record in make_records(7):
            seen_posts_when_yielding.append(len(backdrop.requests))
            yield record

    report = Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(generate())
    # The records of chunk c (from 0) are gathered while chunk c - 1 may be on its way, once every
    # chunk before that has been stored, and before chunk c itself is sent.
    for index, seen in enumerate(seen_posts_when_yielding):
        chunk = index // 2
        assert max(0, chunk - 1) <= seen <= chunk, (index, seen_posts_when_yielding)
    assert report.records_sent == 7 and report.chunks_sent == 4
    assert stored_ids(backdrop) == [f"id-{i}" for i in range(7)]


def test_the_next_chunk_is_gathered_while_the_one_before_is_on_its_way(
    backdrop_data_set_config, backdrop
) -> None:
    held = backdrop.hold_next(when=lambda request: b"id-0" in request.body)
    in_flight_when_gathering: list[int] = []

    def generate() -> Iterator[dict[str, Any]]:
        for index, record in enumerate(make_records(4)):
            if index == 2:
                # A sequential push would only ask for this record after chunk 1's answer: here
                # chunk 1 is held at Backdrop, unanswered, while the record is asked for.
                assert held.reached.wait(30)
                in_flight_when_gathering.append(backdrop.in_flight)
                held.release()
            yield record

    report = Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(generate())
    assert in_flight_when_gathering == [1]
    assert report.chunks_sent == 2
    assert stored_ids(backdrop) == [f"id-{i}" for i in range(4)]


def test_each_chunk_that_lands_is_logged_once_in_order(backdrop_data_set_config, backdrop, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(iter(make_records(5)))
    pushed = [message for message in caplog.messages if message.startswith("pushed chunk")]
    assert [message.split()[2] for message in pushed] == ["1", "2", "3"]
    assert all("status 200" in message for message in pushed)
    assert not [message for message in caplog.messages if message.startswith("POST ")]


def test_a_stop_while_gathering_after_a_chunk_landed_counts_it(
    backdrop_data_set_config, backdrop, chunk_2_landed: threading.Event
) -> None:
    def generate() -> Iterator[dict[str, Any]]:
        yield from make_records(4)
        # The stop comes once chunk 2 has landed, before chunk 3 is dispatched.
        assert chunk_2_landed.wait(30)
        raise RunInterrupted("stopped by SIGTERM", signal_number=15)

    with pytest.raises(RunInterrupted) as raised:
        Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(generate())
    assert str(raised.value) == "stopped by SIGTERM"
    assert "2 chunks (4 records) had been stored" in "".join(raised.value.__notes__)


def test_a_stop_while_a_chunk_is_on_its_way_names_it_without_waiting(backdrop_data_set_config, backdrop) -> None:
    held = backdrop.hold_next(when=lambda request: b"id-2" in request.body)

    def generate() -> Iterator[dict[str, Any]]:
        yield from make_records(4)
        assert held.reached.wait(30)  # chunk 2 has reached Backdrop, which holds it unanswered
        raise RunInterrupted("stopped by SIGTERM", signal_number=15)

    try:
        with pytest.raises(RunInterrupted) as raised:
            Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(generate())
        # The push ended while chunk 2 was still held: it did not wait for it.
        assert backdrop.in_flight == 1
    finally:
        held.release()
    assert str(raised.value) == (
        f"stopped by SIGTERM while pushing chunk 2 to Backdrop {DATA_GROUP}/{DATA_TYPE}: 1 earlier chunks "
        "(2 records) had been stored; chunk 2 may or may not have been; nothing after it was sent"
    )
    # The abandoned chunk still arrives: let it, before the next test resets the stand-in.
    assert backdrop.wait_for(lambda: not backdrop.in_flight and len(stored_ids(backdrop)) == 4)
    assert stored_ids(backdrop) == [f"id-{i}" for i in range(4)]


def test_a_failing_chunk_in_flight_wins_over_a_failure_gathering_the_next(
    backdrop_data_set_config, backdrop
) -> None:
    # Chunk 2 fails while chunk 3 is being gathered: once with a bad record, once with the source's
    # own error. Either way the push fails as a sequential one would have: at chunk 2.
    for failure in ("invalid record", "source error"):
        backdrop.reset()
        backdrop.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN)
        backdrop.fail_next(400, body={"message": "chunk 2 refused"}, when=lambda request: b"id-2" in request.body)

        def generate(failure: str = failure) -> Iterator[dict[str, Any]]:
            yield from make_records(4)
            if failure == "invalid record":
                yield {"no timestamp": 1}
            else:
                raise CollectorError("the source broke")

        with pytest.raises(PushError) as raised:
            Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(generate())
        assert (raised.value.chunks_sent, raised.value.records_sent, raised.value.failed_chunk) == (1, 2, 2)
        assert "chunk 2 refused" in str(raised.value)
        assert stored_ids(backdrop) == ["id-0", "id-1"]


def test_a_failure_gathering_a_chunk_waits_for_the_one_in_flight_and_counts_it(
    backdrop_data_set_config, backdrop
) -> None:
    backdrop.delay_next(0.2, when=lambda request: b"id-2" in request.body)

    def generate() -> Iterator[dict[str, Any]]:
        yield from make_records(4)
        raise CollectorError("the source broke")

    with pytest.raises(CollectorError, match="the source broke") as raised:
        Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(generate())
    assert "2 chunks (4 records) had been stored" in "".join(raised.value.__notes__)
    assert stored_ids(backdrop) == [f"id-{i}" for i in range(4)]


@pytest.mark.parametrize("bad", ["not records", b"bytes", {"_timestamp": TS}, 42, None])
def test_records_must_be_an_iterable_of_dicts(backdrop_data_set_config, backdrop, bad: Any) -> None:
    with pytest.raises(TypeError, match="iterable of dicts"):
        Pusher(backdrop_data_set_config).push(bad)
    assert backdrop.requests == []


# Headers, encoding, compression ---------------------------------------------------------------------


def test_every_request_has_backdrops_headers(backdrop_data_set_config, backdrop) -> None:
    Pusher(backdrop_data_set_config, {"chunk-size": 1, "empty-data-set": True}).push(make_records(2))
    assert [request.method for request in backdrop.requests] == ["PUT", "POST", "POST"]
    request_ids = set()
    for request in backdrop.requests:
        assert request.header("Authorization") == f"Bearer {TOKEN}"
        assert request.header("Content-Type") == "application/json"
        assert request.header("Accept") == "application/json"
        assert request.header("User-Agent") == USER_AGENT
        request_ids.add(request.header("Govuk-Request-Id"))
    # One id per run, shared by its requests.
    assert len(request_ids) == 1 and next(iter(request_ids)).startswith("pp-collector-")


def test_datetimes_dates_and_decimals_are_encoded(backdrop_data_set_config, backdrop) -> None:
    record = {
        "_timestamp": dt.datetime(2013, 4, 1),
        "_start_at": dt.datetime(2013, 4, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
        "_end_at": dt.date(2013, 4, 8),
        "_id": "enc",
        "amount": Decimal("12.50"),
        "big": Decimal("12345678901234567890.123456789"),
        "when": dt.datetime(2013, 4, 1, 12, 30, 15, 250000, tzinfo=dt.UTC),
        "day": dt.date(2013, 4, 2),
    }
    Pusher(backdrop_data_set_config).push([record])
    (request,) = backdrop.requests
    text = request.body.decode()
    assert '"_timestamp":"2013-04-01T00:00:00+00:00"' in text
    assert '"_start_at":"2013-04-01T10:00:00+05:30"' in text
    assert '"_end_at":"2013-04-08"' in text
    assert '"when":"2013-04-01T12:30:15.250000+00:00"' in text
    assert '"day":"2013-04-02"' in text
    # Decimals go out as JSON numbers, digit for digit.
    (sent,) = json.loads(text, parse_float=Decimal)
    assert sent["amount"] == Decimal("12.50") and '"amount":12.50' in text
    assert sent["big"] == Decimal("12345678901234567890.123456789")
    stored = backdrop.record(DATA_GROUP, DATA_TYPE, "enc")
    assert stored is not None
    assert stored["_timestamp"] == "2013-04-01T00:00:00+00:00"
    assert stored["_start_at"] == "2013-04-01T04:30:00+00:00"
    assert stored["_end_at"] == "2013-04-08T00:00:00+00:00"
    assert stored["amount"] == 12.5


def test_bodies_over_2_kib_are_gzipped_and_small_ones_are_not(backdrop_data_set_config, backdrop) -> None:
    small = [{"_timestamp": TS, "_id": "small"}]
    large = [{"_timestamp": TS, "_id": f"large-{i}", "text": "x" * 100} for i in range(30)]
    data_set = DataSet.from_config(backdrop_data_set_config)
    post(data_set, small)
    post(data_set, large)
    small_request, large_request = backdrop.requests
    assert small_request.header("Content-Encoding") is None
    assert small_request.raw_body == small_request.body
    assert large_request.header("Content-Encoding") == "gzip"
    assert large_request.raw_body[:2] == b"\x1f\x8b"
    assert len(large_request.body) > 2048 and len(large_request.raw_body) < len(large_request.body)
    assert json.loads(gzip.decompress(large_request.raw_body)) == large
    assert len(backdrop.records(DATA_GROUP, DATA_TYPE)) == 31


# Retries and failures -------------------------------------------------------------------------------


def test_a_503_then_success_resends_the_full_gzipped_body(backdrop_data_set_config, backdrop) -> None:
    records = [{"_timestamp": TS, "_id": f"r-{i}", "text": "y" * 100} for i in range(40)]
    backdrop.fail_next(503)
    report = Pusher(backdrop_data_set_config).push(records)
    first, second = backdrop.requests
    assert first.status == 503 and second.status == 200
    assert first.header("Content-Encoding") == second.header("Content-Encoding") == "gzip"
    assert len(first.raw_body) > 0
    assert second.raw_body == first.raw_body
    assert json.loads(second.body) == records
    assert report.records_sent == 40
    assert len(backdrop.records(DATA_GROUP, DATA_TYPE)) == 40


def test_a_dropped_connection_is_retried(backdrop_data_set_config, backdrop) -> None:
    backdrop.drop_next()
    Pusher(backdrop_data_set_config).push(make_records(3))
    assert len(backdrop.requests) == 2
    assert backdrop.requests[0].body == backdrop.requests[1].body
    assert stored_ids(backdrop) == ["id-0", "id-1", "id-2"]


def test_503s_exhausting_the_retries_fail_the_push_saying_what_landed(
    backdrop_data_set_config, backdrop
) -> None:
    # Every attempt at chunk 2 (the one holding id-2) fails.
    backdrop.fail_next(503, times=5, when=lambda request: b"id-2" in request.body)

    def generate() -> Iterator[dict[str, Any]]:
        yield from make_records(6)

    with pytest.raises(PushError) as raised:
        Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(generate())
    error = raised.value
    assert (error.chunks_sent, error.records_sent, error.failed_chunk) == (1, 2, 2)
    assert isinstance(error.cause, RetryableError) and error.cause.status == 503
    assert "chunk 2" in str(error) and "1 earlier chunk (2 records) had been stored" in str(error)
    assert "may or may not have been stored" in str(error)
    # 1 for chunk 1, then the policy's 5 attempts at chunk 2; chunk 3 never sent.
    statuses = [request.status for request in backdrop.requests]
    assert statuses == [200, 503, 503, 503, 503, 503]
    assert stored_ids(backdrop) == ["id-0", "id-1"]


def test_a_400_is_not_retried_and_carries_backdrops_message(
    backdrop_data_set_config, backdrop
) -> None:
    backdrop.fail_next(400, body={"messages": ["foo is not a valid key", "bar has an invalid value"]})
    with pytest.raises(PushError) as raised:
        Pusher(backdrop_data_set_config).push(make_records(3))
    assert len(backdrop.requests) == 1
    message = str(raised.value)
    assert "foo is not a valid key; bar has an invalid value" in message
    assert "No records were stored" in message
    assert isinstance(raised.value.cause, FatalUpstreamError)
    assert raised.value.cause.status == 400
    assert (raised.value.chunks_sent, raised.value.records_sent, raised.value.failed_chunk) == (0, 0, 1)


def test_a_wrong_token_fails_at_once_without_showing_the_token(
    backdrop_data_set_config, backdrop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-31d9e7"
    with pytest.raises(PushError) as raised:
        Pusher({**backdrop_data_set_config, "token": wrong}).push(make_records(1))
    assert len(backdrop.requests) == 1
    assert backdrop.requests[0].status == 401
    message = str(raised.value)
    # Backdrop's 401 quotes the token it was sent.
    assert "Unauthorized: Invalid bearer token '[REDACTED]'" in message
    assert wrong not in message and wrong not in str(raised.value.cause)
    assert wrong not in caplog.text


def test_an_unknown_data_set_fails_with_backdrops_404_message(backdrop, backdrop_url) -> None:
    config = {"url": f"{backdrop_url}/no/such", "token": TOKEN, "dry_run": False}
    with pytest.raises(PushError, match="Could not find data_set_config"):
        Pusher(config).push(make_records(1))
    assert len(backdrop.requests) == 1


def test_a_429_retry_after_is_honoured(backdrop_data_set_config, backdrop) -> None:
    backdrop.fail_next(429, headers={"Retry-After": "0.3"})
    started = time.monotonic()
    Pusher(backdrop_data_set_config).push(make_records(1))
    elapsed = time.monotonic() - started
    # The backoff alone would wait about a millisecond in tests.
    assert elapsed >= 0.3
    assert [request.status for request in backdrop.requests] == [429, 200]


def test_a_413_says_to_lower_the_chunk_size(backdrop_data_set_config, backdrop) -> None:
    backdrop.fail_next(413, body="<html>too large</html>")
    with pytest.raises(PushError, match="lower chunk-size"):
        Pusher(backdrop_data_set_config).push(make_records(1))
    assert len(backdrop.requests) == 1


# Validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_record", "key"),
    [
        ({"_timestamp": TS, "a": 1}, "a"),
        ({"_timestamp": TS, "foo-bar": 1}, "foo-bar"),
        ({"_timestamp": TS, "has space": 1}, "has space"),
        ({"_timestamp": TS, "_updated_at": TS}, "_updated_at"),
        ({"_timestamp": TS, "nested": {"a": 1}}, "nested"),
        ({"_timestamp": TS, "listed": [1, 2]}, "listed"),
        ({"_timestamp": TS, "_id": 7}, "_id"),
        ({"_timestamp": TS, "_id": ""}, "_id"),
        ({"_timestamp": TS, "_id": "a b"}, "_id"),
        ({"_timestamp": "hammer time"}, "_timestamp"),
        ({"_timestamp": None}, "_timestamp"),
        ({"_timestamp": TS, "_start_at": 1365000000}, "_start_at"),
        ({"_timestamp": TS, "ratio": float("nan")}, "ratio"),
        ({"_timestamp": TS, "ratio": Decimal("Infinity")}, "ratio"),
        ({"count": 1}, "_timestamp"),
        ("not a dict", None),
    ],
)
def test_an_invalid_record_names_its_index_and_key_and_nothing_is_sent(
    backdrop_data_set_config, backdrop, bad_record: Any, key: str | None
) -> None:
    records: list[Any] = make_records(7)
    records[5] = bad_record
    with pytest.raises(InvalidRecordError) as raised:
        Pusher(backdrop_data_set_config, {"chunk-size": 2, "empty-data-set": True}).push(records)
    assert raised.value.index == 5
    assert raised.value.key == key
    assert "record 5" in str(raised.value)
    if key is not None:
        assert repr(key) in str(raised.value)
    assert backdrop.requests == []


def test_every_invalid_record_is_counted(backdrop_data_set_config, backdrop) -> None:
    records: list[Any] = make_records(10)
    for index in (2, 4, 9):
        records[index] = {"_timestamp": TS, "bad-key": 1}
    with pytest.raises(InvalidRecordError) as raised:
        post(DataSet.from_config(backdrop_data_set_config), records)
    assert raised.value.index == 2
    assert "and 2 more invalid records: 4, 9" in str(raised.value)


def test_the_client_and_the_stand_in_agree_on_what_is_valid(backdrop_data_set_config, backdrop) -> None:
    """The client's checks and the stand-in's are written separately; they must agree."""
    candidates: list[dict[str, Any]] = [
        {"_timestamp": TS, "CamelCase": 1},
        {"_timestamp": TS, "ab": None, "flag": False, "ratio": 0.25},
        {"_timestamp": "2013-03-22"},
        {"_timestamp": "22/03/2013 10:00", "_end_at": "2013-03-23T00:00:00Z"},
        {"_timestamp": TS, "_id": "a+b/c="},
        {"_timestamp": TS, "a": 1},
        {"_timestamp": TS, "_TIMESTAMP": TS},
        {"_timestamp": TS, "x.y": 1},
        {"_timestamp": TS, "9lives": 1},
        {"_timestamp": TS, "tab\there": 1},
        {"_timestamp": TS, "_id": "a\nb"},
        {"_timestamp": TS, "obj": {}},
        {"_timestamp": "not a date at all"},
        {"_timestamp": TS, "_start_at": ""},
    ]
    data_set = DataSet.from_config(backdrop_data_set_config)
    for candidate in candidates:
        try:
            post(data_set, [candidate])
            client_accepts = True
        except InvalidRecordError:
            client_accepts = False
        response = requests.post(
            backdrop.data_url(DATA_GROUP, DATA_TYPE),
            data=json.dumps([candidate]),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            timeout=10,
        )
        assert client_accepts == (response.status_code == 200), (candidate, response.text)


def test_a_bad_record_in_chunk_3_of_5_reports_that_2_chunks_landed(
    backdrop_data_set_config, backdrop
) -> None:
    def generate() -> Iterator[dict[str, Any]]:
        for record in make_records(10):
            if record["count"] == 5:
                record = {**record, "bad key": 1}
            yield record

    with pytest.raises(PushError) as raised:
        Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(generate())
    error = raised.value
    assert (error.chunks_sent, error.records_sent, error.failed_chunk) == (2, 4, 3)
    assert isinstance(error.cause, InvalidRecordError)
    assert error.cause.index == 5 and error.cause.key == "bad key"
    assert "2 earlier chunks (4 records) had been stored" in str(error)
    assert "record 5" in str(error)
    assert len(backdrop.requests) == 2
    assert stored_ids(backdrop) == ["id-0", "id-1", "id-2", "id-3"]


def test_a_failing_record_source_is_raised_after_saying_what_landed(
    backdrop_data_set_config, backdrop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)

    def generate() -> Iterator[dict[str, Any]]:
        yield from make_records(3)
        raise RetryableError("Google answered 503", service="Google")

    with pytest.raises(RetryableError, match="Google answered 503"):
        Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(generate())
    assert stored_ids(backdrop) == ["id-0", "id-1"]
    assert "after 1 chunks (2 records) had been stored" in caplog.text


# No data, emptying --------------------------------------------------------------------------------


@pytest.mark.parametrize("empty", [[], (), iter([])])
def test_no_data_posts_nothing(
    backdrop_data_set_config, backdrop, caplog: pytest.LogCaptureFixture, empty: Any
) -> None:
    caplog.set_level(logging.INFO)
    backdrop.store(DATA_GROUP, DATA_TYPE, make_records(1))
    report = Pusher(backdrop_data_set_config, {"empty-data-set": True}).push(empty)
    assert backdrop.requests == []
    assert report == PushReport(records_sent=0, chunks_sent=0)
    assert "no data to push" in caplog.text
    # Nothing to push, so the data set is not emptied either.
    assert stored_ids(backdrop) == ["id-0"]


def test_empty_data_set_puts_an_empty_list_first(backdrop_data_set_config, backdrop) -> None:
    backdrop.store(DATA_GROUP, DATA_TYPE, make_records(3, start=100))
    report = Pusher(backdrop_data_set_config, {"empty-data-set": True, "chunk-size": 2}).push(
        make_records(3)
    )
    methods = [(request.method, request.body) for request in backdrop.requests]
    assert methods[0] == ("PUT", b"[]")
    assert [method for method, _ in methods] == ["PUT", "POST", "POST"]
    assert report.emptied and report.records_sent == 3
    assert stored_ids(backdrop) == ["id-0", "id-1", "id-2"]


def test_a_failed_empty_stops_the_push(backdrop_data_set_config, backdrop) -> None:
    backdrop.fail_next(404, body={"status": "error", "message": "gone"})
    with pytest.raises(PushError) as raised:
        Pusher(backdrop_data_set_config, {"empty-data-set": True}).push(make_records(2))
    assert "emptying" in str(raised.value) and "gone" in str(raised.value)
    assert raised.value.failed_chunk is None and raised.value.records_sent == 0
    assert [request.method for request in backdrop.requests] == ["PUT"]


def test_empty_data_set_must_be_a_boolean(backdrop_data_set_config) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Pusher(backdrop_data_set_config, {"empty-data-set": "yes"}, source="query.json")
    assert raised.value.key == "options.empty-data-set"
    assert str(raised.value).startswith("query.json: key 'options.empty-data-set'")


# Dry run ------------------------------------------------------------------------------------------


def parse_dry_run(output: str) -> list[tuple[str, dict[str, str], str]]:
    """(request line, headers, body) for each request printed."""
    # Each request is its head, a blank line, its one-line JSON body and a blank line.
    assert output.endswith("\n\n")
    parts = output[: -len("\n\n")].split("\n\n")
    requests_printed = []
    for head, body in zip(parts[0::2], parts[1::2], strict=True):
        request_line, *header_lines = head.split("\n")
        headers = dict(line.split(": ", 1) for line in header_lines)
        requests_printed.append((request_line, headers, body))
    return requests_printed


def test_dry_run_prints_each_request_and_sends_nothing(
    backdrop_data_set_config, backdrop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    out = io.StringIO()
    records = make_records(3)
    records[0]["when"] = dt.datetime(2013, 4, 1, 12)
    config = {**backdrop_data_set_config, "dry_run": True}
    report = Pusher(config, {"chunk-size": 2, "empty-data-set": True}, stdout=out).push(records)
    assert backdrop.requests == []
    assert report == PushReport(records_sent=3, chunks_sent=2, emptied=True, dry_run=True)
    output = out.getvalue()
    assert TOKEN not in output and TOKEN not in caplog.text
    printed = parse_dry_run(output)
    url = backdrop.data_url(DATA_GROUP, DATA_TYPE)
    assert [line for line, _, _ in printed] == [f"PUT {url}", f"POST {url}", f"POST {url}"]
    for _, headers, _ in printed:
        assert headers["Authorization"] == "Bearer [REDACTED]"
        assert headers["Content-Type"] == "application/json"
        assert headers["User-Agent"] == USER_AGENT
    assert printed[0][2] == "[]"
    expected = json.loads(json.dumps(make_records(3)))
    expected[0]["when"] = "2013-04-01T12:00:00+00:00"
    assert json.loads(printed[1][2]) == expected[:2]
    assert json.loads(printed[2][2]) == expected[2:]


def test_dry_run_prints_large_bodies_as_json_not_gzip(backdrop_data_set_config, backdrop) -> None:
    out = io.StringIO()
    records = [{"_timestamp": TS, "_id": f"big-{i}", "text": "z" * 100} for i in range(30)]
    post(DataSet.from_config({**backdrop_data_set_config, "dry_run": True}, stdout=out), records)
    ((_, headers, body),) = parse_dry_run(out.getvalue())
    assert headers["Content-Encoding"] == "gzip"
    assert json.loads(body) == records
    assert backdrop.requests == []


def test_dry_run_still_validates(backdrop_data_set_config, backdrop) -> None:
    out = io.StringIO()
    records: list[Any] = make_records(3)
    records[1] = {"_timestamp": TS, "-": 1}
    with pytest.raises(InvalidRecordError):
        Pusher({**backdrop_data_set_config, "dry_run": True}, stdout=out).push(records)
    assert out.getvalue() == ""
    assert backdrop.requests == []


def test_dry_run_prints_to_stdout_by_default(
    backdrop_data_set_config, backdrop, capsys: pytest.CaptureFixture[str]
) -> None:
    Pusher({**backdrop_data_set_config, "dry_run": True}).push(make_records(1))
    captured = capsys.readouterr()
    assert captured.out.startswith("POST ")
    assert TOKEN not in captured.out + captured.err
    assert backdrop.requests == []


# Logging and configuration ------------------------------------------------------------------------


def test_each_chunk_push_is_logged_without_the_token(
    backdrop_data_set_config, backdrop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    Pusher(backdrop_data_set_config, {"chunk-size": 2}).push(make_records(3))
    chunk_lines = [r.getMessage() for r in caplog.records if "pushed chunk" in r.getMessage()]
    assert len(chunk_lines) == 2
    assert chunk_lines[0].startswith(f"pushed chunk 1 to Backdrop {DATA_GROUP}/{DATA_TYPE}: 2 records,")
    assert "status 200" in chunk_lines[0] and "bytes of JSON" in chunk_lines[0]
    assert chunk_lines[1].startswith(f"pushed chunk 2 to Backdrop {DATA_GROUP}/{DATA_TYPE}: 1 records,")
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"token": None}, "token"),
        ({"token": ""}, "token"),
        ({"token": 12345}, "token"),
        ({"url": "ftp://example.org/data/a/b"}, "url"),
        ({"dry_run": "false"}, "dry_run"),
    ],
)
def test_bad_data_set_config_is_a_configuration_error(
    backdrop_data_set_config, change: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        DataSet.from_config({**backdrop_data_set_config, **change})
    assert raised.value.key == key


def test_a_missing_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as raised:
        DataSet.from_config({"token": TOKEN, "dry_run": False})
    assert raised.value.key == "url"


def test_the_token_is_not_sent_over_plain_http_to_another_host(
    backdrop_data_set_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PP_COLLECTOR_ALLOW_INSECURE_HTTP", raising=False)
    config = {**backdrop_data_set_config, "url": "http://backdrop.example.org/data/a/b"}
    with pytest.raises(ConfigurationError, match="refusing to send"):
        DataSet.from_config(config)
    # A dry run sends nothing, so it may name any URL.
    DataSet.from_config({**config, "dry_run": True})


@pytest.mark.parametrize(("size", "gzipped"), [(2048, False), (2049, True)])
def test_the_gzip_threshold_is_over_2048_bytes(
    backdrop_data_set_config, backdrop, size: int, gzipped: bool
) -> None:
    bare = len(json.dumps([{"_timestamp": TS, "_id": "edge", "text": ""}], separators=(",", ":")))
    record = {"_timestamp": TS, "_id": "edge", "text": "p" * (size - bare)}
    post(DataSet.from_config(backdrop_data_set_config), [record])
    (request,) = backdrop.requests
    assert len(request.body) == size
    assert (request.header("Content-Encoding") == "gzip") is gzipped


def test_a_prepared_request_does_not_show_the_token_in_its_repr(backdrop_data_set_config) -> None:
    data_set = Pusher(backdrop_data_set_config).data_set
    prepared = data_set.prepare("POST", b"[]")
    assert prepared.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(prepared)


def test_a_dry_run_that_fails_says_what_it_printed_not_what_was_stored(backdrop_data_set_config, backdrop) -> None:
    out = io.StringIO()
    records: list[Any] = make_records(10)
    records[5] = {"_timestamp": TS, "_id": "bad", "bad-key": 1}

    def stream() -> Iterator[dict[str, Any]]:
        yield from records

    with pytest.raises(PushError) as raised:
        Pusher({**backdrop_data_set_config, "dry_run": True}, {"chunk-size": 2}, stdout=out).push(stream())
    message = str(raised.value)
    assert "failed at chunk 3 (records 4-5)" in message
    assert "2 earlier chunks (4 records) had been printed (dry run)" in message and "stored" not in message
    assert len(parse_dry_run(out.getvalue())) == 2
    assert backdrop.requests == []

    def failing() -> Iterator[dict[str, Any]]:
        yield from make_records(4)
        raise CollectorError("the source broke")

    with pytest.raises(CollectorError) as stopped:
        Pusher({**backdrop_data_set_config, "dry_run": True}, {"chunk-size": 2}, stdout=io.StringIO()).push(failing())
    assert stopped.value.__notes__ == [
        f"2 chunks (4 records) had been printed (dry run) for Backdrop {DATA_GROUP}/{DATA_TYPE}; nothing after them "
        "was sent"
    ]
