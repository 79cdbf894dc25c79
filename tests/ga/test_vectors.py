"""Reference §11 items 10-21, end to end: the records that reach Backdrop equal the original's.

Each test feeds the GA stand-in the rows the original's test fed its parser, runs `pp-collector`,
and compares what Backdrop stored with the values the original produced (ids included).
"""

from __future__ import annotations

import base64

import pytest

from tests.support.google import GaCollector

WEEK = ("-s", "2014-10-13", "-e", "2014-10-19")


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def test_item_10_end_to_end_with_department_and_compute_id_from(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["UC Browser", "9.4.1.482", "14"], ["UC Browser", "9.7.6.428", "14"]])
    query = {"metrics": ["visitors"], "maxResults": 0, "dimensions": ["browser", "browserVersion"],
             "filters": ["customVarValue9=~^<EA570>"], "id": "ga:74473500"}
    options = {
        "dataType": "browsers",
        "additionalFields": {"department": "driver-and-vehicle-standards-agency"},
        "plugins": [
            "Comment('department computed from filtersets by collect-content-dashboard-table.py')",
            "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'department', 'browser', 'browserVersion')",
        ],
    }

    result = ga_collector.run("ga", query, options, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert ga_collector.records() == [
        {
            "browserVersion": "9.4.1.482", "_timestamp": "2014-10-13T00:00:00+00:00", "timeSpan": "week",
            "dataType": "browsers", "visitors": 14,
            "humanId": "20141013000000_week_browsers_driver-and-vehicle-standards-agency_UC Browser_9.4.1.482",
            "department": "driver-and-vehicle-standards-agency",
            "_id": "MjAxNDEwMTMwMDAwMDBfd2Vla19icm93c2Vyc19kcml2ZXItYW5kLXZlaGljbGUtc3RhbmRhcmRzLWFnZW5jeV9VQyBC"
                   "cm93c2VyXzkuNC4xLjQ4Mg==",
            "browser": "UC Browser",
        },
        {
            "browserVersion": "9.7.6.428", "_timestamp": "2014-10-13T00:00:00+00:00", "timeSpan": "week",
            "dataType": "browsers", "visitors": 14,
            "humanId": "20141013000000_week_browsers_driver-and-vehicle-standards-agency_UC Browser_9.7.6.428",
            "department": "driver-and-vehicle-standards-agency",
            "_id": "MjAxNDEwMTMwMDAwMDBfd2Vla19icm93c2Vyc19kcml2ZXItYW5kLXZlaGljbGUtc3RhbmRhcmRzLWFnZW5jeV9VQyBC"
                   "cm93c2VyXzkuNy42LjQyOA==",
            "browser": "UC Browser",
        },
    ]


def test_item_10_default_id_follows_python_2_dict_order(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["UC Browser", "9.4.1.482", "14"]])
    query = {"id": "ga:1", "metrics": ["visitors"], "dimensions": ["browser", "browserVersion"]}

    assert ga_collector.run("ga", query, {"dataType": "browsers"}, *WEEK).exit_code == 0

    (record,) = ga_collector.records()
    assert record["humanId"] == "browsers_20141013000000_week_9.4.1.482_UC Browser"
    assert record["_id"] == b64("browsers_20141013000000_week_9.4.1.482_UC Browser")


def test_item_11_default_id(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["2013-04-02", "12345"]])
    query = {"id": "ga:1", "metrics": ["visits"], "dimensions": ["customVarValue1"]}

    options = {"dataType": "weeklyvisits"}

    assert ga_collector.run("ga", query, options, "-s", "2013-04-01", "-e", "2013-04-07").exit_code == 0

    (record,) = ga_collector.records()
    assert record["humanId"] == "weeklyvisits_20130401000000_week_2013-04-02"
    assert record["_id"] == "d2Vla2x5dmlzaXRzXzIwMTMwNDAxMDAwMDAwX3dlZWtfMjAxMy0wNC0wMg=="
    assert record["visits"] == 12345


