"""The GA4 Data API stand-in speaks the Data API's wire format: shapes, paging, filters, errors, quota."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from performanceplatform.collector.standins.google_analytics_data import GoogleAnalyticsDataStandIn, _made_up_rows
from performanceplatform.collector.standins.server import RecordedRequest

AUTH = {"Authorization": "Bearer token"}
WEEK = [{"startDate": "2014-10-13", "endDate": "2014-10-19"}]


def run_report(api: GoogleAnalyticsDataStandIn, body: dict[str, Any], property_: str = "properties/1",
               headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{api.url}/v1beta/{property_}:runReport", json=body,
                         headers=AUTH if headers is None else headers, timeout=5)


def test_answers_in_the_data_api_shape(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.add_rows([{"deviceCategory": "mobile", "sessions": 7}, {"deviceCategory": "desktop"}])

    answer = run_report(ga4_api, {"dateRanges": WEEK, "dimensions": [{"name": "deviceCategory"}],
                                  "metrics": [{"name": "sessions"}], "returnPropertyQuota": True})

    assert answer.status_code == 200
    body = answer.json()
    assert body["dimensionHeaders"] == [{"name": "deviceCategory"}]
    assert body["metricHeaders"] == [{"name": "sessions", "type": "TYPE_INTEGER"}]
    assert body["rows"] == [
        {"dimensionValues": [{"value": "mobile"}], "metricValues": [{"value": "7"}]},
        {"dimensionValues": [{"value": "desktop"}], "metricValues": [{"value": "0"}]},
    ]
    assert body["rowCount"] == 2
    assert body["metadata"] == {"currencyCode": "GBP", "timeZone": "Europe/London"}
    assert body["propertyQuota"]["tokensPerHour"] == {"consumed": 10, "remaining": 39_990}


def test_pages_by_offset_and_limit(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.add_rows([{"pagePath": f"/{n}", "sessions": n} for n in range(25)])
    ga4_api.max_page_size = 10

    pages = [run_report(ga4_api, {"dateRanges": WEEK, "dimensions": [{"name": "pagePath"}],
                                  "metrics": [{"name": "sessions"}], "offset": offset, "limit": "100"}).json()
             for offset in (0, 10, 20, 30)]

    assert [len(page.get("rows", [])) for page in pages] == [10, 10, 5, 0]
    assert {page["rowCount"] for page in pages} == {25}
    assert "rows" not in pages[3]


def test_filters_and_order_are_applied(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.add_rows([{"pagePath": "/vat", "sessions": 1}, {"pagePath": "/VAT-rates", "sessions": 9},
                      {"pagePath": "/tax", "sessions": 50}])
    body = {
        "dateRanges": WEEK, "dimensions": [{"name": "pagePath"}], "metrics": [{"name": "sessions"}],
        "dimensionFilter": {"filter": {"fieldName": "pagePath", "stringFilter": {
            "matchType": "PARTIAL_REGEXP", "value": "^/vat"}}},
        "metricFilter": {"notExpression": {"filter": {"fieldName": "sessions", "numericFilter": {
            "operation": "LESS_THAN", "value": {"int64Value": "2"}}}}},
        "orderBys": [{"metric": {"metricName": "sessions"}, "desc": True}],
    }

    rows = run_report(ga4_api, body).json()["rows"]

    assert [row["dimensionValues"][0]["value"] for row in rows] == ["/VAT-rates"]


def test_several_date_ranges_add_a_date_range_dimension(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.add_rows([{"pageTitle": "A", "screenPageViews": 3}], start_date="2014-10-06")
    ga4_api.add_rows([{"pageTitle": "A", "screenPageViews": 5}], start_date="2014-10-13")
    ranges = [{"startDate": "2014-10-06", "endDate": "2014-10-12", "name": "week1"},
              {"startDate": "2014-10-13", "endDate": "2014-10-19", "name": "week2"}]

    body = run_report(ga4_api, {"dateRanges": ranges, "dimensions": [{"name": "pageTitle"}],
                                "metrics": [{"name": "screenPageViews"}]}).json()

    assert body["dimensionHeaders"] == [{"name": "pageTitle"}, {"name": "dateRange"}]
    assert [[v["value"] for v in row["dimensionValues"]] for row in body["rows"]] == [["A", "week1"], ["A", "week2"]]


def test_flags_about_the_numbers_go_in_the_metadata(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.add_rows([{"sessions": 1}], sampled=(100, 1000), thresholded=True, other_row=True)

    metadata = run_report(ga4_api, {"dateRanges": WEEK, "metrics": [{"name": "sessions"}]}).json()["metadata"]

    assert metadata["samplingMetadatas"] == [{"samplesReadCount": "100", "samplingSpaceSize": "1000"}]
    assert metadata["subjectToThresholding"] is True and metadata["dataLossFromOtherRow"] is True


def test_requests_ga4_would_refuse(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    cases = [
        ({"dateRanges": WEEK, "metrics": [{"name": "ga:sessions"}]}, "Field ga:sessions is not a valid metric"),
        ({"dateRanges": WEEK, "metrics": [{"name": "sessions"}], "segments": []}, 'Unknown name "segments"'),
        ({"metrics": [{"name": "sessions"}]}, "between one and four date ranges"),
        ({"dateRanges": WEEK, "metrics": [{"name": "sessions"}, {"name": "sessions"}]}, "Duplicate metric"),
        ({"dateRanges": WEEK, "metrics": [{"name": "sessions"}],
          "orderBys": [{"metric": {"metricName": "totalUsers"}}]}, "not a metric or dimension of the request"),
        ({"dateRanges": WEEK, "metrics": [{"name": "sessions"}], "metricFilter": {"filter": {
            "fieldName": "pagePath", "stringFilter": {"value": "/"}}}}, "field 'pagePath' is not a metric"),
    ]
    for body, message in cases:
        answer = run_report(ga4_api, body)
        assert answer.status_code == 400, body
        assert answer.json()["error"]["status"] == "INVALID_ARGUMENT"
        assert message in answer.json()["error"]["message"]


def test_authorisation_and_permission(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.grant_only("properties/1")
    body = {"dateRanges": WEEK, "metrics": [{"name": "sessions"}]}

    assert run_report(ga4_api, body, headers={}).json()["error"]["status"] == "UNAUTHENTICATED"
    refused = run_report(ga4_api, body, property_="properties/2")
    assert (refused.status_code, refused.json()["error"]["status"]) == (403, "PERMISSION_DENIED")
    assert run_report(ga4_api, body, property_="properties/1").status_code == 200


def test_the_token_quota_runs_out(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.quota.per_hour = 25
    body = {"dateRanges": WEEK, "metrics": [{"name": "sessions"}]}

    statuses = [run_report(ga4_api, body).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    error = run_report(ga4_api, body).json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["message"].startswith("Exhausted property tokens per hour")


def test_injected_quota_errors_carry_retry_info(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.exhaust_quota("concurrent", retry_delay="0.5s")

    error = run_report(ga4_api, {"dateRanges": WEEK, "metrics": [{"name": "sessions"}]}).json()["error"]

    assert error["code"] == 429 and error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.5s"}]


def test_realtime(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.realtime_rows = [{"activeUsers": 12, "deviceCategory": "mobile"},
                             {"activeUsers": 3, "deviceCategory": "tablet"}]
    url = f"{ga4_api.url}/v1beta/properties/1:runRealtimeReport"
    body = {"metrics": [{"name": "activeUsers"}], "minuteRanges": [{"startMinutesAgo": 4, "endMinutesAgo": 0}],
            "dimensionFilter": {"filter": {"fieldName": "deviceCategory", "stringFilter": {"value": "MOBILE"}}}}

    answer = requests.post(url, json=body, headers=AUTH, timeout=5).json()
    refused = requests.post(url, json={"metrics": [{"name": "activeUsers"}], "dimensions": [{"name": "pagePath"}]},
                            headers=AUTH, timeout=5)
    dated = requests.post(url, json={"metrics": [{"name": "activeUsers"}], "dateRanges": WEEK},
                          headers=AUTH, timeout=5)

    assert answer["rows"] == [{"dimensionValues": [], "metricValues": [{"value": "12"}]}]
    assert "Field pagePath is not a valid realtime dimension" in refused.json()["error"]["message"]
    assert 'Unknown name "dateRanges"' in dated.json()["error"]["message"]


def _general_answer(api: GoogleAnalyticsDataStandIn, body: dict[str, Any]) -> dict[str, Any]:
    """What the stand-in's general path (`_answer` over every made-up row, as it answers a query of
    several date ranges or with orderBys) gives for `body`, before metadata and quota."""
    raw = json.dumps(body).encode()
    parsed = api._parse(RecordedRequest("POST", "/", {}, AUTH, raw, raw), "properties/1", realtime=False)
    rows = _made_up_rows(api.auto_rows, parsed, parsed.date_ranges[0])
    return api._answer(parsed, rows, "analyticsData#runReport")


BENCHMARK_QUERY = {"metrics": [{"name": "sessions"}, {"name": "totalUsers"}],
                   "dimensions": [{"name": "date"}, {"name": "deviceCategory"}, {"name": "pagePathPlusQueryString"}]}
# Every kind of made-up value: day fields, hour, new or returning, page paths, other dimensions
# (one with a name JSON escapes), fractions, and a custom name that is a dimension and a metric.
EVERY_KIND = {
    "metrics": [{"name": "sessions"}, {"name": "bounceRate"}, {"name": "averageSessionDuration"},
                {"name": "customEvent:both"}],
    "dimensions": [{"name": name} for name in ("date", "day", "month", "year", "hour", "newVsReturning", "pagePath",
                                               "country", "customEvent:caf\u00e9", "customEvent:both")],
}


@pytest.mark.parametrize(
    ("query", "start", "end", "auto_rows", "page_size", "offset", "limit"),
    [
        (BENCHMARK_QUERY, "2020-01-01", "2020-01-01", 1000, 500, 0, 500),
        (BENCHMARK_QUERY, "2020-01-01", "2020-01-01", 1000, 500, 500, 500),
        (BENCHMARK_QUERY, "2020-01-02", "2020-01-02", 1000, 500, 500, 500),  # the same page, memoised
        (BENCHMARK_QUERY, "2020-01-01", "2020-01-01", 1000, 500, 900, 500),  # the last rows
        (BENCHMARK_QUERY, "2020-01-01", "2020-01-01", 1000, 500, 1000, 500),  # past the end: no rows
        (BENCHMARK_QUERY, "2020-01-01", "2020-01-01", 0, 500, 0, 500),  # no made-up rows at all
        (BENCHMARK_QUERY, "2020-01-01", "2020-01-01", 3000, 250_000, 0, 2500),  # too big to memoise
        (EVERY_KIND, "2019-12-30", "2020-01-05", 40, 10, 0, 100),  # rows on different days
        (EVERY_KIND, "2019-12-30", "2020-01-05", 40, 10, 3, 10),  # some on the last day, some not
        (EVERY_KIND, "2019-12-30", "2020-01-05", 40, 10, 10, 10),  # all on the last day
        (EVERY_KIND, "2020-02-28", "2020-02-28", 40, 25, 20, 7),
    ],
)
def test_made_up_pages_are_the_general_answer(
    ga4_api: GoogleAnalyticsDataStandIn, query: dict[str, Any], start: str, end: str, auto_rows: int,
    page_size: int, offset: int, limit: int,
) -> None:
    # Made-up pages are written as JSON text, page by page and partly memoised; they must be the
    # very bytes json.dumps writes for the general path's answer.
    ga4_api.auto_rows, ga4_api.max_page_size = auto_rows, page_size
    body = {**query, "dateRanges": [{"startDate": start, "endDate": end}], "offset": offset, "limit": limit,
            "returnPropertyQuota": True}

    answer = run_report(ga4_api, body)

    expected = {**_general_answer(ga4_api, body), "metadata": {"currencyCode": "GBP", "timeZone": "Europe/London"},
                "propertyQuota": ga4_api.quota.status()}
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == expected
    assert answer.content == json.dumps(expected).encode()
