"""`ga.trending`, `ga.realtime` and `ga.contrib.content.table` with GA4 properties, through
`pp-collector`, against the Data API, OAuth and Backdrop stand-ins over real HTTP: what only the Data
API is sent (two named weeks, `minuteRanges`, filter expressions, the metadata check) and what only a
GA4 property refuses. What both sources do, records included, is in `../test_realtime.py`,
`../test_trending.py` and `../contrib/content/test_table.py`."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from tests.support.google import GA4_PROPERTY, Ga4Collector, GaCollector

# ga.trending --------------------------------------------------------------------------------------

TRENDING = {"id": GA4_PROPERTY, "metric": "pageviews", "dimensions": ["pageTitle", "pagePath"],
            "filters": ["pagePath!~^/$"]}
WEEK1 = {"start_date": "2014-01-29", "end_date": "2014-02-04"}
WEEK2 = {"start_date": "2014-02-05", "end_date": "2014-02-11"}


def page(title: str, path: str, views: int) -> dict:
    return {"pageTitle": title, "pagePathPlusQueryString": path, "screenPageViews": views}


@freeze_time("2014-02-12 01:00:00")
def test_trending_asks_for_two_named_weeks(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([page("foo", "/foo", 900)], **WEEK1)
    # The home page is left out by the query's filter, which GA4 applies.
    ga4_collector.api.add_rows([page("foo", "/foo", 1200), page("/", "/", 5000)], **WEEK2)

    result = ga4_collector.run("ga.trending", TRENDING)

    assert result.exit_code == 0, result.stderr
    (body,) = ga4_collector.bodies()
    assert body["dateRanges"] == [
        {"startDate": "2014-01-29", "endDate": "2014-02-04", "name": "week1"},
        {"startDate": "2014-02-05", "endDate": "2014-02-11", "name": "week2"},
    ]
    assert body["metrics"] == [{"name": "screenPageViews"}]
    assert body["dimensions"] == [{"name": "pageTitle"}, {"name": "pagePathPlusQueryString"}]
    assert body["dimensionFilter"] == {"notExpression": {"filter": {
        "fieldName": "pagePathPlusQueryString",
        "stringFilter": {"matchType": "PARTIAL_REGEXP", "value": "^/$", "caseSensitive": False}}}}
    assert [(r["pageTitle"], r["week1"], r["week2"]) for r in ga4_collector.records()] == [("foo", 900, 1200)]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({**TRENDING, "segment": "gaid::-1"}, "key 'query.segment'"),
        ({**TRENDING, "metric": "uniquePageviews"}, "key 'query.metrics': 'uniquePageviews' has no GA4 equivalent"),
        ({**TRENDING, "dimensions": ["pageTitle"]}, "key 'query.dimensions': expected a list including"),
    ],
)
def test_trending_refusals(ga4_collector: Ga4Collector, query: dict, problem: str) -> None:
    for flags in ((), ("--check",)):
        result = ga4_collector.run("ga.trending", query, {}, *flags)

        assert result.exit_code == 2
        assert problem in result.stderr
    assert ga4_collector.api.requests == [] and ga4_collector.backdrop.requests == []


# ga.realtime --------------------------------------------------------------------------------------

REALTIME = {"ids": GA4_PROPERTY, "metrics": "ga:activeVisitors"}


def test_realtime_asks_for_active_users_of_the_last_five_minutes(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.realtime_rows = [{"activeUsers": "20459"}]

    result = ga4_collector.run("ga.realtime", REALTIME)

    assert result.exit_code == 0, result.stderr
    (request,) = ga4_collector.api.realtime_requests()
    assert request.path == "/v1beta/properties/123456789:runRealtimeReport"
    assert request.json() == {"metrics": [{"name": "activeUsers"}],
                              "minuteRanges": [{"startMinutesAgo": 4, "endMinutesAgo": 0}],
                              "returnPropertyQuota": True}


@freeze_time("2014-04-07 10:20:57")
def test_realtime_filters_on_fields_ga4_has(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.realtime_rows = [{"activeUsers": "7", "deviceCategory": "mobile"},
                                       {"activeUsers": "3", "deviceCategory": "desktop"}]
    query = {"ids": GA4_PROPERTY, "metrics": "rt:activeUsers", "filters": "rt:deviceCategory==mobile"}

    result = ga4_collector.run("ga.realtime", query)

    assert result.exit_code == 0, result.stderr
    (request,) = ga4_collector.api.realtime_requests()
    assert request.json()["dimensionFilter"] == {"filter": {"fieldName": "deviceCategory", "stringFilter": {
        "matchType": "EXACT", "value": "mobile", "caseSensitive": False}}}
    (record,) = ga4_collector.records()
    assert (record["unique_visitors"], record["for_url"]) == (7, "rt:deviceCategory==mobile")


@pytest.mark.parametrize(
    ("query", "flags", "exit_code", "message"),
    [
        ({**REALTIME, "filters": "ga:pagePath=~^/make-a-sorn$"}, (), 2,
         "key 'query.filters': 'ga:pagePath' has no GA4 equivalent: GA4's Realtime API has no page path"),
        ({**REALTIME, "dimensions": "rt:deviceCategory"}, (), 2, "key 'query.dimensions': not accepted"),
        ({**REALTIME, "metrics": "rt:activeUsers,rt:pageviews"}, (), 2, "key 'query.metrics': expected one metric"),
        ({**REALTIME, "metrics": "ga:sessions"}, (), 2, "'ga:sessions' is neither a metric of GA4's Realtime API"),
    ],
)
def test_realtime_refusals_come_before_any_request(
    ga4_collector: Ga4Collector, query: dict, flags: tuple, exit_code: int, message: str
) -> None:
    result = ga4_collector.run("ga.realtime", query, {}, *flags)

    assert result.exit_code == exit_code
    assert message in result.stderr
    checked = ga4_collector.run("ga.realtime", query, {}, "--check", *flags)
    assert checked.exit_code == 2 and message in checked.stderr
    assert ga4_collector.api.requests == [] and ga4_collector.backdrop.requests == []


# ga.contrib.content.table -------------------------------------------------------------------------

TABLE = {"id": GA4_PROPERTY, "metrics": ["pageviews"], "dimensions": ["pageTitle"],
         "filters": ["pagePath=~^/government/news"], "sort": ["-pageviews"], "maxResults": 10}
TABLE_OPTIONS = {
    "filtersets": [["customEvent:organisation=~^<D1>"], ["customEvent:organisation=~^<EA570>", "pageTitle!~^Home"]],
    "additionalFields": {"website": "govuk"},
    "plugins": ["ComputeRank('rank')", "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'department', 'rank')"],
}
WEEK = ("-s", "2014-10-13", "-e", "2014-10-19")


def news(title: str, views: int, organisation: str) -> dict:
    return {"pageTitle": title, "screenPageViews": views, "pagePathPlusQueryString": "/government/news/x",
            "customEvent:organisation": organisation}


def test_content_table_one_query_per_filterset(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.define(GA4_PROPERTY, custom_dimensions=["customEvent:organisation"])
    ga4_collector.api.add_rows([news("News B", 10, "<D1>"), news("News A", 30, "<D1>"), news("MOT", 99, "<EA570>"),
                                news("Home", 500, "<EA570>")])

    result = ga4_collector.run("ga.contrib.content.table", TABLE, TABLE_OPTIONS, *WEEK)

    assert result.exit_code == 0, result.stderr
    # The custom dimension is checked against the property once, before the departments' reports.
    assert ga4_collector.api.requests[0].path == f"/v1beta/{GA4_PROPERTY}/metadata"
    assert len(ga4_collector.api.metadata_requests()) == 1
    bodies = ga4_collector.bodies()
    assert len(bodies) == 2
    assert [len(body["dimensionFilter"]["andGroup"]["expressions"]) for body in bodies] == [2, 3]
    assert bodies[1]["dimensionFilter"]["andGroup"]["expressions"][1] == {"filter": {
        "fieldName": "customEvent:organisation",
        "stringFilter": {"matchType": "PARTIAL_REGEXP", "value": "^<EA570>", "caseSensitive": False}}}
    assert [r["pageTitle"] for r in ga4_collector.records()] == ["News A", "News B", "MOT"]


def test_content_table_with_a_ua_custom_dimension_is_refused(ga4_collector: Ga4Collector) -> None:
    options = {**TABLE_OPTIONS, "filtersets": [["dimension9=~^<D1>"]]}

    for flags in (WEEK, ("--check",)):
        result = ga4_collector.run("ga.contrib.content.table", TABLE, options, *flags)

        assert result.exit_code == 2
        assert "key 'query.filters': 'ga:dimension9' has no GA4 equivalent: UA custom dimensions and metrics are " \
               "numbered; GA4's are named" in result.stderr
    assert ga4_collector.api.requests == []


def test_content_table_check_reports_filterset_problems(ga4_collector: Ga4Collector) -> None:
    options = {**TABLE_OPTIONS, "filtersets": [["customEvent:organisation==<D1>"]]}

    result = ga4_collector.run("ga.contrib.content.table", {**TABLE, "segment": "gaid::-1"}, options, "--check")

    assert result.exit_code == 2
    assert "names no department" in result.stderr
    assert "key 'query.segment'" in result.stderr


def test_a_v3_query_still_goes_to_core_reporting(ga_collector: GaCollector, ga4_collector: Ga4Collector) -> None:
    # The same entrypoints serve both: only `properties/<n>` ids reach the Data API.
    ga_collector.ga.add_core_rows([["News A", "30"]])

    result = ga_collector.run("ga.contrib.content.table", {**TABLE, "id": "ga:74473500"},
                              {**TABLE_OPTIONS, "filtersets": [["dimension9=~^<D1>"]]}, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert len(ga_collector.ga.core_requests()) == 1 and ga4_collector.api.requests == []