@pytest.mark.parametrize(
    ("values", "id_mapping", "options", "expected"),
    [
        # idMapping values are concatenated, and can reach options' own fields.
        (["f", "1"], ["var", "dataType"], {"dataType": "oo"}, "Zm9v"),
        (["f", "1"], ["var", "extra"], {"additionalFields": {"extra": "oo"}}, "Zm9v"),
        (["1\u0601", "2"], ["var", "visits"], {}, "MdiBMg=="),
    ],
)
def test_item_12_id_mapping(
    ga_collector: GaCollector, values: list[str], id_mapping: list[str], options: dict, expected: str
) -> None:
    ga_collector.ga.add_core_rows([values])
    query = {"id": "ga:1", "metrics": ["visits"], "dimensions": ["var"]}

    assert ga_collector.run("ga", query, {"idMapping": id_mapping, **options}, *WEEK).exit_code == 0

    assert ga_collector.records()[0]["_id"] == expected


def test_item_13_unicode_dimension_values_in_the_default_id(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["\u00a9 \u262f \u262e", "1"]])
    query = {"id": "ga:1", "metrics": ["visits"], "dimensions": ["pageTitle"]}

    result = ga_collector.run("ga", query, {"dataType": "a"}, "-s", "2012-01-02", "-e", "2012-01-08")

    assert result.exit_code == 0, result.stderr

    (record,) = ga_collector.records()
    assert record["humanId"] == "a_20120102000000_week_\u00a9 \u262f \u262e"
    assert record["_id"] == "YV8yMDEyMDEwMjAwMDAwMF93ZWVrX8KpIOKYryDimK4="


def test_item_14_mappings(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["a:b:c", "Chrome", "3"]])
    query = {"id": "ga:1", "metrics": ["visits"], "dimensions": ["field", "browser"]}
    options = {"mappings": {"visits": "count", "browser": "agent", "field_0": "zero", "field_1": "one",
                            "field_2": "two", "field_3": "three", "key_0_not_really": "nothing"}}

    assert ga_collector.run("ga", query, options, *WEEK).exit_code == 0

    (record,) = ga_collector.records()
    assert {k: record.get(k) for k in ("count", "agent", "zero", "one", "two", "field")} == {
        "count": 3, "agent": "Chrome", "zero": "a", "one": "b", "two": "c", "field": "a:b:c",
    }
    assert not {"three", "nothing", "visits", "browser"} & set(record)


def test_item_15_metric_conversion(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["12345", "2313.13", "400.0", "0"]], start_date="2014-10-13")
    ga_collector.ga.add_core_rows([["1", "2", "1234", "0.5"]], start_date="2014-10-20")
    query = {"id": "ga:1", "metrics": ["visits", "rate", "avgSessionDuration", "ga:avgSessionDuration"]}

    # Backdrop refuses keys with a colon, so the prefixed name is renamed to be pushed at all.
    options = {"mappings": {"ga:avgSessionDuration": "prefixed_duration"}}

    assert ga_collector.run("ga", query, options, "-s", "2014-10-13", "-e", "2014-10-26").exit_code == 0

    first, second = ga_collector.records()
    assert (first["visits"], first["rate"], first["avgSessionDuration"]) == (12345, 2313.13, 400000.0)
    assert isinstance(first["visits"], int) and isinstance(first["avgSessionDuration"], float)
    assert (second["avgSessionDuration"], second["rate"]) == (1234000, 2)
    assert isinstance(second["avgSessionDuration"], int)
    # Only the key spelled exactly `avgSessionDuration` is converted to milliseconds.
    assert (first["prefixed_duration"], second["prefixed_duration"]) == (0, 0.5)


@pytest.mark.parametrize(("frequency", "time_span"), [("daily", "day"), ("monthly", "month"), (None, "week")])
def test_item_16_frequency_sets_time_span_and_data_type_can_be_overridden(
    ga_collector: GaCollector, frequency: str | None, time_span: str
) -> None:
    ga_collector.ga.add_core_rows([["foo", "12345"]])
    query = {"id": "ga:123", "metrics": ["visits"], "dimensions": ["customVarValue9"]}
    if frequency:
        query["frequency"] = frequency

    result = ga_collector.run("ga", query, {"dataType": "other"}, "-s", "2013-04-01", "-e", "2013-04-01")

    assert result.exit_code == 0, result.stderr

    record = ga_collector.records()[0]
    assert (record["timeSpan"], record["dataType"]) == (time_span, "other")


