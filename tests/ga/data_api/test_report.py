"""`pp-collector` with a `ga` query for a GA4 property: what only the Data API does (request bodies,
offset paging, sort and filters in its terms, refusals, quotas, its doubts about the numbers);
what both sources do is in `../test_report.py`."""

from __future__ import annotations

import re

import pytest
from freezegun import freeze_time

from tests.support.google import GA4_PROPERTY, Ga4Collector, GaCollector

WEEK = ("-s", "2014-10-13", "-e", "2014-10-19")
DEVICES = {"id": GA4_PROPERTY, "metrics": ["visitors"], "dimensions": ["deviceCategory"]}


def date_ranges(ga4: Ga4Collector) -> list[tuple[str, str]]:
    # Sorted: periods are fetched several at a time, so they reach the stand-in in any order.
    return sorted((body["dateRanges"][0]["startDate"], body["dateRanges"][0]["endDate"]) for body in ga4.bodies())


def test_requests_go_to_the_property_under_api_root(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"deviceCategory": "mobile", "totalUsers": "5"}])

    result = ga4_collector.run("ga", DEVICES, {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    (request,) = ga4_collector.api.report_requests()
    assert (request.method, request.path) == ("POST", "/v1beta/properties/123456789:runReport")
    # The OAuth stand-in issued the token the Data API stand-in accepted.
    assert request.header("Authorization").startswith("Bearer ")
    assert ga4_collector.oauth.count("jwt-bearer") == 1


def test_records_overwrite_the_v3_collectors_records(ga_collector: GaCollector, ga4_collector: Ga4Collector) -> None:
    # The same rows from UA (v3) and from GA4: the same records and ids, so Backdrop upserts them.
    ga_collector.ga.add_core_rows([["mobile", "/a", "New Visitor", "5", "0.0", "12.5"],
                                   ["tablet", "/b", "Returning Visitor", "2", "50.0", "4"]])
    ga4_collector.api.add_rows([
        {"deviceCategory": "mobile", "pagePathPlusQueryString": "/a", "newVsReturning": "new",
         "totalUsers": "5", "bounceRate": "0", "averageSessionDuration": "12.5"},
        {"deviceCategory": "tablet", "pagePathPlusQueryString": "/b", "newVsReturning": "returning",
         "totalUsers": "2", "bounceRate": "0.5", "averageSessionDuration": "4"},
    ])
    query = {"metrics": ["users", "bounceRate", "avgSessionDuration"],
             "dimensions": ["deviceCategory", "pagePath", "userType"]}
    options = {"mappings": {"users": "count"}}

    v3 = ga_collector.run("ga", {"id": "ga:1", **query}, options, *WEEK)
    v3_records = ga_collector.records()
    ga4 = ga4_collector.run("ga", {"id": GA4_PROPERTY, **query}, options, *WEEK)

    assert (v3.exit_code, ga4.exit_code) == (0, 0), ga4.stderr
    assert ga4_collector.records() == v3_records
    assert [(r["count"], r["bounceRate"], r["avgSessionDuration"], r["userType"]) for r in v3_records] == [
        (5, 0, 12500.0, "New Visitor"), (2, 50, 4000, "Returning Visitor"),
    ]


def test_a_ua_named_and_a_ga4_named_query(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"pagePathPlusQueryString": "/a?b=1", "screenPageViews": "9", "totalUsers": "4",
                                 "bounceRate": "0.4523"}])
    ua_named = {"id": GA4_PROPERTY, "metrics": ["ga:pageviews", "users", "bounceRate"], "dimensions": ["pagePath"]}
    ga4_named = {"id": GA4_PROPERTY, "metrics": ["screenPageViews", "totalUsers", "engagementRate"],
                 "dimensions": ["pagePathPlusQueryString"]}

    # A `ga:` name is kept as the record's key, as v3 kept it; Backdrop needs it renamed.
    assert ga4_collector.run("ga", ua_named, {"dataType": "ua", "mappings": {"ga:pageviews": "views"}},
                             *WEEK).exit_code == 0
    assert ga4_collector.run("ga", ga4_named, {"dataType": "ga4"}, *WEEK).exit_code == 0

    ua_body, ga4_body = ga4_collector.bodies()
    assert ua_body["metrics"] == [{"name": "screenPageViews"}, {"name": "totalUsers"}, {"name": "bounceRate"}]
    assert ua_body["dimensions"] == ga4_body["dimensions"] == [{"name": "pagePathPlusQueryString"}]
    assert ga4_body["metrics"] == [{"name": "screenPageViews"}, {"name": "totalUsers"}, {"name": "engagementRate"}]
    ua, ga4 = sorted(ga4_collector.records(), key=lambda record: record["dataType"], reverse=True)
    # Each record carries the names its query asked for; UA's bounce rate is a percentage.
    assert {k: ua[k] for k in ("views", "users", "bounceRate", "pagePath")} == {
        "views": 9, "users": 4, "bounceRate": 45.23, "pagePath": "/a?b=1"}
    assert {k: ga4[k] for k in ("screenPageViews", "totalUsers", "engagementRate", "pagePathPlusQueryString")} == {
        "screenPageViews": 9, "totalUsers": 4, "engagementRate": 0, "pagePathPlusQueryString": "/a?b=1"}


