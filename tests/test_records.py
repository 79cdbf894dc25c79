"""The record builder: the original's vectors (§11 items 10-18), generated Python 2 records, and
the errors that replace its crashes."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest

from performanceplatform.collector.errors import CollectorError, ConfigurationError, PluginError
from performanceplatform.collector.ga.rows import convert_duration, ga_fields, ga_number, gapy_dimensions
from performanceplatform.collector.py2compat import py2_dict_order
from performanceplatform.collector.records import Row, apply_options, build_records, period_start
from tests.vectors import decode, load_vectors


def ga_metric_fields(metrics, time_span):
    """A GA row's fields from the metric texts Google sent: read as numbers (as a source reads
    them), then made fields (as the rows are)."""
    return ga_fields({name: ga_number(raw) for name, raw in metrics.items()}, time_span)


def convert_metric(name, raw):
    """A metric text as the original stored it."""
    return convert_duration(name, ga_number(raw))


def ga_row(start, dimensions, metrics, time_span="week"):
    names = list(dimensions)
    return Row(
        start,
        gapy_dimensions(names, [dimensions[name] for name in names]),
        ga_metric_fields(metrics, time_span),
    )


# --- §11 item 10: the end-to-end GA vector -----------------------------------------------


def test_end_to_end_ga_records_match_the_original():
    rows = [
        ga_row(date(2014, 10, 13), {"browser": "UC Browser", "browserVersion": version},
               {"visitors": "14"})
        for version in ("9.4.1.482", "9.7.6.428")
    ]
    options = {
        "additionalFields": {"department": "driver-and-vehicle-standards-agency"},
        "plugins": [
            "Comment('department computed from filtersets by collect-content-dashboard-table.py')",
            "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'department', 'browser', "
            "'browserVersion')",
        ],
    }
    first, second = build_records(rows, options, "browsers")
    assert first == {
        "_timestamp": datetime(2014, 10, 13, tzinfo=UTC),
        "dataType": "browsers",
        "timeSpan": "week",
        "visitors": 14,
        "department": "driver-and-vehicle-standards-agency",
        "browser": "UC Browser",
        "browserVersion": "9.4.1.482",
        "humanId": "20141013000000_week_browsers_driver-and-vehicle-standards-agency_"
        "UC Browser_9.4.1.482",
        "_id": "MjAxNDEwMTMwMDAwMDBfd2Vla19icm93c2Vyc19kcml2ZXItYW5kLXZlaGljbGUtc3RhbmRhcmRz"
        "LWFnZW5jeV9VQyBCcm93c2VyXzkuNC4xLjQ4Mg==",
    }
    assert type(first["visitors"]) is int
    assert first["_timestamp"].utcoffset().total_seconds() == 0
    assert second["_id"] == (
        "MjAxNDEwMTMwMDAwMDBfd2Vla19icm93c2Vyc19kcml2ZXItYW5kLXZlaGljbGUtc3RhbmRhcmRz"
        "LWFnZW5jeV9VQyBCcm93c2VyXzkuNy42LjQyOA=="
    )


def test_default_id_lists_dimensions_in_python_2_order():
    # §2.5: "a weekly browsers query on 2014-10-13 with UC Browser/9.4.1.482".
    row = ga_row(date(2014, 10, 13), {"browser": "UC Browser", "browserVersion": "9.4.1.482"},
                 {"visitors": "14"})
    (record,) = build_records([row], {}, "browsers")
    assert record["humanId"] == "browsers_20141013000000_week_9.4.1.482_UC Browser"


@pytest.mark.parametrize(
    ("dimensions", "expected_tail"),
    [
        ({"date": "20130402", "browser": "Chrome"}, "20130402_2013-04-02 00:00:00_Chrome"),
        ({"date": "20130402", "hour": "07"}, "20130402_07_2013-04-02 07:00:00"),
        ({"customVarValue9": "<D1>", "pagePath": "/a"}, "/a_<D1>"),
        ({"pagePath": "/a", "pageTitle": "A"}, "A_/a"),
        ({"eventCategory": "c", "eventAction": "a", "eventLabel": "l"}, "l_c_a"),
        ({"month": "04", "year": "2013"}, "2013_04"),
    ],
)
def test_default_id_follows_the_reference_order_table(dimensions, expected_tail):
    (record,) = build_records([ga_row(date(2013, 4, 1), dimensions, {"visits": "1"})], {}, "t")
    assert record["humanId"] == f"t_20130401000000_week_{expected_tail}"


# --- §11 items 11-13: ids ------------------------------------------------------------------


def test_default_id_vector():
    row = Row(date(2013, 4, 1), {"date": "2013-04-02"}, ga_metric_fields({"visits": "12345"}, "week"))
    (record,) = build_records([row], {}, "weeklyvisits")
    assert record["humanId"] == "weeklyvisits_20130401000000_week_2013-04-02"
    assert record["_id"] == "d2Vla2x5dmlzaXRzXzIwMTMwNDAxMDAwMDAwX3dlZWtfMjAxMy0wNC0wMg=="
    assert record["date"] == "2013-04-02"
    assert record["visits"] == 12345


def test_default_id_with_a_time_of_day_and_unicode_values():
    def human(version):
        row = Row(
            datetime(2012, 1, 1, 12, tzinfo=UTC),
            {"browser": version, "browserVersion": "one"},  # Python 2 puts browserVersion first
            {"timeSpan": "week"},
        )
        return build_records([row], {}, "a")[0]

    assert human("two")["humanId"] == "a_20120101120000_week_one_two"
    assert human("two")["_id"] == "YV8yMDEyMDEwMTEyMDAwMF93ZWVrX29uZV90d28="
    assert human("\u00a9 \u262f \u262e")["_id"] == (
        "YV8yMDEyMDEwMTEyMDAwMF93ZWVrX29uZV_CqSDimK8g4piu"
    )


def test_id_mapping_concatenates_with_no_separator():
    row = Row(date(2014, 2, 19), {"var": "f"}, {"some_metric": 123})
    (record,) = build_records([row], {"idMapping": ["var", "dataType"]}, "oo")
    assert record["_id"] == "Zm9v"
    assert record["humanId"] == "foo"


def test_id_mapping_reaches_additional_fields_and_may_be_a_string():
    row = Row(date(2014, 2, 19), {}, {"some_metric": 123})
    options = {"idMapping": "idVar", "additionalFields": {"idVar": "foo"}}
    assert build_records([row], options, "data_type")[0]["_id"] == "Zm9v"


def test_id_mapping_of_non_ascii_values():
    row = Row(date(2014, 2, 19), {"a": "1\u0601", "b": "2"}, {"some_metric": "123"})
    assert build_records([row], {"idMapping": ["a", "b"]}, "data_type")[0]["_id"] == "MdiBMg=="


def test_id_mapping_renders_values_as_python_2_did_and_missing_keys_as_empty():
    row = Row(date(2014, 10, 30), {}, {"rate": 0.1 + 0.2, "flag": True})
    options = {"idMapping": ["_timestamp", "rate", "absent", "flag", "nothing"]}
    (record,) = build_records([row], options, "t")
    assert record["humanId"] == "2014-10-30 00:00:00+00:000.3True"


def test_an_id_mapping_of_absent_keys_is_a_configuration_error_not_an_empty_id():
    row = Row(date(2014, 2, 19), {"a": "x"}, {})
    with pytest.raises(ConfigurationError, match=r"idMapping \['date'\].*empty _id"):
        build_records([row], {"idMapping": ["date"]}, "t")


def test_an_id_mapping_of_empty_values_is_an_error_too():
    row = Row(date(2014, 2, 19), {"a": ""}, {})
    with pytest.raises(CollectorError, match="empty _id"):
        build_records([row], {"idMapping": "a"}, "t")


@pytest.mark.parametrize("bad", [[], [1], {"a": 1}, 7])
def test_a_malformed_id_mapping_is_refused(bad):
    with pytest.raises(ConfigurationError, match="idMapping"):
        build_records([], {"idMapping": bad}, "t")


# --- §11 item 14: mappings -----------------------------------------------------------------


def test_mappings_rename_dimensions_metrics_and_time_span():
    options = {"mappings": {"visits": "count", "customVarValue1": "name", "timeSpan": "period"}}
    row = ga_row(date(2013, 4, 1), {"customVarValue1": "Jane"}, {"visits": "12345"})
    (record,) = build_records([row], options, "people")
    assert record["count"] == 12345
    assert record["name"] == "Jane"
    assert record["period"] == "week"
    assert {"visits", "customVarValue1", "timeSpan"}.isdisjoint(record)
    # The id reads timeSpan after mapping, so the renamed one drops out, as it did.
    assert record["humanId"] == "people_20130401000000_Jane"


def test_multi_value_mappings_split_on_colons():
    options = {
        "mappings": {
            "multiValuesField": "originalField",
            "multiValuesField_0": "first",
            "multiValuesField_1": "second",
            "multiValuesField_2": "third",
        }
    }
    row = ga_row(
        date(2013, 4, 1),
        {"multiValuesField": "first value:second value:third value"},
        {"visits": "12345"},
    )
    (record,) = build_records([row], options, "multival")
    assert record["originalField"] == "first value:second value:third value"
    assert (record["first"], record["second"], record["third"]) == (
        "first value",
        "second value",
        "third value",
    )


def test_multi_value_mappings_skip_what_is_not_there():
    options = {
        "mappings": {
            "key_0_not_really": "no_a_multi_key",
            "key_0": "one",
            "key_1": "two",
            "key_2": "not_in_value",
            "no_key_0": "dont_exist",
        }
    }
    (record,) = build_records([Row(date(2013, 4, 1), {"key": "foo:bar"})], options, "t")
    assert (record["one"], record["two"]) == ("foo", "bar")
    assert {"no_a_multi_key", "not_in_value", "dont_exist"}.isdisjoint(record)


def test_a_split_value_wins_over_a_rename_to_the_same_name():
    options = {"mappings": {"a": "target", "b_1": "target"}}
    row = Row(date(2013, 4, 1), {"a": "renamed", "b": "x:split"})
    assert build_records([row], options, "t")[0]["target"] == "split"


def test_a_mapping_key_ending_in_a_bare_underscore_is_a_clear_configuration_error():
    with pytest.raises(ConfigurationError, match=r"'eventLabel_' ends in '_' with no index"):
        build_records([Row(date(2013, 4, 1), {"eventLabel": "a:b"})],
                      {"mappings": {"eventLabel_": "x"}}, "t")


def test_splitting_a_number_is_a_clear_configuration_error():
    row = Row(date(2013, 4, 1), {}, {"visits": 3})
    with pytest.raises(ConfigurationError, match=r"'visits_0' splits 'visits'.*record 0"):
        build_records([row], {"mappings": {"visits_0": "x"}}, "t")


def test_a_mapping_to_something_other_than_a_name_is_refused():
    with pytest.raises(ConfigurationError, match="mappings"):
        build_records([], {"mappings": {"eventLabel": ["a", "b"]}}, "t")


# --- §2.5 assembly -------------------------------------------------------------------------


def test_later_sources_win_the_merge():
    options = {"additionalFields": {"dataType": "from-options", "browser": "from-options"}}
    row = Row(date(2013, 4, 1), {"browser": "Chrome", "visits": "dimension"}, {"visits": 3})
    (record,) = build_records([row], options, "t")
    assert record["dataType"] == "from-options"  # additionalFields over the data type
    assert record["browser"] == "Chrome"  # dimensions over additionalFields
    assert record["visits"] == 3  # metrics over dimensions


def test_data_type_comes_from_the_data_set_unless_options_override_it():
    row = Row(date(2013, 4, 1))
    assert build_records([row], {}, "original")[0]["dataType"] == "original"
    assert build_records([row], {"dataType": "overriden"}, "original")[0]["dataType"] == (
        "overriden"
    )


def test_a_missing_data_type_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="data type"):
        build_records([Row(date(2013, 4, 1))], {}, None)


@pytest.mark.parametrize(("time_span", "expected"), [("day", "day"), ("month", "month")])
def test_time_span_is_a_field(time_span, expected):
    row = ga_row(date(2013, 4, 1), {"date": "20130402"}, {"visits": "1"}, time_span=time_span)
    (record,) = build_records([row], {}, "test")
    assert record["timeSpan"] == expected
    assert record["humanId"].startswith(f"test_20130401000000_{expected}_")


def test_timestamp_is_midnight_utc_of_the_period_start():
    assert period_start(date(2013, 4, 1)) == datetime(2013, 4, 1, tzinfo=UTC)
    assert period_start(datetime(2013, 4, 1, 10)) == datetime(2013, 4, 1, 10, tzinfo=UTC)
    assert period_start(date(2013, 4, 1)).tzinfo is not None


def test_rows_without_dimensions_or_fields():
    (record,) = build_records([Row(date(2013, 4, 1))], None, "t")
    assert record["humanId"] == "t_20130401000000"


def test_nothing_the_caller_passed_is_modified():
    options = {
        "additionalFields": {"department": "x"},
        "mappings": {"browser": "b"},
        "idMapping": ["b"],
        "plugins": ["ComputeRank('rank')", "RemoveKey('department')"],
    }
    dimensions = {"browser": "Chrome"}
    before = copy.deepcopy(options)
    records = build_records([Row(date(2013, 4, 1), dimensions)], options, "t")
    assert options == before
    assert dimensions == {"browser": "Chrome"}
    assert records[0]["rank"] == 1 and "department" not in records[0]


def test_a_row_is_frozen():
    row = Row(date(2013, 4, 1), {"a": "b"})
    with pytest.raises(TypeError):
        row.dimensions["a"] = "c"  # type: ignore[index]


def test_plugins_are_read_before_any_record_is_built():
    with pytest.raises(PluginError, match="Nope"):
        build_records([Row(date(2013, 4, 1))], {"plugins": ["Nope()"]}, "t")


def test_remove_key_then_compute_id_from():
    # §11 item 18.
    row = Row(
        date(2013, 4, 1),
        {"date": "2013-04-02", "customVarValue9": "foo"},
        ga_metric_fields({"visits": "12345"}, "week"),
    )
    options = {"plugins": ['RemoveKey("customVarValue9")', 'ComputeIdFrom("date")']}
    (record,) = build_records([row], options, "test")
    assert "customVarValue9" not in record
    assert record["humanId"] == "2013-04-02"


def test_ids_computed_before_the_plugins_stand_without_compute_id_from():
    row = Row(date(2013, 4, 1), {"a": "x"})
    (plain,) = build_records([row], {}, "t")
    (ranked,) = build_records([row], {"plugins": ["ComputeRank('rank')"]}, "t")
    assert ranked["_id"] == plain["_id"] and ranked["rank"] == 1


# --- generated Python 2 records --------------------------------------------------------------


def _vector_inputs(case):
    options = {}
    for key, value in case["options"]:
        options[key] = dict(value) if key in ("additionalFields", "mappings") else value
    rows = [
        Row(
            date(*row["start_date"]),
            gapy_dimensions([n for n, _ in row["dimensions"]], [v for _, v in row["dimensions"]]),
            ga_metric_fields(dict(row["metrics"]), case["time_span"]),
        )
        for row in case["rows"]
    ]
    return rows, options


def test_records_match_those_python_2_built():
    cases = load_vectors()["records"]
    assert len(cases) > 100
    for case in cases:
        rows, options = _vector_inputs(case)
        records = build_records(rows, options, case["data_type"])
        expected = [{key: decode(value) for key, value in pairs} for pairs in case["records"]]
        assert records == expected, case
        for record, pairs in zip(records, case["records"], strict=True):
            # Same types too (12 and 12.0 are equal): a float id renders differently.
            for key, value in pairs:
                assert type(record[key]) is type(decode(value)), (key, case)
            # The key order each record keeps is its Python 2 insertion history.
            assert py2_dict_order(record) == [key for key, _ in pairs]


def test_the_record_vectors_cover_collisions_and_id_mappings():
    cases = load_vectors()["records"]
    with_id_mapping = [c for c in cases if any(k == "idMapping" for k, _ in c["options"])]
    with_split = [
        c for c in cases
        for k, v in c["options"] if k == "mappings" and any(s[-1:].isdigit() for s, _ in v)
    ]
    assert len(with_id_mapping) > 20 and len(with_split) > 10
    collisions = 0
    for case in cases:
        rows, options = _vector_inputs(case)
        mappings = options.get("mappings", {})
        keys = {"_timestamp", "dataType", *options.get("additionalFields", {})}
        for row in rows:
            keys |= {*row.dimensions, *row.fields}
        targets = [mappings.get(key, key) for key in keys]
        collisions += len(targets) != len(set(targets))
    assert collisions >= 3  # two fields renamed to one name: Python 2 order picks the winner


# --- GA conversions (§11 item 15) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "kind"),
    [("2313.13", 2313.13, float), ("12345", 12345, int), ("23.4", 23.4, float),
     (400.0, 400, int), (" 7 ", 7, int), ("1e3", 1000.0, float)],
)
def test_ga_number_tries_int_then_float(raw, expected, kind):
    value = ga_number(raw)
    assert value == expected and type(value) is kind


@pytest.mark.parametrize("raw", [None, "abc", "1_000", [], float("inf")])
def test_ga_number_refuses_what_is_not_a_number(raw):
    with pytest.raises(CollectorError, match="not a number"):
        ga_number(raw)


@pytest.mark.parametrize(
    ("raw", "expected", "kind"),
    [(400.0, 400000, int), ("400.0", 400000.0, float), (1234, 1234000, int), ("0", 0, int)],
)
def test_avg_session_duration_becomes_milliseconds(raw, expected, kind):
    value = convert_metric("avgSessionDuration", raw)
    assert value == expected and type(value) is kind


def test_only_the_exact_avg_session_duration_key_is_converted():
    assert convert_metric("ga:avgSessionDuration", "400") == 400
    assert convert_metric("uniquePageviews", 400) == 400
    assert convert_duration("avgSessionDuration", None) is None


def test_gapy_dimensions_add_a_naive_datetime_for_date():
    assert gapy_dimensions(["date"], ["20130401"])["datetime"] == datetime(2013, 4, 1)
    with_hour = gapy_dimensions(["hour", "date"], ["07", "20130401"])
    assert with_hour["datetime"] == datetime(2013, 4, 1, 7)
    assert list(with_hour) == ["hour", "date", "datetime"]
    assert "datetime" not in gapy_dimensions(["ga:date"], ["20130401"])
    with pytest.raises(CollectorError, match="YYYYMMDD"):
        gapy_dimensions(["date"], ["2013-04-01"])


# --- apply_options (Pingdom) -----------------------------------------------------------------


def test_apply_options_puts_additional_fields_under_the_record_and_runs_plugins():
    records = [{"_id": "a", "check": "name", "uptime": 1}]
    options = {
        "additionalFields": {"check": "ignored", "team": "x"},
        "plugins": ["ComputeIdFrom('team', 'check')"],
    }
    (record,) = apply_options(records, options)
    assert record["check"] == "name" and record["team"] == "x"
    assert record["humanId"] == "x_name"
    assert records == [{"_id": "a", "check": "name", "uptime": 1}]


def test_apply_options_without_options_returns_the_records_unchanged():
    records = [{"_id": "a"}]
    assert apply_options(records, None) == [{"_id": "a"}]
    assert apply_options(records, {}) == [{"_id": "a"}]
