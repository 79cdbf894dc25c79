"""What real Backdrop accepts, exactly (issue 13): the client's pre-send check and the Backdrop stand-in,
with the schemas production data sets had, refuse the same records.

The two are independent readings of the rules (`backdrop_validation` and `standins/backdrop.py` share
no code). Here the client pushes over real HTTP to the stand-in, and a property test sends generated
records, as the client writes them, to the stand-in and compares its verdict with the client's.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from performanceplatform.collector.backdrop import Pusher
from performanceplatform.collector.backdrop.encoding import encode_records
from performanceplatform.collector.backdrop_validation import find_problems
from performanceplatform.collector.errors import InvalidRecordError, PushError
from performanceplatform.collector.standins.backdrop import BackdropStandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN

TS = "2024-06-01T00:00:00+00:00"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
DATA_TYPES = ("monitoring", "realtime", DATA_TYPE)


@pytest.fixture
def data_sets(backdrop: BackdropStandIn) -> BackdropStandIn:
    """The stand-in with a data set of each data type whose schema differs, as production had them."""
    for data_type in DATA_TYPES[:2]:
        backdrop.add_data_set(DATA_GROUP, data_type, TOKEN)
    return backdrop


def config(backdrop: BackdropStandIn, data_type: str = DATA_TYPE) -> dict[str, Any]:
    return {
        "url": backdrop.data_url(DATA_GROUP, data_type),
        "token": TOKEN,
        "data-group": DATA_GROUP,
        "data-type": data_type,
        "dry_run": False,
    }


def send(backdrop: BackdropStandIn, records: list[dict[str, Any]], data_type: str = DATA_TYPE) -> requests.Response:
    """POST `records` as the client writes them, without the client's check."""
    return requests.post(
        backdrop.data_url(DATA_GROUP, data_type), data=encode_records(records), headers=HEADERS, timeout=10
    )


def records(count: int, **fields: Any) -> Iterator[dict[str, Any]]:
    for n in range(count):
        yield {"_timestamp": dt.datetime(2024, 6, 1, tzinfo=dt.UTC), "_id": f"r{n}", "count": n, **fields}


# Item 2: integers beyond 64 bits ------------------------------------------------------------------


@pytest.mark.parametrize("count", [2**63, -(2**63) - 1])
def test_an_integer_beyond_64_bits_is_refused_before_its_chunk_goes(backdrop: BackdropStandIn, count: int) -> None:
    def stream() -> Iterator[dict[str, Any]]:
        for record in records(6):
            yield {**record, "count": count} if record["_id"] == "r4" else record

    with pytest.raises(PushError) as raised:
        Pusher(config(backdrop), {"chunk-size": 2}).push(stream())

    assert (raised.value.chunks_sent, raised.value.failed_chunk) == (2, 3)
    assert "record 4" in str(raised.value) and "signed 64-bit range" in str(raised.value)
    assert [record["_id"] for record in backdrop.records(DATA_GROUP, DATA_TYPE)] == ["r0", "r1", "r2", "r3"]
    # Sent anyway, the chunk is refused whole, as production Backdrop refused it.
    refused = send(backdrop, [{"_timestamp": TS, "_id": "r4", "count": count}, {"_timestamp": TS, "_id": "r5"}])
    assert refused.status_code == 400
    assert refused.json() == {"messages": ["count has an invalid value"]}
    assert len(backdrop.records(DATA_GROUP, DATA_TYPE)) == 4


def test_the_64_bit_bounds_themselves_land(backdrop: BackdropStandIn) -> None:
    Pusher(config(backdrop)).push([{"_timestamp": TS, "_id": "max", "count": 2**63 - 1, "low": -(2**63)}])
    assert backdrop.record(DATA_GROUP, DATA_TYPE, "max") == {
        "_timestamp": TS, "_id": "max", "count": 2**63 - 1, "low": -(2**63)
    }


# Item 3: `_timestamp` must be an RFC 3339 date-time, and is required --------------------------------


