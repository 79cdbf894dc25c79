"""`ga.contrib.content.table` through `pp-collector` (reference §9, §11 items 20-21), once per GA
source (Core Reporting v3 for a UA view, the GA4 Data API for a property), with one set of
expectations: each department's request is answered from the same table of pages, and the same
records come out. What only one source sends (v3's `filters` parameters, GA4's filter expressions and
its check of the custom dimension) is in `../../core_reporting/test_entrypoints.py` and
`../../data_api/test_entrypoints.py`.
"""

from __future__ import annotations

import copy

import pytest

from performanceplatform.collector.ga.contrib.content import table
from performanceplatform.collector.ga.contrib.content.filtersets import combined_filter
from tests.support.google import GaSourceRuns

WEEK = ("-s", "2014-10-13", "-e", "2014-10-19")
# The pages the property or view holds: title, path, organisation (the custom dimension the
# filtersets name), page views. "Home" is left out by a filterset, "Old" by the query's filters.
PAGES = [
    ("News B", "/government/news/b", "<D1>", 10),
    ("News A", "/government/news/a", "<D1>", 30),
    ("MOT", "/government/news/mot", "<EA570>", 99),
    ("Home", "/government/news", "<EA570>", 500),
    ("Old", "/guidance/old", "<D1>", 1000),
]


def add_pages(ga_source: GaSourceRuns) -> None:
    ga_source.add_table(("pageTitle", "pagePath", ga_source.organisation, "pageviews"), PAGES)


def news(ga_source: GaSourceRuns) -> dict:
    return ga_source.query(metrics=["pageviews"], dimensions=["pageTitle"], filters=["pagePath=~^/government/news"],
                           sort=["-pageviews"], maxResults=10)


def options(ga_source: GaSourceRuns) -> dict:
    organisation = ga_source.organisation
    return {
        "filtersets": [[f"{organisation}=~^<D1>"], [f"{organisation}=~^<EA570>", "pageTitle!~^Home"]],
        "additionalFields": {"website": "govuk"},
        "plugins": [
            "Comment('department computed from filtersets by collect-content-dashboard-table.py')",
            "ComputeRank('rank')",
            "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'department', 'rank')",
        ],
    }


def test_one_query_per_filterset_ranked_within_each_and_pushed_once(ga_source: GaSourceRuns) -> None:
    add_pages(ga_source)

    result = ga_source.run("ga.contrib.content.table", news(ga_source), options(ga_source), *WEEK)

    assert result.exit_code == 0, result.stderr
    assert len(ga_source.report_requests()) == 2
    records = ga_source.records()
    assert [(r["pageTitle"], r["department"], r["rank"], r["website"], r["humanId"]) for r in records] == [
        ("News A", "attorney-generals-office", 1, "govuk",
         "20141013000000_week_test-type_attorney-generals-office_1"),
        ("News B", "attorney-generals-office", 2, "govuk",
         "20141013000000_week_test-type_attorney-generals-office_2"),
        ("MOT", "driver-and-vehicle-standards-agency", 1, "govuk",
         "20141013000000_week_test-type_driver-and-vehicle-standards-agency_1"),
    ]
    assert len(ga_source.collector.backdrop.requests_to("/data/test-group/test-type", "POST")) == 1


def test_without_the_department_table_codes_pass_through(ga_source: GaSourceRuns) -> None:
    add_pages(ga_source)

    result = ga_source.collector.run("ga.contrib.content.table", news(ga_source), options(ga_source), *WEEK,
                                     department_codes=False)

    assert result.exit_code == 0, result.stderr
    assert [r["department"] for r in ga_source.records()] == ["<D1>", "<D1>", "<EA570>"]


def test_the_callers_query_and_options_are_not_changed(ga_source: GaSourceRuns) -> None:
    add_pages(ga_source)
    written_query, written_options = news(ga_source), options(ga_source)
    query, options_ = copy.deepcopy(written_query), copy.deepcopy(written_options)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PP_COLLECTOR_DEPARTMENT_CODES", str(ga_source.collector.configs.department_codes()))
        table.main(ga_source.credentials(), ga_source.data_set_config(), query, options_, None, None)

    assert (query, options_) == (written_query, written_options)
    assert {r["department"] for r in ga_source.records()} == {
        "attorney-generals-office", "driver-and-vehicle-standards-agency"
    }


@pytest.mark.parametrize(
    ("filtersets", "message"),
    [
        (None, "key 'options.filtersets': expected a list of filter lists"),
        (["{organisation}=~^<D1>"], "key 'options.filtersets': expected a list of filter lists"),
        ([[]], "a filterset is empty"),
        ([["{organisation}=~^<D1>"], ["{organisation}==<D2>"]], "'{organisation}==<D2>' names no department"),
    ],
)
def test_filterset_mistakes_are_usage_errors_before_any_request(
    ga_source: GaSourceRuns, filtersets: list | None, message: str
) -> None:
    def named(value: object) -> object:
        """`value` with the source's name for the organisation dimension."""
        if isinstance(value, list):
            return [named(item) for item in value]
        return value.format(organisation=ga_source.organisation) if isinstance(value, str) else value

    given = {} if filtersets is None else {"filtersets": named(filtersets)}
    result = ga_source.run("ga.contrib.content.table", news(ga_source), given, *WEEK)

    assert result.exit_code == 2
    assert named(message) in result.stderr
    assert ga_source.stand_in.requests == []


def test_combined_filter() -> None:
    assert combined_filter([], ["dimension9=~^<D1>"], source="q") == "dimension9=~^<D1>"
    assert combined_filter(None, ["a==1", "b==2"], source="q") == "a==1;ga:b==2"
    assert combined_filter("ga:a==1", ["ga:b==2"], source="q") == "ga:a==1;ga:b==2"