def test_a_multi_page_result_is_read_by_offset_until_row_count(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"deviceCategory": f"device {n}", "totalUsers": n} for n in range(1, 2351)])
    ga4_collector.api.max_page_size = 1000  # GA4 may send fewer rows than the limit asked for

    # One chunk at a time, so that the records land in GA4's order.
    result = ga4_collector.run("ga", DEVICES, {"chunk-size": 1000}, *WEEK, "--push-concurrency", "1")

    assert result.exit_code == 0, result.stderr
    assert [(body["offset"], body["limit"]) for body in ga4_collector.bodies()] == [
        ("0", "10000"), ("1000", "10000"), ("2000", "10000"),
    ]
    assert [record["visitors"] for record in ga4_collector.records()] == list(range(1, 2351))


def test_max_results_is_the_limit_and_caps_the_rows_of_a_period(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"deviceCategory": f"device {n}", "totalUsers": n} for n in range(1, 3001)])
    ga4_collector.api.max_page_size = 1000

    result = ga4_collector.run("ga", {**DEVICES, "maxResults": 2500}, {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert [(body["offset"], body["limit"]) for body in ga4_collector.bodies()] == [
        ("0", "2500"), ("1000", "1500"), ("2000", "500"),
    ]
    assert len(ga4_collector.records()) == 2500


def test_max_results_below_a_page(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"deviceCategory": f"device {n}", "totalUsers": n} for n in range(1, 251)])

    assert ga4_collector.run("ga", {**DEVICES, "maxResults": 20}, {}, *WEEK).exit_code == 0

    assert [(body["offset"], body["limit"]) for body in ga4_collector.bodies()] == [("0", "20")]
    assert len(ga4_collector.records()) == 20