@pytest.mark.parametrize(
    ("timestamp", "explained"),
    [
        (dt.date(2024, 6, 1), "is the date 2024-06-01, not a date-time"),
        ("2024-06-01", "not an RFC 3339 date-time"),
        ("2024-06-01 00:00:00+00:00", "not an RFC 3339 date-time"),
        ("2024-06-01T00:00:00", "not an RFC 3339 date-time"),
        (dt.datetime(2024, 6, 1, tzinfo=dt.timezone(dt.timedelta(seconds=30))), "has an offset in seconds"),
    ],
)
def test_a_timestamp_that_is_not_an_rfc_3339_date_time_is_refused_before_sending(
    backdrop: BackdropStandIn, timestamp: Any, explained: str
) -> None:
    with pytest.raises(InvalidRecordError, match=explained) as raised:
        Pusher(config(backdrop)).push([{"_timestamp": timestamp, "_id": "t"}])
    assert (raised.value.index, raised.value.key) == (0, "_timestamp")
    assert backdrop.requests == []
    # What the client would have written is what production Backdrop refused.
    response = send(backdrop, [{"_timestamp": timestamp, "_id": "t"}])
    assert response.status_code == 400
    assert response.json()["messages"][0].endswith("is not a u'date-time'")
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == []


@pytest.mark.parametrize(
    ("timestamp", "stored"),
    [
        (dt.datetime(2024, 6, 1), TS),  # naive: UTC
        (dt.datetime(2024, 6, 1, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=1, minutes=30))), TS),
        (dt.datetime(2024, 6, 1, 0, 0, 0, 250000, tzinfo=dt.UTC), "2024-06-01T00:00:00.250000+00:00"),
        ("2024-06-01T00:00:00Z", TS),
        ("2024-06-01T00:00:00.5-00:30", "2024-06-01T00:30:00.500000+00:00"),
    ],
)
def test_datetimes_and_rfc_3339_strings_land(backdrop: BackdropStandIn, timestamp: Any, stored: str) -> None:
    Pusher(config(backdrop)).push([{"_timestamp": timestamp, "_id": "t"}])
    assert backdrop.record(DATA_GROUP, DATA_TYPE, "t") == {"_timestamp": stored, "_id": "t"}


def test_a_record_without_a_timestamp_is_refused_before_sending_and_backdrop_stores_nothing_of_it(
    backdrop: BackdropStandIn,
) -> None:
    batch = [{"_timestamp": TS, "_id": "a"}, {"_id": "b", "count": 1}]
    with pytest.raises(InvalidRecordError, match="is missing; Backdrop's schema requires it") as raised:
        Pusher(config(backdrop)).push(batch)
    assert (raised.value.index, raised.value.key) == (1, "_timestamp")
    assert backdrop.requests == []

    response = send(backdrop, batch)
    assert (response.status_code, response.json()) == (400, {"messages": ["u'_timestamp' is a required property"]})
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == []


def test_dates_are_still_written_where_backdrop_takes_them_as_strings(backdrop: BackdropStandIn) -> None:
    Pusher(config(backdrop)).push([{"_timestamp": TS, "_id": "d", "_start_at": dt.date(2024, 6, 3),
                                    "day": dt.date(2024, 6, 2)}])
    assert backdrop.record(DATA_GROUP, DATA_TYPE, "d") == {
        "_timestamp": TS, "_id": "d", "_start_at": "2024-06-03T00:00:00+00:00", "day": "2024-06-02"
    }


# Item 4: the data types' schemas -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data_type", "fields", "key", "messages"),
    [
        ("monitoring", {"uptime": 3600.0, "downtime": 0}, "uptime", ["3600.0 is not of type u'integer'"]),
        ("monitoring", {"uptime": 3600, "downtime": True}, "downtime", ["True is not of type u'integer'"]),
        ("monitoring", {"uptime": 3600}, "downtime", ["u'downtime' is a required property"]),
        ("monitoring", {"uptime": Decimal("3600.0"), "downtime": 0}, "uptime", ["3600.0 is not of type u'integer'"]),
        ("realtime", {"for_url": None, "unique_visitors": 3}, "for_url", ["None is not of type u'string'"]),
        ("realtime", {"for_url": "/", "unique_visitors": "3"}, "unique_visitors", ["'3' is not of type u'integer'"]),
        ("realtime", {"unique_visitors": 3}, "for_url", ["u'for_url' is a required property"]),
        (
            "realtime",
            {"for_url": 2**63, "unique_visitors": 3},
            "for_url",
            ["9223372036854775808L is not of type u'string'", "for_url has an invalid value"],
        ),
    ],
)
def test_each_data_types_schema_is_checked_before_sending(
    data_sets: BackdropStandIn, data_type: str, fields: dict[str, Any], key: str, messages: list[str]
) -> None:
    record = {"_timestamp": TS, "_id": "s", **fields}
    with pytest.raises(InvalidRecordError, match=f"every '{data_type}' data set requires") as raised:
        Pusher(config(data_sets, data_type)).push([record])
    assert raised.value.key == key
    assert data_sets.requests == []

    response = send(data_sets, [record], data_type)
    assert (response.status_code, response.json()) == (400, {"messages": messages})


