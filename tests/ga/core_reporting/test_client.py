"""The GA client against the Core Reporting stand-in over real HTTP: pages, retries, errors, statsd."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import date

import pytest

from performanceplatform.collector.context import RunContext
from performanceplatform.collector.errors import ConfigurationError, FatalUpstreamError, RetryableError
from performanceplatform.collector.ga.core_reporting.client import CoreReportingClient as GoogleAnalyticsClient
from performanceplatform.collector.ga.core_reporting.pages import fetch_period, next_page_parameters
from performanceplatform.collector.ga.core_reporting.query import CoreQuery
from performanceplatform.collector.ga.google_account import api_root_from
from performanceplatform.collector.ga.query import GaQuery
from performanceplatform.collector.ga.statsd import StatsdCounter
from performanceplatform.collector.periods import period_range
from performanceplatform.collector.standins.google_analytics import GoogleAnalyticsStandIn
from tests.support.google import GA_ACCESS_TOKEN, core_reporting_client

START, END = date(2014, 10, 13), date(2014, 10, 19)


def core_query(query: dict) -> CoreQuery:
    return CoreQuery.of(GaQuery.from_config(query, source="q"), source="q")


def fetch_rows(client: GoogleAnalyticsClient, query: CoreQuery, start: date, end: date) -> list:
    return [row for period in period_range(start, end, query.frequency) for row in fetch_period(client, query, *period)]


QUERY = core_query({"id": "ga:123", "metrics": ["visits"], "dimensions": ["pagePath"]})


def numbered_rows(count: int) -> list[list[str]]:
    return [[f"/page/{n}", str(n)] for n in range(1, count + 1)]


def test_reads_every_page_in_order(ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient) -> None:
    ga_api.add_core_rows(numbered_rows(2500), start_date=START, end_date=END)

    rows = fetch_period(ga_client, QUERY, START, END)

    assert [row["dimensions"]["pagePath"] for row in rows] == [f"/page/{n}" for n in range(1, 2501)]
    assert rows[0] == {
        "metrics": {"visits": 1},
        "dimensions": {"pagePath": "/page/1"},
        "start_date": START,
        "end_date": END,
    }
    requests = ga_api.core_requests()
    assert [r.param("start-index") for r in requests] == [None, "1001", "2001"]
    assert {r.header("Authorization") for r in requests} == {f"Bearer {GA_ACCESS_TOKEN}"}


def test_max_results_caps_the_rows_of_a_period(
    ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient
) -> None:
    ga_api.add_core_rows(numbered_rows(250))
    capped = core_query({"id": "ga:123", "metrics": ["visits"], "dimensions": ["pagePath"],
                                    "maxResults": 100})

    rows = fetch_period(ga_client, capped, START, END)

    assert len(rows) == 100
    assert [r.param("max-results") for r in ga_api.core_requests()] == ["100"]


def test_each_period_is_one_query(ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient) -> None:
    ga_api.add_core_rows([["/a", "1"]], start_date="2014-10-06")
    ga_api.add_core_rows([["/b", "2"]], start_date="2014-10-13")

    rows = fetch_rows(ga_client, QUERY, date(2014, 10, 8), date(2014, 10, 14))

    assert [(row["start_date"], row["dimensions"]["pagePath"]) for row in rows] == [
        (date(2014, 10, 6), "/a"),
        (date(2014, 10, 13), "/b"),
    ]


def test_sampled_data_is_a_warning_naming_the_period(
    ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient, caplog: pytest.LogCaptureFixture
) -> None:
    ga_api.add_core_rows([["/a", "1"]], sampled=True)

    with caplog.at_level(logging.INFO):
        rows = fetch_period(ga_client, QUERY, START, END)

    assert len(rows) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["Google Analytics sampled the data for ga:123 from 2014-10-13 to 2014-10-19: "
                        "the numbers are estimates"]


def test_one_log_line_per_request(
    ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient, caplog: pytest.LogCaptureFixture
) -> None:
    ga_api.add_core_rows(numbered_rows(1500))
    with caplog.at_level(logging.DEBUG, logger="performanceplatform.collector.ga.google_api"):
        fetch_period(ga_client, QUERY, START, END)
    lines = [r.getMessage() for r in caplog.records if r.name == "performanceplatform.collector.ga.google_api"]
    assert len(lines) == 2
    assert all(" -> 200 (" in line and "bytes received" in line and "/analytics/v3/data/ga?" in line
               for line in lines)


def test_429_then_success(ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient) -> None:
    ga_api.add_core_rows([["/a", "1"]])
    ga_api.fail_next(429)

    rows = fetch_period(ga_client, QUERY, START, END)

    assert len(rows) == 1
    assert [r.status for r in ga_api.core_requests()] == [429, 200]


@pytest.mark.parametrize("reason", ["userRateLimitExceeded", "quotaExceeded", "rateLimitExceeded"])
def test_403_rate_limits_are_retried(
    ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient, reason: str
) -> None:
    ga_api.add_core_rows([["/a", "1"]])
    ga_api.fail_next_with(403, reason, times=2)

    assert len(fetch_period(ga_client, QUERY, START, END)) == 1
    assert [r.status for r in ga_api.core_requests()] == [403, 403, 200]


def test_403_insufficient_permissions_fails_at_once(
    ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient
) -> None:
    ga_api.fail_next_with(403, "insufficientPermissions", "User does not have any Google Analytics account.")

    with pytest.raises(FatalUpstreamError) as raised:
        fetch_period(ga_client, QUERY, START, END)

    assert "403 insufficientPermissions" in str(raised.value)
    assert "User does not have any Google Analytics account." in str(raised.value)
    assert len(ga_api.core_requests()) == 1


def test_400_fails_at_once_with_googles_message(
    ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient
) -> None:
    sorted_query = core_query({"id": "ga:123", "metrics": ["visits"], "sort": ["-pageviews"]})

    with pytest.raises(FatalUpstreamError) as raised:
        fetch_period(ga_client, sorted_query, START, END)

    assert "400 invalidParameter" in str(raised.value)
    assert "Sort key -ga:pageviews" in str(raised.value)
    assert len(ga_api.core_requests()) == 1


def test_server_errors_are_retried_then_reported(
    ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient
) -> None:
    ga_api.fail_next(503, times=10)

    with pytest.raises(RetryableError) as raised:
        fetch_period(ga_client, QUERY, START, END)

    assert "503 backendError" in str(raised.value)
    assert len(ga_api.core_requests()) == 5


def test_dropped_connections_are_retried(ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient) -> None:
    ga_api.add_core_rows([["/a", "1"]])
    ga_api.drop_next()
    ga_api.reset_next()

    assert len(fetch_period(ga_client, QUERY, START, END)) == 1
    assert len(ga_api.core_requests()) == 3


def test_every_request_has_a_timeout(ga_api: GoogleAnalyticsStandIn) -> None:
    ga_api.add_core_rows([["/a", "1"]])
    ga_api.delay_next(1.0)
    client = core_reporting_client(ga_api, timeout=0.2)
    with client:
        assert len(fetch_period(client, QUERY, START, END)) == 1
    assert [r.fault for r in ga_api.core_requests()] == ["delay", None]


def test_a_body_that_is_not_json_is_fatal(ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient) -> None:
    ga_api.fail_next(200, body=b"<html>captive portal</html>", headers={"Content-Type": "text/html"})

    with pytest.raises(FatalUpstreamError, match="not a JSON object"):
        fetch_period(ga_client, QUERY, START, END)


def test_unknown_realtime_parameter_is_a_configuration_error(
    ga_api: GoogleAnalyticsStandIn, ga_client: GoogleAnalyticsClient
) -> None:
    with pytest.raises(ConfigurationError, match="unexpected keyword argument max-results"):
        ga_client.realtime_report({"ids": "ga:1", "metrics": "rt:activeUsers", "max-results": 5})
    assert ga_api.requests == []


@pytest.fixture
def statsd_listener() -> Iterator[socket.socket]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(5)
    try:
        yield listener
    finally:
        listener.close()


def test_each_core_request_is_counted_in_statsd(
    ga_api: GoogleAnalyticsStandIn, statsd_listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSD_HOST", "127.0.0.1")
    monkeypatch.setenv("STATSD_PORT", str(statsd_listener.getsockname()[1]))
    monkeypatch.setenv("GOVUK_STATSD_PREFIX", "pp.test.collector")
    ga_api.add_core_rows(numbered_rows(1500))
    ga_api.realtime_rows = [["3"]]
    ga_api.fail_next(503)  # a retried page is still one page
    client = core_reporting_client(ga_api, statsd=StatsdCounter.from_environment())
    with client:
        fetch_period(client, QUERY, START, END)
        client.realtime_report({"ids": "ga:123", "metrics": "rt:activeUsers"})

    datagrams = [statsd_listener.recv(1024) for _ in range(2)]
    assert datagrams == [b"pp.test.collector.ga.core.ga123.count:1|c"] * 2
    statsd_listener.settimeout(0.2)
    with pytest.raises(TimeoutError):  # the Real Time request is not counted, as in the original
        statsd_listener.recv(1024)


def test_statsd_trouble_never_fails_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    StatsdCounter(host="no-such-host.invalid", port=8125).incr("ga.core.ga1.count")
    monkeypatch.setenv("STATSD_PORT", "not-a-port")
    assert StatsdCounter.from_environment() is None
    monkeypatch.setenv("STATSD_PORT", "8125")
    monkeypatch.delenv("GOVUK_STATSD_PREFIX", raising=False)
    assert StatsdCounter.from_environment() == StatsdCounter("pp.apps.collector", "localhost", 8125)


def test_next_link_that_does_not_move_on_is_refused() -> None:
    current = {"ids": "ga:1", "start_index": 1001}
    link = "https://x/analytics/v3/data/ga?ids=ga:1&start-index=2001&max-results=1000"
    assert next_page_parameters(current, link) == {"ids": "ga:1", "start_index": 2001, "max_results": 1000}
    with pytest.raises(FatalUpstreamError, match="does not move on"):
        next_page_parameters(current, "https://x/analytics/v3/data/ga?ids=ga:1&start-index=1001")


def with_credentials(credentials: dict) -> RunContext:
    data_set = {"url": "https://backdrop.example/data/g/t", "token": "t", "dry_run": True}
    return RunContext.from_collector_arguments("ga", credentials, data_set, {}, None, None, None)


def test_api_root_is_normalised_and_must_be_safe_for_the_token() -> None:
    assert api_root_from(with_credentials({})) == "https://www.googleapis.com/"
    assert api_root_from(with_credentials({"API_ROOT": "http://127.0.0.1:8080"})) == "http://127.0.0.1:8080/"
    with pytest.raises(ConfigurationError, match="plain http"):
        api_root_from(with_credentials({"API_ROOT": "http://analytics.example.org/"}))