def test_sort_becomes_order_bys(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([
        {"deviceCategory": "mobile", "sessions": 5}, {"deviceCategory": "desktop", "sessions": 9},
        {"deviceCategory": "tablet", "sessions": 5},
    ])
    query = {"id": GA4_PROPERTY, "metrics": ["sessions"], "dimensions": ["deviceCategory"],
             "sort": ["-sessions", "deviceCategory"], "maxResults": 2}

    assert ga4_collector.run("ga", query, {}, *WEEK).exit_code == 0

    (body,) = ga4_collector.bodies()
    assert body["orderBys"] == [{"metric": {"metricName": "sessions"}, "desc": True},
                                {"dimension": {"dimensionName": "deviceCategory"}, "desc": False}]
    assert [record["deviceCategory"] for record in ga4_collector.records()] == ["desktop", "mobile"]


def string_filter(field: str, match_type: str, value: str) -> dict:
    return {"filter": {"fieldName": field, "stringFilter": {"matchType": match_type, "value": value,
                                                            "caseSensitive": False}}}


def numeric_filter(field: str, operation: str, value: dict) -> dict:
    return {"filter": {"fieldName": field, "numericFilter": {"operation": operation, "value": value}}}


PAGES = [
    {"pagePathPlusQueryString": "/account", "pageTitle": "Your account", "sessions": 100},
    {"pagePathPlusQueryString": "/account/vat", "pageTitle": "VAT", "sessions": 10},
    {"pagePathPlusQueryString": "/tax", "pageTitle": "Tax", "sessions": 3},
]


@pytest.mark.parametrize(
    ("filters", "key", "expression", "paths"),
    [
        ("ga:pagePath==/account", "dimensionFilter", string_filter("pagePathPlusQueryString", "EXACT", "/account"),
         ["/account"]),
        ("pagePath!=/account", "dimensionFilter",
         {"notExpression": string_filter("pagePathPlusQueryString", "EXACT", "/account")}, ["/account/vat", "/tax"]),
        ("pagePath=~^/account/", "dimensionFilter",
         string_filter("pagePathPlusQueryString", "PARTIAL_REGEXP", "^/account/"), ["/account/vat"]),
        ("pagePath!~^/account", "dimensionFilter",
         {"notExpression": string_filter("pagePathPlusQueryString", "PARTIAL_REGEXP", "^/account")}, ["/tax"]),
        ("pageTitle=@ACCOUNT", "dimensionFilter", string_filter("pageTitle", "CONTAINS", "ACCOUNT"), ["/account"]),
        ("pageTitle!@your", "dimensionFilter", {"notExpression": string_filter("pageTitle", "CONTAINS", "your")},
         ["/account/vat", "/tax"]),
        ("sessions>10", "metricFilter", numeric_filter("sessions", "GREATER_THAN", {"int64Value": "10"}),
         ["/account"]),
        ("sessions<10", "metricFilter", numeric_filter("sessions", "LESS_THAN", {"int64Value": "10"}), ["/tax"]),
        ("sessions>=10", "metricFilter", numeric_filter("sessions", "GREATER_THAN_OR_EQUAL", {"int64Value": "10"}),
         ["/account", "/account/vat"]),
        ("sessions<=10", "metricFilter", numeric_filter("sessions", "LESS_THAN_OR_EQUAL", {"int64Value": "10"}),
         ["/account/vat", "/tax"]),
        ("sessions==3", "metricFilter", numeric_filter("sessions", "EQUAL", {"int64Value": "3"}), ["/tax"]),
        ("sessions!=3", "metricFilter", {"notExpression": numeric_filter("sessions", "EQUAL", {"int64Value": "3"})},
         ["/account", "/account/vat"]),
    ],
)
def test_each_filter_operator(
    ga4_collector: Ga4Collector, filters: str, key: str, expression: dict, paths: list[str]
) -> None:
    ga4_collector.api.add_rows(PAGES)
    query = {"id": GA4_PROPERTY, "metrics": ["sessions"], "dimensions": ["pagePath"], "filters": filters}

    result = ga4_collector.run("ga", query, {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    (body,) = ga4_collector.bodies()
    other = "metricFilter" if key == "dimensionFilter" else "dimensionFilter"
    assert (body[key], other in body) == (expression, False)
    assert [record["pagePath"] for record in ga4_collector.records()] == paths


def test_and_of_ors_mixing_dimensions_and_metrics(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows(PAGES)
    query = {"id": GA4_PROPERTY, "metrics": ["sessions"], "dimensions": ["pagePath"],
             "filters": ["pagePath=~^/account;ga:pageTitle==VAT,ga:pageTitle==Tax,ga:pageTitle==Your account;"
                         "ga:sessions<50,ga:sessions>99"]}

    assert ga4_collector.run("ga", query, {}, *WEEK).exit_code == 0

    (body,) = ga4_collector.bodies()
    assert body["dimensionFilter"] == {"andGroup": {"expressions": [
        string_filter("pagePathPlusQueryString", "PARTIAL_REGEXP", "^/account"),
        {"orGroup": {"expressions": [string_filter("pageTitle", "EXACT", title)
                                     for title in ("VAT", "Tax", "Your account")]}},
    ]}}
    assert body["metricFilter"] == {"orGroup": {"expressions": [
        numeric_filter("sessions", "LESS_THAN", {"int64Value": "50"}),
        numeric_filter("sessions", "GREATER_THAN", {"int64Value": "99"}),
    ]}}
    assert [record["pagePath"] for record in ga4_collector.records()] == ["/account", "/account/vat"]


def test_list_items_are_ored(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows(PAGES)
    query = {"id": GA4_PROPERTY, "metrics": ["sessions"], "dimensions": ["pagePath"],
             "filters": ["pagePath==/tax", "pageTitle==VAT"]}

    assert ga4_collector.run("ga", query, {}, *WEEK).exit_code == 0

    assert "orGroup" in ga4_collector.bodies()[0]["dimensionFilter"]
    assert [record["pagePath"] for record in ga4_collector.records()] == ["/account/vat", "/tax"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"segment": "sessions::condition::ga:pagePath=~/pay-online/vat"},
         "key 'query.segment': 'sessions::condition::ga:pagePath=~/pay-online/vat': the GA4 Data API has no "
         "segments"),
        ({"metrics": ["uniqueEvents"]}, "key 'query.metrics': 'uniqueEvents' has no GA4 equivalent"),
        ({"dimensions": ["eventCategory"]}, "key 'query.dimensions': 'eventCategory' has no GA4 equivalent"),
        ({"filters": "ga:sessions>9,ga:pagePath==/a"},
         "key 'query.filters': 'ga:sessions>9,ga:pagePath==/a' ORs the metric 'ga:sessions' with the dimension"),
        ({"metrics": ["sesions"]}, "key 'query.metrics': 'sesions' is neither a metric of the GA4 Data API"),
        ({"id": "properties/G-1234"}, "key 'query.id': expected a GA4 property such as 'properties/123456789'"),
    ],
)
def test_what_ga4_cannot_ask_is_refused_before_any_request(
    ga4_collector: Ga4Collector, query: dict, message: str
) -> None:
    result = ga4_collector.run("ga", {**DEVICES, **query}, {}, *WEEK)

    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert ga4_collector.api.requests == [] and ga4_collector.oauth.requests == []
    assert ga4_collector.backdrop.requests == []


def test_429_resource_exhausted_then_success(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"deviceCategory": "mobile", "totalUsers": 5}])
    ga4_collector.api.exhaust_quota("concurrent")
    ga4_collector.api.exhaust_quota("hour", retry_delay="0.05s")

    result = ga4_collector.run("ga", DEVICES, {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert [request.status for request in ga4_collector.api.report_requests()] == [429, 429, 200]
    log = result.text_log()
    assert "429 RESOURCE_EXHAUSTED" in log and "Exhausted concurrent requests quota" in log
    # Google's RetryInfo says how long to wait for the hourly tokens, and it is waited.
    assert "retrying in 0.05 s" in log
    assert [record["visitors"] for record in ga4_collector.records()] == [5]


def test_an_hourly_quota_longer_than_the_policy_allows_fails_with_the_reason(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.exhaust_quota("hour", times=5)

    result = ga4_collector.run("ga", DEVICES, {}, *WEEK)

    assert result.exit_code == 1
    assert "429 RESOURCE_EXHAUSTED" in result.stderr
    assert "Exhausted property tokens per hour" in result.stderr
    assert "(GA4's hourly tokens return within the hour)" in result.stderr
    assert "the server asked to wait 3600 s, longer than the 2 s allowed" in result.text_log()
    assert len(ga4_collector.api.report_requests()) == 1
    assert ga4_collector.backdrop.requests == []


@freeze_time("2014-10-22 08:00:00")
def test_a_daily_quota_returns_at_midnight_pacific(
    ga4_collector: Ga4Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 08:00 UTC is 01:00 in California (summer time): 23 hours to the daily reset.
    monkeypatch.setenv("PP_COLLECTOR_RETRY_MAX_DELAY", "86400")
    monkeypatch.setenv("PP_COLLECTOR_RETRY_MAX_TOTAL_DELAY", "60")
    ga4_collector.api.exhaust_quota("day")

    result = ga4_collector.run("ga", DEVICES, {}, *WEEK)

    assert result.exit_code == 1
    assert "(GA4's daily tokens return at midnight Pacific time)" in result.stderr
    # The policy's bound on the total wait gives up rather than sleep until tomorrow.
    assert "giving up after 1 attempts and 0.0 s of waiting" in result.text_log()
    assert len(ga4_collector.api.report_requests()) == 1


def test_the_daily_wait_is_the_time_to_midnight_pacific() -> None:
    from performanceplatform.collector.ga.google_errors import quota_wait

    with freeze_time("2014-10-22 08:00:00"):
        assert quota_wait(b"{}", "Exhausted property tokens per day.")[0] == 23 * 3600
    with freeze_time("2014-12-22 07:30:00"):  # 23:30 on the 21st in California (winter time)
        assert quota_wait(b"{}", "Exhausted property tokens per day.")[0] == 30 * 60


def test_server_errors_are_retried(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"deviceCategory": "mobile", "totalUsers": 5}])
    ga4_collector.api.fail_next(503)
    ga4_collector.api.fail_next_with(500, "Internal error encountered.")

    result = ga4_collector.run("ga", DEVICES, {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert [request.status for request in ga4_collector.api.report_requests()] == [503, 500, 200]


def test_a_property_the_account_cannot_read_fails_at_once(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.grant_only("properties/1")

    result = ga4_collector.run("ga", DEVICES, {}, *WEEK)

    assert result.exit_code == 1
    assert "403 PERMISSION_DENIED" in result.stderr
    assert "check that the credentials' account can read this property" in result.stderr
    assert len(ga4_collector.api.report_requests()) == 1


def test_ga4s_doubts_about_the_numbers_are_warnings_naming_the_period(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"deviceCategory": "mobile", "totalUsers": 5}], start_date="2014-10-13",
                               sampled=(5000, 80000), thresholded=True, other_row=True)

    result = ga4_collector.run("ga", DEVICES, {}, "-s", "2014-10-13", "-e", "2014-10-26")

    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.text_log().splitlines() if "[WARNING]" in line]
    assert [line.split(" -> ")[1] for line in warnings] == [
        f"GA4 {GA4_PROPERTY} for 2014-10-13 to 2014-10-19: {warning}" for warning in (
            "the data is sampled (events read: 5000 of 80000); the numbers are estimates",
            "the data is subject to thresholding: rows with few users may be withheld (subjectToThresholding)",
            "some rows were rolled into an '(other)' row because the property's row limit was reached "
            "(dataLossFromOtherRow)",
        )
    ]


def test_tokens_consumed_are_logged_per_request(ga4_collector: Ga4Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGLEVEL", "DEBUG")  # per-request detail
    ga4_collector.api.add_rows([{"deviceCategory": f"d{n}", "totalUsers": n} for n in range(15)])
    ga4_collector.api.max_page_size = 10

    assert ga4_collector.run("ga", DEVICES, {}, *WEEK).exit_code == 0

    assert all(body["returnPropertyQuota"] is True for body in ga4_collector.bodies())
    lines = [line.split(" -> ")[1] for line in ga4_collector.configs.log_dir.joinpath("collector.log").read_text()
             .splitlines() if "GA4 quota" in line]
    assert lines == [
        f"GA4 quota: the runReport request for {GA4_PROPERTY} (2014-10-13 to 2014-10-19, offset {offset}) "
        f"consumed 10 token(s) ({39_990 - n * 10} left this hour, {199_990 - n * 10} left today)"
        for n, offset in enumerate((0, 10))
    ]


@pytest.mark.parametrize(
    ("query", "flags", "problems"),
    [
        ({"metrics": ["sessions"]}, (), []),
        ({"metrics": ["uniqueEvents", "goal1Completions"], "dimensions": ["browserVersion"],
          "filters": ["eventCategory==pp"], "segment": "gaid::-3"}, (),
         ["key 'query.segment'", "key 'query.metrics': 'uniqueEvents'", "key 'query.metrics': 'goal1Completions'",
          "key 'query.dimensions': 'browserVersion'", "key 'query.filters': 'eventCategory'"]),
        ({"metrics": ["sessions"]}, ("-e", "2014-01-01"), ["--end was given without --start"]),
    ],
)
def test_check_translates_without_the_network(
    ga4_collector: Ga4Collector, query: dict, flags: tuple, problems: list[str]
) -> None:
    result = ga4_collector.run("ga", {"id": GA4_PROPERTY, **query}, {}, "--check", *flags)

    assert result.exit_code == (2 if problems else 0), result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == len(problems)
    for line, problem in zip(lines, problems, strict=True):
        assert problem in line
    assert ga4_collector.api.requests == [] and ga4_collector.oauth.requests == []


def test_a_401_gets_one_fresh_token_and_the_request_again(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"deviceCategory": "mobile", "totalUsers": 5}])
    ga4_collector.api.fail_next_with(401, "Request had invalid authentication credentials.", status="UNAUTHENTICATED")

    result = ga4_collector.run("ga", DEVICES, {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    refused, answered = ga4_collector.api.report_requests()
    assert (refused.status, answered.status) == (401, 200)
    assert refused.header("Authorization") != answered.header("Authorization")
    assert ga4_collector.oauth.count("jwt-bearer") == 2
    assert [record["visitors"] for record in ga4_collector.records()] == [5]


def test_a_fresh_token_refused_too_fails_at_once_naming_the_credentials(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.fail_next_with(401, "Request had invalid authentication credentials.", status="UNAUTHENTICATED",
                                     times=5)

    result = ga4_collector.run("ga", DEVICES, {}, *WEEK)

    assert result.exit_code == 1
    assert "401 UNAUTHENTICATED" in result.stderr
    assert "(the credentials were refused: check the credentials file)" in result.stderr
    # One fresh token, and no retries: another token would be refused too.
    assert len(ga4_collector.api.report_requests()) == 2
    assert ga4_collector.oauth.count("jwt-bearer") == 2


def test_each_data_api_request_is_one_line_of_the_log(
    ga4_collector: Ga4Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGLEVEL", "DEBUG")  # per-request detail
    ga4_collector.api.add_rows([{"deviceCategory": f"d{n}", "totalUsers": n} for n in range(15)])
    ga4_collector.api.max_page_size = 10

    assert ga4_collector.run("ga", DEVICES, {}, *WEEK).exit_code == 0

    lines = [line.split(" -> ", 1)[1] for line in ga4_collector.configs.log_dir.joinpath("collector.log").read_text()
             .splitlines() if "/v1beta/properties/123456789:runReport" in line]
    assert len(lines) == 2
    assert all(re.fullmatch(r"POST http://127\.0\.0\.1:\d+/v1beta/properties/123456789:runReport -> 200 "
                            r"\(\d+ bytes sent, \d+ bytes received, [\d.]+ s\)", line) for line in lines), lines