def test_records_of_the_collectors_shapes_land_in_their_data_types(data_sets: BackdropStandIn) -> None:
    Pusher(config(data_sets, "monitoring")).push(
        [{"_id": "check.1", "_timestamp": TS, "avgresponse": 250, "uptime": 3600, "downtime": 0,
          "unmonitored": 0, "check": "check"}]
    )
    Pusher(config(data_sets, "realtime")).push(
        [{"_timestamp": TS, "_id": TS, "unique_visitors": 12, "for_url": ""}]
    )
    assert len(data_sets.records(DATA_GROUP, "monitoring")) == 1
    assert len(data_sets.records(DATA_GROUP, "realtime")) == 1
    # Other data types have no such fields to require.
    Pusher(config(data_sets)).push([{"_timestamp": TS, "_id": "x", "uptime": 1.5}])
    assert len(data_sets.records(DATA_GROUP, DATA_TYPE)) == 1


# Item 5: a no-break space is not whitespace to Backdrop ---------------------------------------------


def test_an_id_with_a_no_break_space_lands(backdrop: BackdropStandIn) -> None:
    Pusher(config(backdrop)).push([{"_timestamp": TS, "_id": "a\u00a0b", "count": 1}])
    assert backdrop.record(DATA_GROUP, DATA_TYPE, "a\u00a0b") == {"_timestamp": TS, "_id": "a\u00a0b", "count": 1}


@pytest.mark.parametrize("whitespace", [" ", "\t", "\n", "\r", "\x0b", "\x0c"])
def test_an_id_with_ascii_whitespace_is_refused_by_both(backdrop: BackdropStandIn, whitespace: str) -> None:
    record = {"_timestamp": TS, "_id": f"a{whitespace}b"}
    with pytest.raises(InvalidRecordError):
        Pusher(config(backdrop)).push([record])
    assert send(backdrop, [record]).json() == {"messages": [f'_id "a{whitespace}b" is not a valid id']}


# The property: the client refuses exactly what the stand-in refuses ---------------------------------

SCHEMA_KEYS = ["uptime", "downtime", "for_url", "unique_visitors"]
KEYS = st.one_of(
    st.sampled_from(["_id", "_start_at", "_end_at", "_updated_at", "_timestamp_", "count", "ratio", "CamelCase",
                     "a", "ab", "1ab", "a-b", "a b", "ab\n", "\u212aey", "caf\u00e9", "x" * 40, *SCHEMA_KEYS]),
    st.text(alphabet=string.ascii_letters + string.digits + "_ -.é\u00a0\n", min_size=0, max_size=6),
)
INTS = st.one_of(
    # Around the 64-bit bounds, mostly: 2**63 - 2 to 2**63 + 2, and the same below zero.
    st.builds(lambda bound, step: bound + step, st.sampled_from([2**63, -(2**63)]), st.integers(-2, 2)),
    st.sampled_from([0, 1, -1, 3600, 2**64, 10**30]),
    st.integers(min_value=-(2**70), max_value=2**70),
)
ZONES = st.one_of(
    st.none(),
    st.just(dt.UTC),
    st.timezones(),
    st.builds(
        lambda seconds: dt.timezone(dt.timedelta(seconds=seconds)),
        st.one_of(st.integers(-86399, 86399), st.sampled_from([-3600, 1800, 19800, 30, -59])),
    ),
)
DATETIMES = st.builds(lambda moment, zone: moment.replace(tzinfo=zone), st.datetimes(), ZONES)


