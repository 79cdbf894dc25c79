"""The Google Analytics stand-in answers as Core Reporting v3 and Real Time v3 do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from performanceplatform.collector.standins.google_analytics import GoogleAnalyticsStandIn
from performanceplatform.collector.standins.server import RecordedRequest, Response

BEARER = {"Authorization": "Bearer a-token"}
CORE = {"ids": "ga:123", "start-date": "2014-10-13", "end-date": "2014-10-19", "metrics": "ga:visits",
        "dimensions": "ga:browser"}


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def get(session: requests.Session, stand_in: GoogleAnalyticsStandIn, path: str, params: dict[str, Any],
        headers: dict[str, str] | None = None) -> requests.Response:
    return session.get(f"{stand_in.url}/analytics/v3/data/{path}", params=params,
                       headers=BEARER if headers is None else headers, timeout=5)


def test_core_reporting_shape_and_pages(ga_api: GoogleAnalyticsStandIn, session: requests.Session) -> None:
    ga_api.add_core_rows([[f"b{n}", n] for n in range(5)], start_date="2014-10-13")

    first = get(session, ga_api, "ga", {**CORE, "max-results": 2}).json()

    assert first["kind"] == "analytics#gaData"
    assert first["columnHeaders"] == [
        {"name": "ga:browser", "columnType": "DIMENSION", "dataType": "STRING"},
        {"name": "ga:visits", "columnType": "METRIC", "dataType": "INTEGER"},
    ]
    assert first["rows"] == [["b0", "0"], ["b1", "1"]]
    assert (first["totalResults"], first["itemsPerPage"], first["containsSampledData"]) == (5, 2, False)
    assert first["query"]["start-date"] == "2014-10-13" and first["query"]["metrics"] == ["ga:visits"]
    assert first["totalsForAllResults"] == {"ga:visits": "10"}
    assert "start-index=3" in first["nextLink"] and "max-results=2" in first["nextLink"]

    last = session.get(first["nextLink"].replace("start-index=3", "start-index=5"), headers=BEARER, timeout=5).json()
    assert last["rows"] == [["b4", "4"]] and "nextLink" not in last


def test_queries_nothing_matches_get_no_rows(ga_api: GoogleAnalyticsStandIn, session: requests.Session) -> None:
    ga_api.add_core_rows([["b", 1]], start_date="2014-10-20")

    body = get(session, ga_api, "ga", CORE).json()

    assert "rows" not in body and body["totalResults"] == 0


def test_made_up_rows_fit_the_query(ga_api: GoogleAnalyticsStandIn, session: requests.Session) -> None:
    ga_api.auto_rows = 2

    body = get(session, ga_api, "ga", {**CORE, "dimensions": "ga:date,ga:pagePath"}).json()

    assert body["rows"] == [["20141013", "/page-1", "10"], ["20141014", "/page-2", "20"]]


@pytest.mark.parametrize(
    ("change", "reason", "message"),
    [
        ({"ids": None}, "required", "Required parameter: ids"),
        ({"metrics": "visits"}, "invalidParameter", "Invalid value 'visits' for metrics parameter."),
        ({"ids": "123"}, "invalidParameter", "Invalid value '123' for ids parameter."),
        ({"start-date": "2014-10-20"}, "invalidParameter", "Start date cannot be after end date."),
        ({"filters": "ga:browser==x;os==y"}, "invalidParameter", "Invalid value 'ga:browser==x;os==y' for filters"),
        ({"sort": "-ga:pageviews"}, "invalidParameter", "Sort key -ga:pageviews is not a dimension or metric"),
        ({"max-results": "0"}, "invalidParameter", "Invalid value '0' for max-results parameter."),
    ],
)
def test_bad_queries_get_googles_error_body(
    ga_api: GoogleAnalyticsStandIn, session: requests.Session, change: dict, reason: str, message: str
) -> None:
    params = {key: value for key, value in {**CORE, **change}.items() if value is not None}

    response = get(session, ga_api, "ga", params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400 and error["errors"][0]["reason"] == reason
    assert error["errors"][0]["message"].startswith(message) and error["message"].startswith(message)


def test_a_bearer_token_is_required(ga_api: GoogleAnalyticsStandIn, session: requests.Session) -> None:
    response = get(session, ga_api, "ga", CORE, headers={})

    assert response.status_code == 401
    detail = response.json()["error"]["errors"][0]
    assert detail == {"domain": "global", "reason": "required", "message": "Login Required"}


def test_tokens_can_be_checked(ga_api: GoogleAnalyticsStandIn, session: requests.Session) -> None:
    def authorize(request: RecordedRequest) -> Response | None:
        if request.header("Authorization") == "Bearer good":
            return None
        return Response(401, {"error": {"code": 401, "message": "Invalid Credentials"}})

    ga_api.authorize = authorize

    assert get(session, ga_api, "ga", CORE, headers={"Authorization": "Bearer good"}).status_code == 200
    assert get(session, ga_api, "realtime", {"ids": "ga:1", "metrics": "rt:activeUsers"}).status_code == 401


def test_injected_faults_use_googles_error_shape(ga_api: GoogleAnalyticsStandIn, session: requests.Session) -> None:
    ga_api.fail_next(503)
    ga_api.fail_next_with(403, "userRateLimitExceeded", "User Rate Limit Exceeded")

    assert get(session, ga_api, "ga", CORE).json()["error"]["errors"][0]["reason"] == "backendError"
    limited = get(session, ga_api, "ga", CORE)
    assert limited.status_code == 403
    assert limited.json()["error"] == {
        "errors": [{"domain": "global", "reason": "userRateLimitExceeded", "message": "User Rate Limit Exceeded"}],
        "code": 403,
        "message": "User Rate Limit Exceeded",
    }
    assert get(session, ga_api, "ga", CORE).status_code == 200


def test_realtime_shape(ga_api: GoogleAnalyticsStandIn, session: requests.Session) -> None:
    ga_api.realtime_rows = [["20459"]]

    body = get(session, ga_api, "realtime", {"ids": "ga:74313105", "metrics": "ga:activeVisitors"}).json()

    assert body["kind"] == "analytics#realtimeData"
    assert body["rows"] == [["20459"]] and body["totalResults"] == 1
    assert body["query"] == {"ids": "ga:74313105", "metrics": ["ga:activeVisitors"], "max-results": 1000}
    assert body["profileInfo"]["tableId"] == "realtime:74313105"
    assert get(session, ga_api, "realtime", {"ids": "ga:1", "metrics": "activeUsers"}).status_code == 400
