"""The Pingdom client's parts on their own: credentials, classify, check lookup, one summary window.

Flows go over real HTTP to the stand-in; `classify` is tested on hand-built responses.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from performanceplatform.collector.errors import (
    ConfigurationError,
    FatalUpstreamError,
    RetryableError,
)
from performanceplatform.collector.http import HttpResponse
from performanceplatform.collector.pingdom.client import (
    API_2_0_URL,
    API_3_1_URL,
    Check,
    HourlySummary,
    PingdomClient,
    classify,
    connection_from_credentials,
    rate_limit_wait,
)
from performanceplatform.collector.pingdom.records import record_for_hour
from performanceplatform.collector.redaction import PLACEHOLDER, redact
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from performanceplatform.collector.standins.server import RecordedRequest, Response

HOUR = 3600


# Credentials -------------------------------------------------------------------------------------


def test_an_api_token_selects_api_3_1_with_a_bearer_token() -> None:
    connection = connection_from_credentials({"api_token": "tok-3.1-secret"})
    assert connection.version == "3.1"
    assert connection.base_url == API_3_1_URL
    assert connection.headers == {"Authorization": "Bearer tok-3.1-secret"}
    assert connection.auth is None


def test_user_password_and_app_key_select_api_2_0_with_basic_auth() -> None:
    connection = connection_from_credentials(
        {"user": "me@example.com", "password": "pw-secret", "app_key": "key-secret"}
    )
    assert connection.version == "2.0"
    assert connection.base_url == API_2_0_URL
    assert connection.auth == ("me@example.com", "pw-secret")
    assert connection.headers == {"App-Key": "key-secret"}


def test_account_email_adds_its_header() -> None:
    connection = connection_from_credentials(
        {"user": "u@x", "password": "pw", "app_key": "k", "account_email": "team@example.com"}
    )
    assert connection.headers == {"App-Key": "k", "Account-Email": "team@example.com"}


@pytest.mark.parametrize("api_url", ["http://127.0.0.1:9/api/3.1", "http://127.0.0.1:9/api/3.1/"])
def test_api_url_replaces_the_base_with_or_without_a_trailing_slash(api_url: str) -> None:
    connection = connection_from_credentials({"api_token": "tok", "api_url": api_url})
    assert connection.url("checks") == "http://127.0.0.1:9/api/3.1/checks"


def test_a_file_of_neither_shape_says_what_is_accepted() -> None:
    with pytest.raises(ConfigurationError) as raised:
        connection_from_credentials({"CLIENT_SECRETS": "x.json", "STORAGE_PATH": "y"})
    message = str(raised.value)
    assert message.startswith("credentials file: ")
    assert '"api_token"' in message and '"app_key"' in message and "account_email" in message
    assert "'CLIENT_SECRETS'" in message
    assert raised.value.exit_code == 2


def test_a_half_2_0_file_names_the_missing_keys_and_not_the_secrets() -> None:
    with pytest.raises(ConfigurationError) as raised:
        connection_from_credentials({"user": "u@x", "password": "hunter2-secret"})
    assert "missing 'app_key'" in str(raised.value)
    assert "hunter2-secret" not in str(raised.value)


def test_a_credential_that_is_not_a_string_is_named() -> None:
    with pytest.raises(ConfigurationError) as raised:
        connection_from_credentials({"api_token": 12345})
    assert raised.value.key == "api_token"
    assert "12345" not in str(raised.value)


def test_the_secrets_are_registered_for_redaction() -> None:
    connection_from_credentials(
        {"user": "u@x", "password": "pw-9f8e7d", "app_key": "ak-1a2b3c", "api_token": "tk-4d5e6f"}
    )
    assert redact("pw-9f8e7d ak-1a2b3c tk-4d5e6f") == " ".join([PLACEHOLDER] * 3)


# classify ----------------------------------------------------------------------------------------


def response(status: int, body: object = None, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, headers or {}, json.dumps(body).encode() if body is not None else b"")


def pingdom_error(status: int, desc: str, message: str) -> dict[str, object]:
    return {"error": {"statuscode": status, "statusdesc": desc, "errormessage": message}}


def test_2xx_passes() -> None:
    classify("Pingdom", response(200, {"checks": []}))


def test_401_is_fatal_with_pingdoms_own_message() -> None:
    with pytest.raises(FatalUpstreamError) as raised:
        classify("Pingdom", response(401, pingdom_error(401, "Unauthorized", "Invalid email and/or password")))
    assert str(raised.value) == "Pingdom answered 401 Unauthorized: Invalid email and/or password"
    assert raised.value.status == 401


def test_403_is_fatal() -> None:
    with pytest.raises(FatalUpstreamError, match="Forbidden: Invalid application key"):
        classify("Pingdom", response(403, pingdom_error(403, "Forbidden", "Invalid application key")))


def test_429_waits_as_retry_after_says() -> None:
    with pytest.raises(RetryableError) as raised:
        classify(
            "Pingdom",
            response(
                429,
                pingdom_error(429, "Too Many Requests", "Request limit exceeded, try again later"),
                {"Retry-After": "7", "Req-Limit-Short": "Remaining: 0 Time until reset: 30"},
            ),
        )
    assert raised.value.retry_after == 7


def test_429_without_retry_after_waits_for_the_exhausted_limit_to_reset() -> None:
    with pytest.raises(RetryableError) as raised:
        classify(
            "Pingdom",
            response(
                429,
                pingdom_error(429, "Too Many Requests", "Request limit exceeded, try again later"),
                {
                    "Req-Limit-Short": "Remaining: 0 Time until reset: 42",
                    "Req-Limit-Long": "Remaining: 71994 Time until reset: 2591989",
                },
            ),
        )
    assert raised.value.retry_after == 42
    assert "Req-Limit-Short: 0 remaining, resets in 42 s" in str(raised.value)


def test_rate_limit_wait_takes_the_longest_exhausted_limit() -> None:
    headers = CaseInsensitiveDict(
        {
            "Req-Limit-Short": "Remaining: 0 Time until reset: 42",
            "Req-Limit-Long": "Remaining: 0 Time until reset: 2591989",
        }
    )
    assert rate_limit_wait(headers) == 2591989
    assert rate_limit_wait(CaseInsensitiveDict({"Req-Limit-Short": "Remaining: 3 Time until reset: 9"})) is None


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_5xx_is_retryable(status: int) -> None:
    with pytest.raises(RetryableError) as raised:
        classify("Pingdom", response(status, pingdom_error(status, "Oops", "try later")))
    assert raised.value.retry_after is None


def test_an_error_without_pingdoms_body_still_explains_itself() -> None:
    with pytest.raises(FatalUpstreamError, match="404 no such thing"):
        classify("Pingdom", response(404, {"message": "no such thing"}))


# Check lookup ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.0", "3.1"])
def test_a_check_is_found_by_exact_name(pingdom: PingdomStandIn, version: str) -> None:
    client = PingdomClient.from_credentials(pingdom.credentials(version))
    name = "Electronic Vehicle Licensing - Sorn"
    assert client.find_check(name) == Check(pingdom.check_id(name), name)
    [request] = pingdom.requests_to(r"/checks$")
    assert request.path == f"/api/{version}/checks"


def test_api_3_1_follows_limit_and_offset_pages(make_pingdom) -> None:
    names = [f"check-{n}" for n in range(7)]
    pingdom = make_pingdom(names, page_limit=3)
    client = PingdomClient.from_credentials(pingdom.credentials("3.1"))
    assert client.find_check("check-6").id == pingdom.check_id("check-6")
    offsets = [request.param("offset") for request in pingdom.requests_to(r"/checks$")]
    assert offsets == ["0", "3", "6"]
    assert [c["name"] for c in client.checks()] == names


def test_several_checks_with_one_name_use_the_first_and_warn(
    make_pingdom, caplog: pytest.LogCaptureFixture
) -> None:
    pingdom = make_pingdom(["report-a-lost-or-stolen-passport", "other"])
    second = pingdom.add_check("report-a-lost-or-stolen-passport")
    client = PingdomClient.from_credentials(pingdom.credentials("3.1"))
    with caplog.at_level(logging.WARNING):
        check = client.find_check("report-a-lost-or-stolen-passport")
    assert check.id == pingdom.check_id("report-a-lost-or-stolen-passport") != second.id
    assert "2 Pingdom checks are named 'report-a-lost-or-stolen-passport'" in caplog.text


def test_a_missing_check_names_the_closest(pingdom: PingdomStandIn) -> None:
    client = PingdomClient.from_credentials(pingdom.credentials("3.1"))
    with pytest.raises(FatalUpstreamError) as raised:
        client.find_check("electronic vehicle licensing - sorn ")
    assert str(raised.value) == (
        "Pingdom has no check named 'electronic vehicle licensing - sorn ' "
        "(closest names: 'Electronic Vehicle Licensing - Sorn')"
    )


def test_a_missing_check_with_nothing_close_says_so(pingdom: PingdomStandIn) -> None:
    client = PingdomClient.from_credentials(pingdom.credentials("2.0"))
    with pytest.raises(FatalUpstreamError, match=r"none of the account's 3 checks has a similar name"):
        client.find_check("zzzz")


# Authentication at the stand-in ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "change", "status", "message"),
    [
        ("2.0", {"password": "wrong"}, 401, "Invalid email and/or password"),
        ("2.0", {"app_key": "wrong"}, 403, "Invalid application key"),
        ("2.0", {"account_email": "stranger@example.com"}, 403, "Account-Email"),
        ("3.1", {"api_token": "wrong"}, 401, "Invalid or missing API token"),
    ],
)
def test_bad_credentials_fail_at_once_with_pingdoms_message(
    pingdom: PingdomStandIn, version: str, change: dict[str, str], status: int, message: str
) -> None:
    client = PingdomClient.from_credentials({**pingdom.credentials(version), **change})
    with pytest.raises(FatalUpstreamError, match=message) as raised:
        client.find_check("carers_allowance")
    assert raised.value.status == status
    assert len(pingdom.requests) == 1


def test_a_multi_user_account_needs_account_email(make_pingdom) -> None:
    pingdom = make_pingdom(["carers_allowance"], account_email="team@example.gov.uk")
    credentials = pingdom.credentials("2.0")
    assert credentials["account_email"] == "team@example.gov.uk"
    assert PingdomClient.from_credentials(credentials).find_check("carers_allowance")
    [request] = pingdom.requests
    assert request.header("Account-Email") == "team@example.gov.uk"
    assert request.header("App-Key") == pingdom.app_key
    without = {k: v for k, v in credentials.items() if k != "account_email"}
    with pytest.raises(FatalUpstreamError, match="403 Forbidden"):
        PingdomClient.from_credentials(without).find_check("carers_allowance")


def test_3_1_also_accepts_the_token_as_basic_auth_user(pingdom: PingdomStandIn) -> None:
    answer = requests.get(
        pingdom.base_url("3.1") + "checks", auth=(pingdom.api_token, ""), timeout=5
    )
    assert answer.status_code == 200


def test_every_answer_carries_the_rate_limit_headers(make_pingdom) -> None:
    pingdom = make_pingdom(["a"], short_limit=(2, 3600))
    url = pingdom.base_url("3.1") + "checks"
    headers = {"Authorization": f"Bearer {pingdom.api_token}"}
    answers = [requests.get(url, headers=headers, timeout=5) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["Req-Limit-Short"].startswith("Remaining: 1 Time until reset: ")
    assert answers[2].headers["Req-Limit-Short"].startswith("Remaining: 0 Time until reset: ")
    assert answers[2].json()["error"]["errormessage"] == "Request limit exceeded, try again later"
    assert "Req-Limit-Long" in answers[1].headers
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert "Req-Limit-Short" in wrong.headers


# Summary windows ---------------------------------------------------------------------------------


def test_one_window_returns_the_hours_starting_in_from_to(pingdom: PingdomStandIn) -> None:
    client = PingdomClient.from_credentials(pingdom.credentials("3.1"))
    check = client.find_check("carers_allowance")
    start = datetime(2013, 6, 15, 20, tzinfo=UTC)
    hours = client.hourly_summary(check, start, start + timedelta(hours=3))
    starts = [int(hour.start.timestamp()) for hour in hours]
    first = int(start.timestamp())
    assert starts == [first, first + HOUR, first + 2 * HOUR]
    assert hours[1] == HourlySummary(
        start=datetime(2013, 6, 15, 21, tzinfo=UTC),
        **{k: v for k, v in PingdomStandIn.hour_summary(check.id, first + HOUR).items() if k != "starttime"},
    )
    [request] = pingdom.requests_to(r"summary\.performance")
    assert request.path == f"/api/3.1/summary.performance/{check.id}"
    assert request.query == {
        "includeuptime": ["true"],
        "resolution": ["hour"],
        "from": [str(first)],
        "to": [str(first + 3 * HOUR)],
    }


def test_a_window_longer_than_the_api_takes_is_refused_before_sending(pingdom: PingdomStandIn) -> None:
    client = PingdomClient.from_credentials(pingdom.credentials("3.1"))
    start = datetime(2013, 6, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="split it first"):
        client.hourly_summary(Check(1, "x"), start, start + timedelta(days=7, hours=1))
    assert pingdom.requests == []


def test_hours_outside_the_window_are_dropped(make_pingdom) -> None:
    # A server that also returns the hour starting at `to` must not make it appear twice.
    class Inclusive(PingdomStandIn):
        def dispatch(self, request: RecordedRequest) -> Response:
            answer = super().dispatch(request)
            if "summary.performance" in request.path:
                to = int(request.param("to") or 0)
                answer.body["summary"]["hours"].append(self.hour_summary(self.check_id("a"), to))
            return answer

    pingdom = Inclusive(["a"]).start()
    try:
        client = PingdomClient.from_credentials(pingdom.credentials("2.0"))
        start = datetime(2013, 6, 15, tzinfo=UTC)
        hours = client.hourly_summary(client.find_check("a"), start, start + timedelta(hours=2))
        assert [hour.start.hour for hour in hours] == [0, 1]
    finally:
        pingdom.stop()


# The stand-in's own rules --------------------------------------------------------------------------


def summary(pingdom: PingdomStandIn, **params: str) -> requests.Response:
    return requests.get(
        pingdom.base_url("3.1") + f"summary.performance/{pingdom.check_id('carers_allowance')}",
        params=params,
        headers={"Authorization": f"Bearer {pingdom.api_token}"},
        timeout=5,
    )


def test_the_stand_in_refuses_hourly_spans_over_7_days(pingdom: PingdomStandIn) -> None:
    start = 1370044800
    assert summary(pingdom, **{"from": str(start), "to": str(start + 7 * 24 * HOUR)}).status_code == 200
    refused = summary(pingdom, **{"from": str(start), "to": str(start + 7 * 24 * HOUR + 1)})
    assert refused.status_code == 400
    assert refused.json()["error"]["statuscode"] == 400


def test_the_stand_in_refuses_the_originals_float_epochs(pingdom: PingdomStandIn) -> None:
    refused = summary(pingdom, **{"from": "1370044800.0", "to": "1370048400.0"})
    assert refused.status_code == 400
    assert refused.json()["error"]["errormessage"] == "Invalid parameter value: to"


def test_the_stand_in_leaves_out_uptime_unless_asked(pingdom: PingdomStandIn) -> None:
    body = summary(pingdom, **{"from": "1370044800", "to": "1370048400"}).json()
    assert set(body["summary"]["hours"][0]) == {"starttime", "avgresponse"}


# Records -----------------------------------------------------------------------------------------


def test_an_hour_becomes_the_originals_record() -> None:
    # original-behaviour.md §11 item 24: starttime 1356998400 is 2013-01-01T00:00Z.
    hour = HourlySummary(datetime.fromtimestamp(1356998400, UTC), 255, 3560, 40, 0)
    assert record_for_hour(hour, "name with whitespace") == {
        "_id": "name_with_whitespace.2013-01-01T00:00:00+00:00",
        "_timestamp": "2013-01-01T00:00:00+00:00",
        "avgresponse": 255,
        "uptime": 3560,
        "downtime": 40,
        "unmonitored": 0,
        "check": "name with whitespace",
    }