@st.composite
def timestamp_texts(draw: st.DrawFn) -> str:
    """Strings that are, or nearly are, RFC 3339 date-times, and some that are nothing like one."""
    if draw(st.booleans()):
        moment = draw(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)))
        date, time = moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")
    else:
        year, month, day = draw(st.integers(0, 9999)), draw(st.integers(0, 13)), draw(st.integers(0, 32))
        hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))
        date, time = f"{year:04d}-{month:02d}-{day:02d}", f"{hour:02d}:{minute:02d}:{second:02d}"
    separator = draw(st.sampled_from(["T", "T", "T", " ", "t", ""]))
    fraction = draw(st.sampled_from(["", "", ".5", ".123456", ".1234567"]))
    offset = draw(st.sampled_from(
        ["Z", "+00:00", "-05:30", "+23:59", "+24:00", "+00:60", "z", "", "+0100", "+01:00:30", "+01"]
    ))
    text = date if separator == "" else f"{date}{separator}{time}{fraction}{offset}"
    around = draw(st.sampled_from(["", "", "", " ", "\n", "\u00a0"]))
    if around:
        text = draw(st.sampled_from([around + text, text + around]))
    wide_digits = "\uff12\uff10\uff12\uff14-06-01T00:00:00Z"
    return draw(st.sampled_from([text, text, text, "22/03/2013 10:00", "not a date", "", wide_digits]))


TIMESTAMPS = st.one_of(
    timestamp_texts(), DATETIMES, st.dates(), st.none(), st.integers(0, 2**40), st.just(TS),
)
SCALARS = st.one_of(
    INTS,
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([3600.0, 0.0, -0.0, 1e300]),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.text(alphabet=" \t\n\r\x0b\x0c\u00a0\u2003\u0085ab", max_size=4),
    DATETIMES,
    st.dates(),
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**25), max_value=10**25, places=2),
    st.sampled_from([Decimal("3600"), Decimal("3600.0"), Decimal("1E+3"), Decimal(2**63), Decimal(-(2**63))]),
    timestamp_texts(),
)
# Inside objects and arrays, which Backdrop refuses anyway, only what JSON itself has (the client
# writes a record holding a Decimal value by value, and could not write a date inside a list then).
JSON_SCALARS = st.one_of(
    INTS, st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none(), st.text(max_size=4)
)
VALUES = st.one_of(
    SCALARS, st.lists(JSON_SCALARS, max_size=2), st.dictionaries(st.text(max_size=3), JSON_SCALARS, max_size=2)
)


# What the collectors and plugins write: records Backdrop takes, which the batches below then spoil a little.
GOOD_TIMESTAMPS = st.one_of(
    st.just(TS),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1),
                 timezones=st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))])),
    st.builds(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S+00:00"), st.datetimes()),
)
GOOD_VALUES = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    DATETIMES,
    st.dates(),
)
GOOD_KEYS = st.sampled_from(["count", "visits", "ratio", "dataType", "timeSpan", "humanId", "CamelCase", "ab", "x_1"])
GOOD_IDS = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "+/=.:_-\u00a0\u00e9", min_size=1, max_size=8),
    st.sampled_from(["a\u00a0b", "\u2003", "x\u0085", "a\x1cb"]),  # whitespace to Unicode, not to Backdrop
)
GOOD_SCHEMA_VALUES = {
    "uptime": st.integers(0, 3600), "downtime": st.integers(0, 3600),
    "for_url": st.text(max_size=8), "unique_visitors": st.integers(0, 10**6),
}
# Values one side could easily get wrong.
EDGES = st.sampled_from([
    2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 3600.0, True, None, "3600", Decimal("3600"), Decimal("3600.0"),
    Decimal(2**63), dt.date(2024, 6, 1), "2024-06-01", "2024-06-01 00:00:00+00:00", "2024-06-01T00:00:00",
    dt.datetime(2024, 6, 1, tzinfo=dt.timezone(dt.timedelta(seconds=30))), "", [1], {},
])
# Wider values, by the key they spoil.
SPOILERS: dict[str, st.SearchStrategy[Any]] = {
    "_timestamp": st.one_of(EDGES, TIMESTAMPS), "_start_at": st.one_of(EDGES, TIMESTAMPS),
    "_end_at": st.one_of(EDGES, TIMESTAMPS),
    "_id": st.one_of(GOOD_IDS, st.text(max_size=5), INTS, st.none(), DATETIMES, st.dates(),
                     st.text(alphabet=" \t\n\r\x0b\x0c\x1c\u00a0\u2003\u0085ab", max_size=4)),
}