def test_item_17_query_arguments(ga_collector: GaCollector) -> None:
    query = {"id": "ga:123", "metrics": ["visits"], "dimensions": ["date"], "filters": ["some-filter"],
             "maxResults": 0, "sort": []}

    assert ga_collector.run("ga", query, {}, "-s", "2013-04-01", "-e", "2013-04-07").exit_code == 0

    (request,) = ga_collector.ga.core_requests()
    assert {name: request.param(name) for name in request.query if name != "alt"} == {
        "ids": "ga:123", "start-date": "2013-04-01", "end-date": "2013-04-07", "metrics": "ga:visits",
        "dimensions": "ga:date", "filters": "ga:some-filter",
    }


def test_item_18_remove_key_then_compute_id_from(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["Chrome", "38", "5"]])
    query = {"id": "ga:1", "metrics": ["visits"], "dimensions": ["browser", "browserVersion"]}
    options = {"plugins": ["RemoveKey('browserVersion')", "ComputeIdFrom('browser', 'visits')"]}

    assert ga_collector.run("ga", query, options, *WEEK).exit_code == 0

    (record,) = ga_collector.records()
    assert "browserVersion" not in record
    assert (record["humanId"], record["_id"]) == ("Chrome_5", b64("Chrome_5"))


def test_item_19_plugins(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["Chrome", "1", "201"], ["Chrome", "2", "103"]])
    query = {"id": "ga:1", "metrics": ["visits"], "dimensions": ["browser", "browserVersion"]}
    options = {"plugins": [
        "RemoveKey('_id', 'humanId', 'browserVersion')",
        "AggregateKey(aggregate_count('visits'))",
        "ComputeRank('rank')",
        "ComputeIdFrom('browser', 'rank')",
    ]}

    assert ga_collector.run("ga", query, options, *WEEK).exit_code == 0

    (record,) = ga_collector.records()
    assert (record["visits"], record["rank"], record["humanId"]) == (304, 1, "Chrome_1")


def test_item_19_aggregate_rate(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["Chrome", "1", "100", "0.25"], ["Chrome", "2", "100", "0.75"]])
    query = {"id": "ga:1", "metrics": ["visits", "rate"], "dimensions": ["browser", "browserVersion"]}
    options = {"plugins": [
        "RemoveKey('_id', 'humanId', 'browserVersion')",
        "AggregateKey(aggregate_count('visits'), aggregate_rate('rate', 'visits'))",
        "ComputeIdFrom('browser')",
    ]}

    assert ga_collector.run("ga", query, options, *WEEK).exit_code == 0

    (record,) = ga_collector.records()
    assert (record["visits"], record["rate"]) == (200, 0.5)


@pytest.mark.parametrize(
    ("filter_", "department"),
    [
        ("customVarValue9=~^<D1>", "attorney-generals-office"),
        ("Organisation=~^<D1>", "attorney-generals-office"),
        ("dimension9=~^<D1><foo>", "attorney-generals-office"),
        ("dimension9=~^<D10><D9>", "department-for-work-pensions"),
        ("dimension9=~^<foo>", "<foo>"),
    ],
)
def test_items_20_and_21_departments_from_filtersets(
    ga_collector: GaCollector, filter_: str, department: str
) -> None:
    ga_collector.ga.add_core_rows([["Home", "10"]])
    query = {"id": "ga:74473500", "metrics": ["pageviews"], "dimensions": ["pageTitle"], "filters": []}
    options = {
        "filtersets": [[filter_]],
        "plugins": ["ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'department')"],
    }

    assert ga_collector.run("ga.contrib.content.table", query, options, *WEEK).exit_code == 0

    (record,) = ga_collector.records()
    assert record["department"] == department
    assert record["humanId"] == f"20141013000000_week_test-type_{department}"


def test_item_21_a_filter_naming_no_department_is_refused(ga_collector: GaCollector) -> None:
    query = {"id": "ga:74473500", "metrics": ["pageviews"], "filters": []}

    options = {"filtersets": [["customVarValue9=<D1>"]]}

    result = ga_collector.run("ga.contrib.content.table", query, options, *WEEK)

    assert result.exit_code == 2
    assert "'customVarValue9=<D1>' names no department" in result.stderr
    assert ga_collector.ga.requests == []
