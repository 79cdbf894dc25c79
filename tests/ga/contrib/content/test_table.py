"""`ga.contrib.content.table` through `pp-collector` (reference §9, §11 items 20-21)."""

from __future__ import annotations

import copy

import pytest

from performanceplatform.collector.ga.contrib.content import table
from performanceplatform.collector.ga.contrib.content.filtersets import combined_filter
from tests.support.google import GaCollector

QUERY = {"id": "ga:74473500", "metrics": ["pageviews", "uniquePageviews"], "dimensions": ["pageTitle"],
         "filters": ["pagePath=~^/government/news"], "sort": ["-uniquePageviews"], "maxResults": 10}
OPTIONS = {
    "filtersets": [["dimension9=~^<D1>"], ["dimension9=~^<EA570>", "pageTitle!~^Home"]],
    "additionalFields": {"website": "govuk"},
    "plugins": [
        "Comment('department computed from filtersets by collect-content-dashboard-table.py')",
        "ComputeRank('rank')",
        "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'department', 'rank')",
    ],
}
WEEK = ("-s", "2014-10-13", "-e", "2014-10-19")
D1_FILTER = "ga:pagePath=~^/government/news;ga:dimension9=~^<D1>"
EA570_FILTER = "ga:pagePath=~^/government/news;ga:dimension9=~^<EA570>;ga:pageTitle!~^Home"


def test_one_query_per_filterset_ranked_within_each_and_pushed_once(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["News A", "30", "20"], ["News B", "10", "5"]], where={"filters": D1_FILTER})
    ga_collector.ga.add_core_rows([["MOT", "99", "90"]], where={"filters": EA570_FILTER})

    result = ga_collector.run("ga.contrib.content.table", QUERY, OPTIONS, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert [r.param("filters") for r in ga_collector.ga.core_requests()] == [D1_FILTER, EA570_FILTER]
    records = ga_collector.records()
    assert [(r["pageTitle"], r["department"], r["rank"], r["website"], r["humanId"]) for r in records] == [
        ("News A", "attorney-generals-office", 1, "govuk",
         "20141013000000_week_test-type_attorney-generals-office_1"),
        ("News B", "attorney-generals-office", 2, "govuk",
         "20141013000000_week_test-type_attorney-generals-office_2"),
        ("MOT", "driver-and-vehicle-standards-agency", 1, "govuk",
         "20141013000000_week_test-type_driver-and-vehicle-standards-agency_1"),
    ]
    assert len(ga_collector.backdrop.requests_to("/data/test-group/test-type", "POST")) == 1


def test_without_the_department_table_codes_pass_through(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["News A", "30", "20"]])

    result = ga_collector.run("ga.contrib.content.table", QUERY, OPTIONS, *WEEK, department_codes=False)

    assert result.exit_code == 0, result.stderr
    assert [r["department"] for r in ga_collector.records()] == ["<D1>", "<EA570>"]


def test_the_callers_query_and_options_are_not_changed(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["News A", "30", "20"]])
    query, options = copy.deepcopy(QUERY), copy.deepcopy(OPTIONS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PP_COLLECTOR_DEPARTMENT_CODES", str(ga_collector.configs.department_codes()))
        table.main(ga_collector.credentials(), ga_collector.data_set_config(), query, options, None, None)

    assert (query, options) == (QUERY, OPTIONS)
    assert {r["department"] for r in ga_collector.records()} == {
        "attorney-generals-office", "driver-and-vehicle-standards-agency"
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "key 'options.filtersets': expected a list of filter lists"),
        ({"filtersets": ["dimension9=~^<D1>"]}, "key 'options.filtersets': expected a list of filter lists"),
        ({"filtersets": [[]]}, "a filterset is empty"),
        ({"filtersets": [["dimension9=~^<D1>"], ["dimension9==<D2>"]]}, "'dimension9==<D2>' names no department"),
    ],
)
def test_filterset_mistakes_are_usage_errors_before_any_request(
    ga_collector: GaCollector, options: dict, message: str
) -> None:
    result = ga_collector.run("ga.contrib.content.table", QUERY, options, *WEEK)

    assert result.exit_code == 2
    assert message in result.stderr
    assert ga_collector.ga.requests == []


def test_combined_filter() -> None:
    assert combined_filter([], ["dimension9=~^<D1>"], source="q") == "dimension9=~^<D1>"
    assert combined_filter(None, ["a==1", "b==2"], source="q") == "a==1;ga:b==2"
    assert combined_filter("ga:a==1", ["ga:b==2"], source="q") == "ga:a==1;ga:b==2"
