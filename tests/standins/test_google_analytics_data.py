"""The GA4 Data API stand-in speaks the Data API's wire format: shapes, paging, filters, errors, quota."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from freezegun import freeze_time

from performanceplatform.collector.demo import copy_examples
from performanceplatform.collector.standins.google_analytics_data import (
    QUOTA_MESSAGES,
    GoogleAnalyticsDataStandIn,
    QuotaLimits,
    _made_up_rows,
)
from performanceplatform.collector.standins.local import LocalStandIns
from performanceplatform.collector.standins.server import RecordedRequest
from tests.support.cli import REPO_ROOT, run_cli
from tests.support.google import GA4_PROPERTY, Ga4Collector

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


REPORT = {"dateRanges": WEEK, "metrics": [{"name": "sessions"}], "returnPropertyQuota": True}


def quota_refusal(kind: str) -> dict[str, Any]:
    return {"error": {"code": 429, "message": QUOTA_MESSAGES[kind], "status": "RESOURCE_EXHAUSTED"}}


def test_property_quota_is_written_as_the_data_api_writes_it(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    first = run_report(ga4_api, REPORT).json()["propertyQuota"]
    ga4_api.token_cost = 7_000
    second = run_report(ga4_api, REPORT).json()["propertyQuota"]

    assert first == {
        "tokensPerDay": {"consumed": 10, "remaining": 199_990},
        "tokensPerHour": {"consumed": 10, "remaining": 39_990},
        # Zeros are left out, as proto3 JSON leaves them out.
        "concurrentRequests": {"remaining": 10},
        "serverErrorsPerProjectPerHour": {"remaining": 10},
        "potentiallyThresholdedRequestsPerHour": {"remaining": 120},
        "tokensPerProjectPerHour": {"consumed": 10, "remaining": 13_990},
    }
    assert second["tokensPerProjectPerHour"] == {"consumed": 7_000, "remaining": 6_990}
    assert second["tokensPerDay"] == {"consumed": 7_000, "remaining": 192_990}


def test_a_propertys_hourly_tokens_return_an_hour_after_they_were_spent(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.token_cost = 5_000
    with freeze_time("2024-06-03 09:00:00") as clock:
        served = [run_report(ga4_api, REPORT) for _ in range(3)]
        clock.tick(30 * 60)
        refused = run_report(ga4_api, REPORT)
        other_property = run_report(ga4_api, REPORT, property_="properties/2")
        realtime = requests.post(f"{ga4_api.url}/v1beta/properties/1:runRealtimeReport", headers=AUTH, timeout=5,
                                 json={"metrics": [{"name": "activeUsers"}]})
        clock.move_to("2024-06-03 09:59:59")
        still_refused = run_report(ga4_api, REPORT)
        clock.move_to("2024-06-03 10:00:00")
        back = run_report(ga4_api, REPORT)

    # The third request is served while 4,000 of the project's 14,000 remain, and overdraws them.
    assert [answer.status_code for answer in served] == [200, 200, 200]
    assert served[2].json()["propertyQuota"]["tokensPerProjectPerHour"] == {"consumed": 5_000}
    assert (refused.status_code, refused.json()) == (429, quota_refusal("project-hour"))
    assert (still_refused.status_code, still_refused.json()) == (429, quota_refusal("project-hour"))
    # Quotas are a property's own, and realtime reports have their own.
    assert other_property.status_code == 200 and realtime.status_code == 200
    assert back.status_code == 200
    assert back.json()["propertyQuota"]["tokensPerProjectPerHour"] == {"consumed": 5_000, "remaining": 9_000}
    assert back.json()["propertyQuota"]["tokensPerDay"] == {"consumed": 5_000, "remaining": 180_000}


def test_a_propertys_daily_tokens_return_at_midnight_pacific_time(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.set_quota_limits("properties/1", QuotaLimits(30, 1_000, 1_000, 10, 10, 120))
    # 10:00 UTC on 3 June is 03:00 in California (summer time): midnight there is 07:00 UTC on the 4th.
    with freeze_time("2024-06-03 10:00:00") as clock:
        served = [run_report(ga4_api, REPORT).status_code for _ in range(3)]
        refused = run_report(ga4_api, REPORT)
        clock.move_to("2024-06-04 06:59:59")
        still_refused = run_report(ga4_api, REPORT)
        clock.move_to("2024-06-04 07:00:00")
        back = run_report(ga4_api, REPORT)

    assert served == [200, 200, 200]
    assert (refused.status_code, refused.json()) == (429, quota_refusal("day"))
    assert (still_refused.status_code, still_refused.json()) == (429, quota_refusal("day"))
    assert back.status_code == 200
    assert back.json()["propertyQuota"]["tokensPerDay"] == {"consumed": 10, "remaining": 20}


def test_a_run_refused_for_the_hour_collects_again_an_hour_later(ga4_collector: Ga4Collector) -> None:
    # Two weeks of a standard property at 7,000 tokens a request spend the project's hour.
    ga4_collector.api.token_cost = 7_000
    ga4_collector.api.add_rows([{"deviceCategory": "mobile", "sessions": 5}])
    query = {"id": GA4_PROPERTY, "metrics": ["sessions"], "dimensions": ["deviceCategory"]}
    weeks = ("-s", "2024-05-06", "-e", "2024-05-19")
    with freeze_time("2024-06-03 09:00:00") as clock:
        first = ga4_collector.run("ga", query, {}, *weeks)
        clock.tick(59 * 60)
        refused = ga4_collector.run("ga", query, {}, *weeks)
        clock.tick(60)
        again = ga4_collector.run("ga", query, {}, *weeks)

    assert first.exit_code == 0, first.stderr
    assert refused.exit_code == 1
    assert "429 RESOURCE_EXHAUSTED" in refused.stderr
    assert "Exhausted property tokens for a project per hour" in refused.stderr
    assert again.exit_code == 0, again.stderr
    statuses = [request.status for request in ga4_collector.api.report_requests()]
    # The refused run asked for one week or both (they are fetched at once) and got 429 for each.
    assert statuses[:2] == [200, 200] and set(statuses[2:-2]) == {429} and statuses[-2:] == [200, 200]


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
                "propertyQuota": ga4_api.quota("properties/1").status()}
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == expected
    assert answer.content == json.dumps(expected).encode()


def test_rates_are_answered_as_fractions_and_recorded_as_percentages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The made-up numbers of the offline stand-ins, as a user collecting a query of UA names and
    # GA4 names would see them: GA4 answers fractions; the collector keeps UA's percentage for UA's
    # `bounceRate` (scaling by 100) and GA4's fraction for GA4's `engagementRate`.
    query = {"id": "properties/123456789", "metrics": ["sessions", "bounceRate", "engagementRate", "dauPerMau"],
             "dimensions": ["deviceCategory"]}
    with LocalStandIns() as stand_ins:
        copy_examples(REPO_ROOT / "examples", tmp_path / "examples", stand_ins.url)
        monkeypatch.chdir(tmp_path)
        path = tmp_path / "query.json"
        path.write_text(json.dumps({"entrypoint": "performanceplatform.collector.ga",
                                    "data-set": {"data-group": "carers-allowance", "data-type": "device-usage"},
                                    "query": query}))
        result = run_cli(["-q", str(path), "-c", "examples/credentials/ga-service-account.json", "-t",
                          "examples/tokens/ga.json", "-b", "examples/backdrop.json", "-s", "2024-05-06",
                          "-e", "2024-05-12", "--log-dir", str(tmp_path / "log")])
        records = stand_ins.backdrop.records("carers-allowance", "device-usage")

    assert result.exit_code == 0, result.all_output()
    assert len(records) == 3
    for record in records:
        assert 5 <= record["bounceRate"] <= 80, record
        assert 0.05 <= record["engagementRate"] <= 0.8, record
        assert 0.05 <= record["dauPerMau"] <= 0.8, record
        assert record["sessions"] >= 20


# getMetadata ------------------------------------------------------------------------------------------


def get_metadata(api: GoogleAnalyticsDataStandIn, property_: str, headers: dict[str, str] | None = None
                 ) -> requests.Response:
    return requests.get(f"{api.url}/v1beta/{property_}/metadata", headers=AUTH if headers is None else headers,
                        timeout=5)


def test_metadata_lists_the_standard_fields_and_what_the_property_defines(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.define("properties/1", custom_dimensions=["customEvent:event_category"],
                   custom_metrics=["customEvent:score"], key_events=["purchase"])

    answer = get_metadata(ga4_api, "properties/1")
    plain = get_metadata(ga4_api, "properties/2").json()

    assert answer.status_code == 200
    body = answer.json()
    assert body["name"] == "properties/1/metadata"
    dimensions = {item["apiName"]: item for item in body["dimensions"]}
    metrics = {item["apiName"]: item for item in body["metrics"]}
    assert {"deviceCategory", "pagePathPlusQueryString", "eventName"} <= set(dimensions)
    assert dimensions["customEvent:event_category"]["customDefinition"] is True
    assert "customDefinition" not in dimensions["deviceCategory"]  # proto3 leaves false out
    assert {"keyEvents:purchase", "sessionKeyEventRate:purchase", "userKeyEventRate:purchase",
            "customEvent:score"} <= set(metrics)
    assert metrics["sessionKeyEventRate:purchase"]["type"] == "TYPE_FLOAT"
    assert not [item for item in plain["dimensions"] + plain["metrics"] if item.get("customDefinition")]


def test_metadata_needs_a_token_and_access_to_the_property(ga4_api: GoogleAnalyticsDataStandIn) -> None:
    ga4_api.grant_only("properties/1")

    assert get_metadata(ga4_api, "properties/1", headers={}).status_code == 401
    assert get_metadata(ga4_api, "properties/2").json()["error"]["status"] == "PERMISSION_DENIED"
    assert get_metadata(ga4_api, "properties/x").status_code == 400


def test_a_property_with_definitions_refuses_custom_names_it_does_not_define(
    ga4_api: GoogleAnalyticsDataStandIn
) -> None:
    ga4_api.define("properties/1", custom_dimensions=["customEvent:event_category"], key_events=["purchase"])
    body = {"dateRanges": WEEK, "metrics": [{"name": "keyEvents:purchase"}]}

    defined = run_report(ga4_api, {**body, "dimensions": [{"name": "customEvent:event_category"}]})
    undefined = run_report(ga4_api, {**body, "dimensions": [{"name": "customEvent:event_label"}]})
    no_such_key_event = run_report(ga4_api, {"dateRanges": WEEK, "metrics": [{"name": "keyEvents:refund"}]})
    filtered = run_report(ga4_api, {**body, "dimensionFilter": {"filter": {
        "fieldName": "customEvent:event_label", "stringFilter": {"value": "x"}}}})
    elsewhere = run_report(ga4_api, {**body, "dimensions": [{"name": "customEvent:event_label"}]}, "properties/2")

    assert defined.status_code == 200
    assert [answer.status_code for answer in (undefined, no_such_key_event, filtered)] == [400, 400, 400]
    assert "customEvent:event_label is not a valid dimension" in undefined.json()["error"]["message"]
    assert elsewhere.status_code == 200  # a property without definitions accepts any such name
