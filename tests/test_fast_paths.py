"""The quick paths a million-row backfill takes give exactly what the general code gives.

- records: rows of one shape share their key orders (`records._Shape`): every record equals the one
  the general algorithm (`_build_record_generally`) builds, key order and `_id` included, whether
  the rows come as `Row`s or as one `RowBatch`;
- streaming: `stream_records` / `stream_options`, a batch at a time, equal `build_records` /
  `apply_options` of the whole, and errors name the same record;
- Backdrop: `encode_records` (orjson, or the stdlib's C encoder) writes JSON that reads back as what
  `encode_value` writes, number for number and key for key, in the same order; and the
  validator's glance never passes a record `record_problem` would refuse;
- GA rows: `GaRows` turned into one `SourceBatch` or `RowBatch` (`ga.rows.record_rows`) build the
  records their gapy rows build one by one, errors included, whatever the options; googleapiclient
  answers decoded by orjson (`ga.google_api.OrjsonModel`) read as the library reads them;
- GA numbers: the digits-only shortcut reads what `int` reads; a GA4 fraction scaled to UA's
  percentage as an exact decimal is the number the text of that decimal would have read as;
- GA4 pages: the quick read of a page in GA4's usual shape reads each value as the general code
  does (its text, read once), and anything else falls to the general code.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from googleapiclient.model import JsonModel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from performanceplatform.collector import records as records_module
from performanceplatform.collector.backdrop.encoding import encode_records, encode_value
from performanceplatform.collector.backdrop_validation import find_problems, record_problem
from performanceplatform.collector.errors import CollectorError
from performanceplatform.collector.ga import rows as ga_rows
from performanceplatform.collector.ga.data_api.names import METRIC, Field
from performanceplatform.collector.ga.data_api.pages import page_from_response, scaled_number
from performanceplatform.collector.ga.data_api.query import DateRange, ReportQuery
from performanceplatform.collector.ga.google_api import OrjsonModel
from performanceplatform.collector.ga.query import GaQuery
from performanceplatform.collector.ga.rows import GaRows, ga_number, record_rows
from performanceplatform.collector.periods import time_span
from performanceplatform.collector.records import (
    Row,
    RowBatch,
    apply_options,
    build_records,
    stream_options,
    stream_records,
)

NAMES = st.sampled_from(["a", "b", "date", "browser", "visits", "timeSpan", "dataType", "_timestamp", "x1", "é",
                         "pagePath", "count", "step", "department", "zz", "ba", "ab"])
SCALARS = st.one_of(
    st.text(max_size=8), st.integers(-(10**15), 10**15), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.none(),
)
STARTS = st.one_of(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)),
)


@st.composite
def rows_and_options(draw: st.DrawFn) -> tuple[list[Row], dict[str, Any]]:
    dimension_names = draw(st.lists(NAMES, max_size=5, unique=True))
    field_names = draw(st.lists(NAMES, max_size=4, unique=True))
    rows = [
        Row(
            draw(STARTS),
            {name: draw(st.text(max_size=6)) for name in dimension_names},
            {name: draw(SCALARS) for name in field_names},
        )
        for _ in range(draw(st.integers(1, 6)))
    ]
    return rows, draw(record_options())


@st.composite
def record_options(draw: st.DrawFn, names: st.SearchStrategy[str] = NAMES) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["mappings"] = draw(st.dictionaries(names, names, max_size=4))
    if draw(st.booleans()):
        options["additionalFields"] = draw(st.dictionaries(NAMES, st.text(max_size=4), max_size=3))
    if draw(st.booleans()):
        options["idMapping"] = draw(st.lists(NAMES, min_size=1, max_size=3))
    if draw(st.booleans()):
        options["dataType"] = draw(st.text(min_size=1, max_size=5))
    return options


def general(rows: list[Row], options: dict[str, Any]) -> list[dict[str, Any]]:
    """What the general algorithm builds for each row, without the per-shape shortcut."""
    read = records_module._Build.of(records_module.as_options(options), "type")
    return [
        records_module._build_record_generally(index, row, read, records_module.period_start(row.start_date))
        for index, row in enumerate(rows)
    ]


def outcome(function: Any) -> tuple[str, Any]:
    try:
        return "ok", [list(record.items()) for record in function()]
    except CollectorError as error:
        return "error", (type(error).__name__, str(error))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_and_options())
def test_records_of_one_shape_are_the_ones_the_general_algorithm_builds(case: tuple[list[Row], dict]) -> None:
    rows, options = case
    assert outcome(lambda: build_records(rows, options, "type")) == outcome(lambda: general(rows, options))


def as_batch(rows: list[Row]) -> RowBatch:
    return RowBatch(
        tuple(rows[0].dimensions),
        tuple(rows[0].fields),
        [(row.start_date, tuple(row.dimensions.values()), tuple(row.fields.values())) for row in rows],
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_and_options())
def test_a_row_batch_builds_the_records_its_rows_build(case: tuple[list[Row], dict]) -> None:
    rows, options = case
    batch = as_batch(rows)
    assert list(batch) == rows
    assert outcome(lambda: build_records(batch, options, "type")) == outcome(lambda: general(rows, options))
    assert outcome(lambda: list(stream_records([batch, batch], options, "type"))) == outcome(
        lambda: build_records(rows + rows, options, "type")
    )


def test_datetimes_in_a_batch_id_are_written_with_their_own_offsets() -> None:
    # Equal instants in two zones, and a naive one: the id cache must not mix their texts up.
    moments = [
        datetime(2024, 1, 1, 12, tzinfo=UTC),
        datetime(2024, 1, 1, 13, tzinfo=timezone(timedelta(hours=1))),
        datetime(2024, 1, 1, 12),
    ]
    rows = [Row(date(2024, 1, 1), {"when": moment}, {"n": 1}) for moment in moments]
    built = build_records(as_batch(rows), {}, "type")
    assert [record["humanId"] for record in built] == [record["humanId"] for record in general(rows, {})] == [
        "type_20240101000000_2024-01-01 12:00:00+00:00",
        "type_20240101000000_2024-01-01 13:00:00+01:00",
        "type_20240101000000_2024-01-01 12:00:00",
    ]


def test_a_row_batch_refuses_repeated_names() -> None:
    with pytest.raises(ValueError, match="unique"):
        RowBatch(("a", "a"), (), [])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_and_options(), st.lists(st.integers(0, 3), max_size=4))
def test_streamed_records_equal_the_whole_sets(case: tuple[list[Row], dict], cuts: list[int]) -> None:
    rows, options = case
    batches, rest = [], list(rows)
    for cut in cuts:
        batches.append(rest[:cut])
        rest = rest[cut:]
    batches.append(rest)
    assert outcome(lambda: list(stream_records(iter(batches), options, "type"))) == outcome(
        lambda: build_records(rows, options, "type")
    )


def test_a_plugin_error_in_a_later_batch_names_the_record_as_the_whole_set_would() -> None:
    rows = [Row(date(2024, 1, day), {"page": f"/{day}"}, {"visits": day}) for day in range(1, 7)]
    rows[4] = Row(date(2024, 1, 5), {"other": "x"}, {"visits": 5})
    options = {"plugins": ["ComputeIdFrom('page')"]}
    with pytest.raises(CollectorError) as whole:
        build_records(rows, options, "type")
    with pytest.raises(CollectorError) as streamed:
        list(stream_records([rows[:2], rows[2:4], rows[4:]], options, "type"))
    assert str(streamed.value) == str(whole.value)
    assert "record 4" in str(whole.value)


def test_streaming_refuses_plugins_that_need_the_whole_set() -> None:
    with pytest.raises(ValueError, match="whole set"):
        stream_records([], {"plugins": ["ComputeRank('rank')"]}, "type")
    with pytest.raises(ValueError, match="whole set"):
        stream_options([], {"plugins": ["AggregateKey(aggregate_count('n'))"]})


def test_streamed_options_equal_the_whole_sets() -> None:
    batches = [[{"_timestamp": f"2024-01-0{day}T00:00:00+00:00", "n": day, "gone": 1}] for day in range(1, 5)]
    options = {"additionalFields": {"service": "s", "n": 0}, "plugins": ["RemoveKey('gone')"]}
    expected = apply_options([record for batch in batches for record in batch], options)
    assert list(stream_options(batches, options)) == expected
    assert expected[0] == {"service": "s", "n": 1, "_timestamp": "2024-01-01T00:00:00+00:00"}


# GA rows ----------------------------------------------------------------------------------------

GA_DIMENSIONS = st.sampled_from(["date", "hour", "pagePath", "deviceCategory", "datetime", "x", "timeSpan"])
GA_METRICS = st.sampled_from(["sessions", "users", "avgSessionDuration", "bounceRate", "timeSpan", "pageviews"])
GA_DATES = st.sampled_from(["20240101", "20240102", "2024010", "not a date"])
# What the sources read metric text as (`ga_number`): ints and floats.
GA_NUMBERS = st.sampled_from([0, 12, 3.5, 1000.0, 0.0, -1, 400])


@st.composite
def ga_pages(draw: st.DrawFn) -> GaRows:
    dimensions = tuple(draw(st.lists(GA_DIMENSIONS, max_size=4)))
    metrics = tuple(draw(st.lists(GA_METRICS, min_size=1, max_size=3)))
    extra = draw(st.sampled_from([None, "dateRange"]))
    start = date(2024, 1, 1)
    values = []
    for _ in range(draw(st.integers(1, 5))):
        dimension_values = [
            draw(GA_DATES) if name == "date" else draw(st.sampled_from(["00", "23", "7", "x"])) if name == "hour"
            else draw(st.text(max_size=4))
            for name in dimensions
        ] + ([draw(st.sampled_from(["week1", "week2"]))] if extra else [])
        values.append((start, start, dimension_values, [draw(GA_NUMBERS) for _ in metrics]))
    return GaRows(dimensions, metrics, values, extra)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ga_pages(), st.sampled_from(["daily", "weekly", "monthly"]))
def test_ga_rows_as_a_batch_build_what_their_gapy_rows_build(page: GaRows, frequency: str) -> None:
    def one_by_one() -> list[dict[str, Any]]:
        return build_records(record_rows(list(page), frequency), {}, "type")

    assert outcome(lambda: build_records(record_rows(page, frequency), {}, "type")) == outcome(one_by_one)


GA_NAMES = st.sampled_from(["date", "datetime", "pagePath", "sessions", "users", "timeSpan", "dataType", "x", "_id"])
# Mappings of GA's names, and now and then one that splits a value (`multi_values`: the general path).
GA_MAPPINGS = st.one_of(GA_NAMES, st.sampled_from(["pagePath:1", "x:0"]))


@st.composite
def plain_ga_pages(draw: st.DrawFn) -> GaRows:
    """Pages a `SourceBatch` takes: no hour, no avgSessionDuration, no date range, several start dates."""
    dimensions = tuple(draw(st.lists(st.sampled_from(["date", "pagePath", "x", "timeSpan", "dataType"]),
                                     max_size=3, unique=True)))
    metrics = tuple(draw(st.lists(st.sampled_from(["sessions", "users", "bounceRate", "_id"]), max_size=3,
                                  unique=True)))
    values = []
    starts = [date(2024, 1, 1), date(2024, 1, 2), datetime(2024, 1, 3, 12, 30)]
    for _ in range(draw(st.integers(1, 6))):
        dimension_values = [
            draw(GA_DATES) if name == "date"
            # A GA source writes text; the builder takes anything, and says what it cannot write.
            else draw(st.one_of(st.text(max_size=4), st.sampled_from([7, 1.5, None, datetime(2024, 1, 1), object()])))
            for name in dimensions
        ]
        start = draw(st.sampled_from(starts))
        values.append((start, start, dimension_values, [draw(GA_NUMBERS) for _ in metrics]))
    return GaRows(dimensions, metrics, values)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_ga_pages(), st.sampled_from(["daily", "weekly"]), record_options(GA_MAPPINGS), st.integers(1, 3))
def test_ga_rows_read_as_the_source_read_them_build_what_a_row_batch_builds(
    page: GaRows, frequency: str, options: dict[str, Any], periods: int
) -> None:
    batch = record_rows(page, frequency)
    assert isinstance(batch, records_module.SourceBatch)

    def row_batch() -> RowBatch:
        # Makes every row, so it says what is wrong with a date where the source batch's builder does.
        return ga_rows._row_batch(page, time_span(frequency), *ga_rows._batch_layout(page))

    def rows_of(rows: Any) -> tuple[str, Any]:
        try:
            return "ok", list(rows())
        except CollectorError as error:
            return "error", (type(error).__name__, str(error))

    assert rows_of(lambda: batch) == rows_of(row_batch)
    # Several periods streamed: records are numbered across them (idMapping's errors name them).
    assert outcome(lambda: list(stream_records([batch] * periods, options, "type"))) == outcome(
        lambda: list(stream_records([row_batch()] * periods, options, "type"))
    )
    # And what gapy's rows build one by one.
    assert outcome(lambda: build_records(batch, options, "type")) == outcome(
        lambda: build_records(record_rows(list(page), frequency), options, "type")
    )


UNWRITABLE = object()  # a value no id can write: py2_unicode says so


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_and_options(), st.lists(st.sampled_from(["a", 3, UNWRITABLE, datetime(2024, 1, 1)]), min_size=7,
                                    max_size=7))
def test_a_source_batch_builds_what_its_rows_build(case: tuple[list[Row], dict], derived: list[Any]) -> None:
    rows, options = case
    dimension_names, field_names = tuple(rows[0].dimensions), tuple(rows[0].fields)
    if not dimension_names or "derived" in dimension_names:
        return
    # A last dimension derived from the first one's text, the fields picked in reverse.
    batch = records_module.SourceBatch(
        (*dimension_names, "derived"), field_names, tuple(reversed(range(len(field_names)))), (), len(field_names),
        [(row.start_date, None, list(row.dimensions.values()), list(reversed(row.fields.values()))) for row in rows],
        derive=lambda text: derived[len(text)], derived_from=0,
    )
    expected = [row.dimensions[dimension_names[0]] for row in rows]
    rows = list(batch)
    assert [row.dimensions["derived"] for row in rows] == [derived[len(text)] for text in expected]
    assert outcome(lambda: build_records(batch, options, "type")) == outcome(lambda: general(rows, options))


def test_ga_rows_with_an_hour_or_a_duration_are_read_from_a_row_batch() -> None:
    start = date(2024, 1, 1)
    for dimensions, metrics in ((("date", "hour"), ("sessions",)), (("date",), ("avgSessionDuration",))):
        page = GaRows(dimensions, metrics, [(start, start, ["20240101", "07"][: len(dimensions)], [2])])
        assert isinstance(record_rows(page, "daily"), RowBatch)


@pytest.mark.parametrize(
    "content",
    [b'{"rows": [{"a": 1.5, "b": "\\u00e9"}], "n": 12345678901234567890123}', b'{"x": NaN}', b"\xef\xbb\xbf{}",
     b"not json", '{"text": "é"}'],
)
def test_googleapiclient_answers_decode_as_the_library_decodes_them(content: bytes | str) -> None:
    assert OrjsonModel().deserialize(content) == JsonModel().deserialize(content)


# Backdrop ---------------------------------------------------------------------------------------

ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))])
VALUES = st.one_of(
    SCALARS,
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.dates(),
    st.builds(lambda moment, zone: moment.replace(tzinfo=zone), st.datetimes(), ZONES),
)
RECORDS = st.lists(st.dictionaries(st.text(max_size=6), VALUES, max_size=6), max_size=5)


def encoded_value_by_value(records: list[dict[str, Any]]) -> bytes:
    parts = ["{" + ",".join(f"{json.dumps(k)}:{encode_value(v)}" for k, v in record.items()) + "}"
             for record in records]
    return ("[" + ",".join(parts) + "]").encode("ascii")


def read_back(body: bytes) -> Any:
    # Pairs keep the key order; Decimals compare numbers, not their spelling (1e-7 and 1e-07).
    return json.loads(body, object_pairs_hook=list, parse_float=Decimal)


@settings(max_examples=300, deadline=None)
@given(RECORDS)
def test_records_are_encoded_to_json_that_reads_as_encode_value_writes(records: list[dict[str, Any]]) -> None:
    assert read_back(encode_records(records)) == read_back(encoded_value_by_value(records))


def test_datetimes_are_written_as_isoformat_even_with_offsets_in_seconds() -> None:
    # orjson's own datetime format would round this offset to +00:01.
    moment = datetime(2024, 1, 1, tzinfo=timezone(timedelta(seconds=30)))
    naive = datetime(2024, 1, 1, 1, 2, 3, 4500)
    assert encode_records([{"_timestamp": moment, "at": naive, "day": date(2024, 1, 2)}]) == (
        b'[{"_timestamp":"2024-01-01T00:00:00+00:00:30","at":"2024-01-01T01:02:03.004500+00:00",'
        b'"day":"2024-01-02"}]'
    )


def test_what_orjson_refuses_is_encoded_by_the_stdlib() -> None:
    assert encode_records([{"n": 2**70, "s": "\ud800é"}]) == b'[{"n":1180591620717411303424,"s":"\\ud800\\u00e9"}]'


def test_a_chunk_with_a_decimal_keeps_its_digits() -> None:
    chunk = [{"_timestamp": datetime(2024, 1, 1, tzinfo=UTC), "rate": Decimal("12.50")}, {"n": 1}]
    assert encode_records(chunk) == b'[{"_timestamp":"2024-01-01T00:00:00+00:00","rate":12.50},{"n":1}]'


CANDIDATE_KEYS = st.sampled_from(["_timestamp", "_id", "_start_at", "_other", "ok_key", "Upper", "1bad", "a", "visits",
                                  "with space", "fine_2"])
CANDIDATE_VALUES = st.one_of(
    VALUES, st.sampled_from(["", " ", "has space", "2024-01-01T00:00:00+00:00", "not a date", "a\u00a0b"]),
    st.just(float("inf")), st.just(float("nan")), st.just(1e300), st.just([1]), st.just({"a": 1}),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1]),
    st.builds(lambda moment: moment.replace(tzinfo=timezone(timedelta(seconds=30))), st.datetimes()),
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(CANDIDATE_KEYS, CANDIDATE_VALUES, max_size=6), st.sampled_from([None, "journey", "monitoring"]))
def test_the_validators_glance_passes_only_records_backdrop_accepts(record: dict[str, Any], data_type: str) -> None:
    found = find_problems([record], data_type=data_type)
    problem = record_problem(record, data_type)
    assert (found == []) == (problem is None)
    if problem is not None:
        assert (found[0].key, found[0].message) == problem


GOOD_RECORD = {"_timestamp": datetime(2024, 1, 1, tzinfo=UTC), "_id": "aWQtMQ==", "visits": 1, "page": "/a"}


@settings(max_examples=500, deadline=None)
@given(st.lists(st.dictionaries(CANDIDATE_KEYS, CANDIDATE_VALUES, max_size=2), min_size=1, max_size=6))
def test_a_chunk_is_found_invalid_exactly_where_its_records_are(changes: list[dict[str, Any]]) -> None:
    # Mostly good records, each changed in a key or two: the chunk's glance passes them all or
    # none, and the problems are the records' own, numbered as in the whole push. Changes of
    # values only keep the records' keys in one order, which the glance reads column by column.
    records = [{**GOOD_RECORD, **change} for change in changes]
    expected = [(7 + index, *problem) for index, record in enumerate(records) if (problem := record_problem(record))]
    assert [(found.index, found.key, found.message) for found in find_problems(records, 7)] == expected


# GA numbers -----------------------------------------------------------------------------------------


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_digits_read_as_int_reads_them(digits: str) -> None:
    assert ga_number(digits) == int(digits) and type(ga_number(digits)) is int


@pytest.mark.parametrize(("raw", "expected"), [("12", 12), ("-3", -3), ("1.5", 1.5), ("1e3", 1000.0), (" 7", 7)])
def test_other_numbers_still_read_as_the_original_read_them(raw: str, expected: float) -> None:
    assert ga_number(raw) == expected and not math.isnan(ga_number(raw))


BOUNCE_RATE = Field("bounceRate", "bounceRate", METRIC, scale=100)
DECIMAL_TEXTS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["0.4495", "1", "0", "-0", "1E+2", "1e-05", "0.1234567890123456789", " 7 ", "1_000", "abc", ""]),
)


@given(DECIMAL_TEXTS)
def test_a_scaled_ga4_value_is_what_its_scaled_text_would_read_as(text: str) -> None:
    # What the GA4 source did before reading values as numbers once: scale as a decimal, write
    # the result out as text, read that text as the original read metric text.
    def through_text() -> Any:
        try:
            scaled = str(Decimal(text) * BOUNCE_RATE.scale)
        except ArithmeticError:
            scaled = text
        return ga_number(scaled)

    def number(read: Any) -> tuple[str, Any]:
        try:
            value = read()
        except CollectorError as error:
            return "error", str(error)
        return "ok", (type(value), repr(value))

    assert number(lambda: scaled_number(BOUNCE_RATE, text)) == number(through_text)


# GA4 pages ----------------------------------------------------------------------------------------

GA4_QUERY = ReportQuery.of(
    GaQuery.from_config({"id": "properties/1", "metrics": ["sessions", "users"], "dimensions": ["date", "browser"]},
                        source="q"),
    source="q",
)
GA4_RANGE = DateRange(date(2024, 1, 1), date(2024, 1, 1))
CELL_VALUES = st.one_of(
    st.text(alphabet="0123456789", min_size=1, max_size=12),
    st.sampled_from(["1.5", "1e3", "-3", " 7", "٣", "²", "abc", "", "20240101"]),
    st.integers(-5, 5),
    st.none(),
)


@st.composite
def ga4_rows(draw: st.DrawFn) -> list[Any]:
    def cell() -> dict[str, Any]:
        # GA4 leaves out an empty value; a row of anything else is read as the general code reads it.
        return {} if draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()) else {"value": draw(
            st.text(alphabet="0123456789", min_size=1, max_size=6) if draw(st.booleans()) else CELL_VALUES)}

    return [{"dimensionValues": [cell() for _ in range(2)], "metricValues": [cell() for _ in range(2)]}
            for _ in range(draw(st.integers(0, 6)))]


def ga4_page(rows: list[Any]) -> dict[str, Any]:
    return {"dimensionHeaders": [{"name": "date"}, {"name": "browser"}],
            "metricHeaders": [{"name": "sessions"}, {"name": "totalUsers"}], "rows": rows}


@given(ga4_rows())
def test_a_ga4_page_is_read_as_each_value_read_once_from_its_text(rows: list[Any]) -> None:
    # The rule the general code applies to every page: each value as text (str() of what JSON
    # gave, "" when left out), metrics read as the original read metric text.
    def by_the_rule() -> list[Any]:
        return [(GA4_RANGE.start, GA4_RANGE.end, [str(cell.get("value", "")) for cell in row["dimensionValues"]],
                 [ga_number(str(cell.get("value", ""))) for cell in row["metricValues"]]) for row in rows]

    def read() -> list[Any]:
        return page_from_response(ga4_page(rows), GA4_QUERY, [GA4_RANGE]).values

    def typed(function: Any) -> tuple[str, Any]:
        try:
            return "ok", [(*values[:3], [(type(n), n) for n in values[3]]) for values in function()]
        except CollectorError as error:
            return "error", str(error)

    assert typed(read) == typed(by_the_rule)
