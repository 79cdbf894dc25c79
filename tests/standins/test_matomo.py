"""The Matomo stand-in speaks the Reporting API as Matomo 5 (and Piwik 2) do, over real HTTP.

Contributors and the demo use it without a Matomo, so its wire format is checked here on its own:
periods and their keys, row limits, both token transports and the POST-only switch, error bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import requests
from freezegun import freeze_time

from performanceplatform.collector.standins.matomo import AUTHENTICATION_FAILED, PIWIK_2, MatomoStandIn


def ask(
    stand_in: MatomoStandIn,
    *,
    transport: str = "body",
    token: str | None = None,
    path: str = "/index.php",
    **parameters: Any,
) -> requests.Response:
    """One API request, the token (the stand-in's unless given) in a POST body (`body`), in a GET
    URL (`url`), or not sent (`none`)."""
    query = {"module": "API", "format": "json", **parameters}
    token = token or stand_in.token_auth
    session = requests.Session()
    session.trust_env = False
    with session:
        if transport == "url":
            return session.get(f"{stand_in.url}{path}", params={**query, "token_auth": token}, timeout=10)
        body = {"token_auth": token} if transport == "body" else {}
        return session.post(f"{stand_in.url}{path}", params=query, data=body, timeout=10)


def test_a_date_range_is_answered_period_by_period_with_matomo_5_s_week_keys(matomo: MatomoStandIn) -> None:
    answer = ask(matomo, method="DevicesDetection.getType", idSite="1", period="week",
                 date="2015-02-04,2015-02-16").json()

    assert list(answer) == ["2015-02-02,2015-02-08", "2015-02-09,2015-02-15", "2015-02-16,2015-02-22"]
    rows = answer["2015-02-09,2015-02-15"]
    assert [row["label"] for row in rows] != []
    assert {row["label"] for row in rows} == {"Desktop", "Smartphone", "Tablet"}
    assert [row["nb_visits"] for row in rows] == sorted((row["nb_visits"] for row in rows), reverse=True)
    # The same question, the same numbers.
    again = ask(matomo, method="DevicesDetection.getType", idSite="1", period="week", date="2015-02-09,2015-02-09")
    assert again.json() == {"2015-02-09,2015-02-15": rows}


def test_piwik_2_names_weeks_from_to_and_counts_in_strings(make_matomo: Callable[..., MatomoStandIn]) -> None:
    piwik = make_matomo(flavour=PIWIK_2)

    weeks = ask(piwik, method="UserSettings.getBrowserVersion", idSite="9", period="week", date="2015-02-02,2015-02-08")
    counters = ask(piwik, method="Live.getCounters", idSite="9", lastMinutes="2")

    assert list(weeks.json()) == ["From 2015-02-02 to 2015-02-08"]
    assert "Chrome 40.0" in {row["label"] for row in weeks.json()["From 2015-02-02 to 2015-02-08"]}
    [count] = counters.json()
    assert set(count) == {"visits", "actions", "visitors", "visitsConverted"}
    assert all(isinstance(value, str) and value.isdigit() for value in count.values())


@pytest.mark.parametrize(
    ("period", "date_parameter", "keys"),
    [
        ("day", "2015-02-27,2015-03-02", ["2015-02-27", "2015-02-28", "2015-03-01", "2015-03-02"]),
        ("month", "2014-11-15,2015-01-02", ["2014-11", "2014-12", "2015-01"]),
        ("week", "previous2", ["2015-02-02,2015-02-08", "2015-02-09,2015-02-15"]),
        ("day", "previous1", ["2015-02-17"]),
        ("month", "last2", ["2015-01", "2015-02"]),
    ],
)
@freeze_time("2015-02-18 10:00:00")
def test_days_months_and_relative_dates(
    matomo: MatomoStandIn, period: str, date_parameter: str, keys: list[str]
) -> None:
    answer = ask(matomo, method="Goals.get", idSite="9", period=period, date=date_parameter, idGoal="1").json()

    assert list(answer) == keys
    assert all(set(value) >= {"nb_conversions", "nb_visits_converted", "conversion_rate"} for value in answer.values())


def test_one_date_is_answered_bare(matomo: MatomoStandIn) -> None:
    answer = ask(matomo, method="API.get", idSite="1", period="day", date="2015-02-13").json()
    assert "nb_visits" in answer


def test_reports_stop_at_100_rows_unless_the_request_says_otherwise(matomo: MatomoStandIn) -> None:
    rows = [{"label": f"Browser {number}.0", "nb_visits": 1000 - number} for number in range(150)]
    matomo.set_report("DevicesDetection.getBrowserVersions", {date(2015, 2, 2): rows})

    def count(**limit: str) -> int:
        answer = ask(matomo, method="DevicesDetection.getBrowserVersions", idSite="1", period="week",
                     date="2015-02-02,2015-02-08", **limit).json()
        return len(answer["2015-02-02,2015-02-08"])

    assert (count(), count(filter_limit="-1"), count(filter_limit="7")) == (100, 150, 7)


def test_a_post_token_is_accepted_and_a_get_token_refused_as_matomo_5_refuses_secure_only_tokens(
    matomo: MatomoStandIn,
) -> None:
    parameters = {"method": "API.get", "idSite": "1", "period": "day", "date": "2015-02-13"}

    posted = ask(matomo, **parameters)
    in_url = ask(matomo, transport="url", **parameters)

    assert posted.status_code == 200 and "nb_visits" in posted.json()
    assert (in_url.status_code, in_url.json()) == (401, {"result": "error", "message": AUTHENTICATION_FAILED})
    assert [call.token_in for call in matomo.api_calls()] == ["body", "url"]


def test_with_the_switch_off_a_get_token_works_as_older_tokens_do(make_matomo: Callable[..., MatomoStandIn]) -> None:
    matomo = make_matomo(post_tokens_only=False)
    answer = ask(matomo, transport="url", method="API.get", idSite="1", period="day", date="2015-02-13")
    assert answer.status_code == 200 and "nb_visits" in answer.json()


def test_a_wrong_or_missing_token_is_401_from_matomo_5_and_a_200_error_from_piwik_2(
    make_matomo: Callable[..., MatomoStandIn],
) -> None:
    matomo, piwik = make_matomo(), make_matomo(flavour=PIWIK_2)
    parameters = {"method": "API.get", "idSite": "9", "period": "day", "date": "2015-02-13"}

    wrong = ask(matomo, token="another-token", **parameters)
    missing = ask(matomo, transport="none", **parameters)
    piwik_wrong = ask(piwik, token="another-token", **parameters)

    assert (wrong.status_code, wrong.json()["message"]) == (401, AUTHENTICATION_FAILED)
    assert missing.status_code == 401 and "requires 'view' access for the website id = 9" in missing.json()["message"]
    assert piwik_wrong.status_code == 200 and piwik_wrong.json()["result"] == "error"


def test_errors_come_in_matomo_s_shape(matomo: MatomoStandIn) -> None:
    unknown_site = ask(matomo, method="API.get", idSite="99", period="day", date="2015-02-13")
    removed = ask(matomo, method="UserSettings.getBrowserVersion", idSite="1", period="week", date="previous1")
    unknown_method = ask(matomo, method="Goals.getNothing", idSite="1", period="week", date="previous1")
    matomo.visits_log_enabled = False
    live = ask(matomo, method="Live.getCounters", idSite="1", lastMinutes="2")

    assert unknown_site.status_code == 200
    assert unknown_site.json() == {"result": "error", "message": "An unexpected website was found in the request: "
                                                                 "website id was set to '99' ."}
    assert removed.status_code == 400 and "The plugin UserSettings is not enabled" in removed.json()["message"]
    assert unknown_method.status_code == 400 and "'getNothing' does not exist" in unknown_method.json()["message"]
    assert live.status_code == 200 and live.json()["message"].startswith("Visits log is deactivated")


def test_an_injected_429_is_matomo_cloud_s_rate_limit(matomo: MatomoStandIn) -> None:
    matomo.fail_next(429, headers={"Retry-After": "30"})

    limited = ask(matomo, method="API.get", idSite="1", period="day", date="2015-02-13")
    after = ask(matomo, method="API.get", idSite="1", period="day", date="2015-02-13")

    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert limited.json()["result"] == "error"
    assert after.status_code == 200


def test_it_answers_under_a_prefix_and_at_the_root(matomo: MatomoStandIn) -> None:
    for path in ("/matomo/index.php", "/", "/piwik/"):
        assert "nb_visits" in ask(matomo, path=path, method="API.get", idSite="1", period="day",
                                  date="2015-02-13").json()