@st.composite
def batches(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    """A data type and one to three records for it: good ones, mostly, then a few changes to each
    (a value replaced by a wider one, a key added, a key dropped), which may or may not spoil it."""
    data_type = draw(st.sampled_from(DATA_TYPES))
    batch = []
    for _ in range(draw(st.integers(1, 3))):
        record: dict[str, Any] = {"_timestamp": draw(GOOD_TIMESTAMPS)}
        if draw(st.booleans()):
            record["_id"] = draw(GOOD_IDS)
        for name, values in GOOD_SCHEMA_VALUES.items():
            if draw(st.integers(0, 9)):
                record[name] = draw(values)
        record.update(draw(st.dictionaries(GOOD_KEYS, GOOD_VALUES, max_size=3)))
        for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
            change = draw(st.sampled_from(["value", "value", "schema", "key", "drop"]))
            if change == "schema":
                record[draw(st.sampled_from(SCHEMA_KEYS))] = draw(st.one_of(EDGES, SCALARS))
            elif change == "value":
                key = draw(st.sampled_from([*record, "_timestamp", "_start_at", "_end_at", "_id", *SCHEMA_KEYS]))
                record[key] = draw(SPOILERS.get(key, st.one_of(EDGES, VALUES)))
            elif change == "key":
                record[draw(KEYS)] = draw(VALUES)
            elif record:
                del record[draw(st.sampled_from(list(record)))]
        batch.append(record)
    return data_type, batch


@settings(
    max_examples=300,
    deadline=None,
    # Each example speaks HTTP; the stand-in is only counting (nothing stored), so one for the test serves all.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(batches())
# The edges, every time (the generated batches reach each of them only now and then).
@example((DATA_TYPE, [{"_timestamp": TS, "count": -(2**63)}, {"_timestamp": TS, "count": 2**63 - 1}]))
@example((DATA_TYPE, [{"_timestamp": TS, "count": -(2**63) - 1}, {"_timestamp": TS, "count": 2**63}]))
@example(("monitoring", [{"_timestamp": TS, "uptime": Decimal("3600.0"), "downtime": Decimal("0")},
                         {"_timestamp": TS, "uptime": 3600.0, "downtime": 0}]))
@example(("realtime", [{"_timestamp": TS, "_id": "a\u00a0b", "for_url": dt.date(2024, 6, 1), "unique_visitors": 3},
                       {"_timestamp": TS, "for_url": None, "unique_visitors": True}]))
@example((DATA_TYPE, [{"_timestamp": "2024-06-01T00:00:00+00:60"}, {"_timestamp": "2024-06-01T00:00:00-23:59"},
                      {"_timestamp": "2024-06-01T23:59:60Z"}]))
@example((DATA_TYPE, [{"_timestamp": dt.date(2024, 6, 1)}, {"_timestamp": TS, "_start_at": dt.date(2024, 6, 1)},
                      {"_timestamp": "2024-02-30T00:00:00Z"}]))
@pytest.mark.slow
def test_the_client_refuses_exactly_what_backdrop_refuses(
    data_sets: BackdropStandIn, example: tuple[str, list[dict[str, Any]]]
) -> None:
    data_type, batch = example
    data_sets.store_records = False
    event(f"{data_type}: {len(batch)} records")
    refused_by_client = {problem.index for problem in find_problems(batch, data_type=data_type)}

    for index, record in enumerate(batch):
        response = send(data_sets, [record], data_type)
        event(f"record {'refused' if index in refused_by_client else 'accepted'}")
        assert response.status_code in (200, 400), response.text
        assert (response.status_code == 400) == (index in refused_by_client), (record, response.text)
    together = send(data_sets, batch, data_type)
    assert (together.status_code == 400) == bool(refused_by_client), (batch, together.text)
    if together.status_code == 400:
        # One message at least per refused record, collected across the request.
        assert len(together.json()["messages"]) >= len(refused_by_client)


def test_the_stand_ins_messages_carry_python_2_reprs(data_sets: BackdropStandIn) -> None:
    response = send(data_sets, [{"_timestamp": "caf\u00e9", "_id": "a"}, {"_timestamp": TS, "_id": "b",
                                                                           "for_url": {"a": ["\u00e9"]},
                                                                           "unique_visitors": 1}], "realtime")
    assert response.json() == {"messages": [
        "'caf\\xc3\\xa9' is not a u'date-time'",
        "u'for_url' is a required property",
        "u'unique_visitors' is a required property",
        "{u'a': [u'\\xe9']} is not of type u'string'",
        "caf\u00e9 in the _timestamp field is not a valid date",
        "_timestamp is not a valid datetime object",
        "for_url has an invalid value",
    ]}
