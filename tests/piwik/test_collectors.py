"""`pp-collector` with `piwik.core` and `piwik.realtime`, end to end: the CLI, the Matomo stand-in over
real HTTP, the Backdrop stand-in.

Expected records are written out here from what the stand-in answered (asked directly, in one
request for the whole range, as the original asked), never from the collector's own code.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from freezegun import freeze_time

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.matomo import AUTHENTICATION_FAILED, PIWIK_2, MatomoStandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.cli import CliResult, ConfigFiles
from tests.support.matomo import DEVICES_OPTIONS, DEVICES_QUERY, REALTIME, MatomoCollector

YEAR = ("-s", "2014-01-01", "-e", "2014-12-31")


def one_line(result: CliResult) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def answer_in_one_request(matomo: MatomoStandIn, method: str, period: str, date_parameter: str) -> dict[str, Any]:
    """What the stand-in answers to the original's single request for the whole range."""
    session = requests.Session()
    session.trust_env = False
    with session:
        response = session.post(
            matomo.credentials()["url"],
            params={"module": "API", "method": method, "idSite": "1", "format": "json", "period": period,
                    "date": date_parameter, "filter_limit": "-1"},
            data={"token_auth": matomo.token_auth},
            timeout=10,
        )
    response.raise_for_status()
    return response.json()


def device_records(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The records the original made of a DevicesDetection.getType answer with DEVICES_OPTIONS."""
    records = []
    for key, rows in answer.items():
        start = key.removeprefix("From ")[:10]
        for row in rows:
            human = f"{DATA_TYPE}{start} 00:00:00+00:00week{row['label']}"
            records.append({
                "_timestamp": f"{start}T00:00:00+00:00", "dataType": DATA_TYPE, "timeSpan": "week",
                "devices": row["label"], "sessions": row["nb_visits"], "humanId": human, "_id": b64(human),
            })
    return records


# What is asked, and what lands ---------------------------------------------------------------------


@freeze_time("2015-02-18 10:00:00")
def test_without_dates_the_last_complete_week_is_asked_once(matomo_collector: MatomoCollector) -> None:
    matomo = matomo_collector.matomo

    result = matomo_collector.run(DEVICES_QUERY, DEVICES_OPTIONS)

    assert result.exit_code == 0, result.all_output()
    [call] = matomo.api_calls()
    assert call.parameters == {
        "module": "API", "method": "DevicesDetection.getType", "idSite": "1", "format": "json", "period": "week",
        "date": "previous1", "filter_limit": "-1", "token_auth": matomo.token_auth,
    }
    expected = device_records(answer_in_one_request(matomo, "DevicesDetection.getType", "week", "previous1"))
    assert [record["_timestamp"] for record in expected] == ["2015-02-09T00:00:00+00:00"] * 3
    assert matomo_collector.records() == expected


def test_a_weekly_backfill_across_a_year_is_the_one_request_answer_in_period_order(
    matomo_collector: MatomoCollector,
) -> None:
    matomo = matomo_collector.matomo

    # One chunk at a time, so that the records land in the order they were pushed.
    result = matomo_collector.run(DEVICES_QUERY, DEVICES_OPTIONS, *YEAR, "--concurrency", "3",
                                  "--push-concurrency", "1")

    assert result.exit_code == 0, result.all_output()
    # A quarter of weeks a request (several at once, so in any order); the run's own first and last
    # date at the ends.
    assert sorted(call.parameters["date"] for call in matomo.api_calls()) == [
        "2014-01-01,2014-03-30", "2014-03-31,2014-06-29", "2014-06-30,2014-09-28", "2014-09-29,2014-12-28",
        "2014-12-29,2014-12-31",
    ]
    one_request = answer_in_one_request(matomo, "DevicesDetection.getType", "week", "2014-01-01,2014-12-31")
    assert len(one_request) == 53 and next(iter(one_request)) == "2013-12-30,2014-01-05"
    landed = matomo_collector.records()
    assert landed == device_records(one_request)
    timestamps = [record["_timestamp"] for record in landed]
    assert timestamps == sorted(timestamps)
    assert matomo_collector.pushes() == 2  # 159 records in chunks of 100


def test_both_week_key_forms_give_the_same_records(
    make_matomo: Callable[..., MatomoStandIn], configs: ConfigFiles, backdrop: BackdropStandIn
) -> None:
    landed = {}
    for flavour in ("matomo5", PIWIK_2):
        backdrop.reset()
        backdrop.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN)
        collector = MatomoCollector(configs, make_matomo(flavour=flavour), backdrop)
        result = collector.run(DEVICES_QUERY, DEVICES_OPTIONS, "-s", "2015-01-05", "-e", "2015-02-01")
        assert result.exit_code == 0, result.all_output()
        landed[flavour] = collector.records()
    piwik_answer = answer_in_one_request(collector.matomo, "DevicesDetection.getType", "week", "2015-01-05,2015-02-01")
    assert next(iter(piwik_answer)) == "From 2015-01-05 to 2015-01-11"
    assert len(landed["matomo5"]) == 12
    assert landed["matomo5"] == landed[PIWIK_2]


def test_days_and_months_are_their_own_periods(matomo_collector: MatomoCollector) -> None:
    goals = {"site_id": "9", "api_method": "Goals.get", "api_method_arguments": {"idGoal": "3"}}
    options = {"mappings": {"nb_conversions": "count"}, "idMapping": ["_timestamp", "timeSpan"]}

    daily = matomo_collector.run({**goals, "frequency": "daily"}, options, "-s", "2015-01-30", "-e", "2015-02-02")
    monthly = matomo_collector.run({**goals, "frequency": "monthly"}, options, "-s", "2014-11-15", "-e", "2015-01-02")

    assert daily.exit_code == monthly.exit_code == 0
    assert [(record["_timestamp"][:10], record["timeSpan"]) for record in matomo_collector.records()] == [
        ("2015-01-30", "day"), ("2015-01-31", "day"), ("2015-02-01", "day"), ("2015-02-02", "day"),
        ("2014-11-01", "month"), ("2014-12-01", "month"), ("2015-01-01", "month"),
    ]
    assert {call.parameters["idGoal"] for call in matomo_collector.matomo.api_calls()} == {"3"}


def test_the_token_is_posted_and_never_appears_in_a_url_a_log_or_the_dry_run(
    matomo_collector: MatomoCollector,
) -> None:
    matomo = matomo_collector.matomo
    assert matomo.post_tokens_only  # Matomo 5's default: a token in a URL would be refused

    result = matomo_collector.run(DEVICES_QUERY, DEVICES_OPTIONS, "-s", "2015-02-02", "-e", "2015-02-08", "--dry-run")

    assert result.exit_code == 0, result.all_output()
    [request] = matomo.requests
    assert request.method == "POST"
    assert "token_auth" not in request.query
    assert request.body == f"token_auth={matomo.token_auth}".encode()
    assert request.header("Content-Type") == "application/x-www-form-urlencoded"
    assert matomo.token_auth not in result.all_output()
    assert f"POST {matomo_collector.backdrop.url}/data/{DATA_GROUP}/{DATA_TYPE}" in result.stdout
    assert '"devices":"Desktop"' in result.stdout.replace(" ", "")
    assert matomo_collector.pushes() == 0


def test_user_settings_browser_version_is_asked_as_devices_detection_with_a_warning(
    matomo_collector: MatomoCollector,
) -> None:
    query = {"site_id": "1", "api_method": "UserSettings.getBrowserVersion", "frequency": "weekly"}
    options = {"mappings": {"label": "browser", "nb_visits": "sessions"},
               "idMapping": ["dataType", "_timestamp", "timeSpan", "browser"]}

    result = matomo_collector.run(query, options, "-s", "2015-02-02", "-e", "2015-02-08")

    assert result.exit_code == 0, result.all_output()
    assert [call.parameters["method"] for call in matomo_collector.matomo.api_calls()] == [
        "DevicesDetection.getBrowserVersions"
    ]
    assert ("WARNING" in result.text_log() and "UserSettings.getBrowserVersion was removed in Piwik 2.14; asking "
            "DevicesDetection.getBrowserVersions" in result.text_log())
    assert "Chrome 124.0" in {record["browser"] for record in matomo_collector.records()}


def test_every_row_is_asked_for_unless_the_query_sets_a_filter_limit(matomo_collector: MatomoCollector) -> None:
    rows = [{"label": f"Browser {number}.0", "nb_visits": 1000 - number} for number in range(150)]
    matomo_collector.matomo.set_report("DevicesDetection.getBrowserVersions", {date(2015, 2, 2): rows})
    query = {"site_id": "1", "api_method": "DevicesDetection.getBrowserVersions"}
    options = {"mappings": {"label": "browser", "nb_visits": "sessions"}, "idMapping": ["_timestamp", "browser"]}
    week = ("-s", "2015-02-02", "-e", "2015-02-08")

    everything = matomo_collector.run(query, options, *week)
    count_everything = len(matomo_collector.records())
    matomo_collector.backdrop.reset()
    matomo_collector.backdrop.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN)
    limited = matomo_collector.run({**query, "api_method_arguments": {"filter_limit": "10"}}, options, *week)

    assert everything.exit_code == limited.exit_code == 0
    assert (count_everything, len(matomo_collector.records())) == (150, 10)
    assert [call.parameters["filter_limit"] for call in matomo_collector.matomo.api_calls()] == ["-1", "10"]


def test_api_method_arguments_go_last_and_a_date_there_is_asked_as_written(matomo_collector: MatomoCollector) -> None:
    query = {**DEVICES_QUERY, "api_method_arguments": {"date": "2015-01-05,2015-01-18"}}

    result = matomo_collector.run(query, DEVICES_OPTIONS, *YEAR)

    assert result.exit_code == 0, result.all_output()
    assert [call.parameters["date"] for call in matomo_collector.matomo.api_calls()] == ["2015-01-05,2015-01-18"]
    assert {record["_timestamp"] for record in matomo_collector.records()} == {
        "2015-01-05T00:00:00+00:00", "2015-01-12T00:00:00+00:00"
    }


def test_a_period_in_api_method_arguments_is_asked_once_over_the_whole_range(matomo_collector: MatomoCollector) -> None:
    query = {**DEVICES_QUERY, "api_method_arguments": {"period": "month"}}

    result = matomo_collector.run(query, DEVICES_OPTIONS, *YEAR)

    assert result.exit_code == 0, result.all_output()
    [call] = matomo_collector.matomo.api_calls()
    assert (call.parameters["period"], call.parameters["date"]) == ("month", "2014-01-01,2014-12-31")
    # As the original: timeSpan follows the query's frequency, the periods Matomo's answer.
    assert {(record["_timestamp"][8:10], record["timeSpan"]) for record in matomo_collector.records()} == {
        ("01", "week")
    }
    assert len(matomo_collector.records()) == 12 * 3


# Matomo's errors --------------------------------------------------------------------------------------


def test_a_result_error_body_is_one_line_with_matomo_s_message(matomo_collector: MatomoCollector) -> None:
    result = matomo_collector.run({**DEVICES_QUERY, "site_id": "99"}, DEVICES_OPTIONS)

    assert result.exit_code == 1
    assert one_line(result) == (
        "pp-collector: error: Matomo answered DevicesDetection.getType for site 99 with an error: An unexpected "
        "website was found in the request: website id was set to '99' ."
    )
    assert len(matomo_collector.matomo.requests) == 1  # not retried
    assert matomo_collector.pushes() == 0


def test_401_is_one_line_naming_the_credentials_file(matomo_collector: MatomoCollector) -> None:
    credentials = {**matomo_collector.matomo.credentials(), "token_auth": "an-expired-token-0123"}

    result = matomo_collector.run(DEVICES_QUERY, DEVICES_OPTIONS, credentials=credentials)

    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith(f"pp-collector: error: Matomo answered 401: {AUTHENTICATION_FAILED}; check token_auth in "
                           "credentials file ")
    assert str(matomo_collector.configs.root / "credentials.json") in line
    assert "an-expired-token-0123" not in result.all_output()
    assert len(matomo_collector.matomo.requests) == 1


def test_a_removed_method_matomo_refuses_gets_a_hint(matomo_collector: MatomoCollector) -> None:
    result = matomo_collector.run({**DEVICES_QUERY, "api_method": "UserSettings.getOS"}, DEVICES_OPTIONS)

    assert result.exit_code == 1
    line = one_line(result)
    assert "Matomo answered 400: The plugin UserSettings is not enabled" in line


def test_429_is_retried_after_the_wait_matomo_asks_for(matomo_collector: MatomoCollector) -> None:
    matomo_collector.matomo.fail_next(429, headers={"Retry-After": "1"})

    result = matomo_collector.run(DEVICES_QUERY, DEVICES_OPTIONS, "-s", "2015-02-02", "-e", "2015-02-08")

    assert result.exit_code == 0, result.all_output()
    assert [call.status for call in matomo_collector.matomo.api_calls()] == [429, 200]
    assert "Matomo answered 429: Rate limit exceeded, please try again later; retrying in 1.00 s" in result.text_log()
    assert len(matomo_collector.records()) == 3


def test_a_5xx_is_retried(matomo_collector: MatomoCollector) -> None:
    matomo_collector.matomo.fail_next(503, times=2)

    result = matomo_collector.run(DEVICES_QUERY, DEVICES_OPTIONS, "-s", "2015-02-02", "-e", "2015-02-08")

    assert result.exit_code == 0, result.all_output()
    assert [call.status for call in matomo_collector.matomo.api_calls()] == [503, 503, 200]


def test_an_answer_that_is_not_json_says_where_it_came_from(matomo_collector: MatomoCollector) -> None:
    matomo_collector.matomo.fail_next(200, body="<html><body>Matomo - Sign in</body></html>")

    result = matomo_collector.run(DEVICES_QUERY, DEVICES_OPTIONS)

    assert result.exit_code == 1
    assert "is not JSON (is http://127.0.0.1:" in one_line(result)
    assert "/index.php the address of Matomo's index.php?)" in one_line(result)


def test_a_failed_request_late_in_a_backfill_pushes_nothing(matomo_collector: MatomoCollector) -> None:
    matomo_collector.matomo.fail_next(
        500, times=100, when=lambda request: "2014-09-29" in str(request.query.get("date"))
    )

    result = matomo_collector.run(DEVICES_QUERY, DEVICES_OPTIONS, *YEAR)

    assert result.exit_code == 1
    assert "Matomo answered 500" in one_line(result)
    assert matomo_collector.pushes() == 0


# Bad input ---------------------------------------------------------------------------------------------


def test_a_mapped_column_the_answer_lacks_is_named_with_the_columns_it_has(matomo_collector: MatomoCollector) -> None:
    options = {"mappings": {"label": "devices", "nb_visitz": "sessions"}}

    result = matomo_collector.run(DEVICES_QUERY, options, "-s", "2015-02-02", "-e", "2015-02-08")

    assert result.exit_code == 2
    line = one_line(result)
    assert ("key 'options.mappings': maps 'nb_visitz', which Matomo's DevicesDetection.getType answer does not "
            "have") in line
    assert "its columns are 'label', 'nb_visits', 'nb_actions'" in line
    assert matomo_collector.pushes() == 0


def test_a_column_missing_only_in_a_late_period_pushes_nothing(matomo_collector: MatomoCollector) -> None:
    weeks = {date(2014, 1, 6) + timedelta(weeks=number): [{"label": "Desktop", "nb_visits": number}]
             for number in range(20)}
    weeks[date(2014, 5, 12)] = [{"label": "Desktop", "visits": 3}]  # week 19, in the second request
    matomo_collector.matomo.set_report("DevicesDetection.getType", weeks)

    result = matomo_collector.run(DEVICES_QUERY, DEVICES_OPTIONS, "-s", "2014-01-06", "-e", "2014-05-25")

    assert result.exit_code == 2
    assert "(period '2014-05-12,2014-05-18'); its columns are 'label', 'visits'" in one_line(result)
    assert len(matomo_collector.matomo.api_calls()) == 2
    assert matomo_collector.pushes() == 0


CONFIGURATION_MISTAKES = {
    "no url": ({}, {"url": None}, "missing 'url'"),
    "no token_auth": ({}, {"token_auth": None}, "missing 'token_auth'"),
    "a url that is not one": ({}, {"url": "foo"}, "key 'url': expected the Matomo address"),
    "plain http elsewhere": ({}, {"url": "http://matomo.example.gov.uk/index.php"},
                             "refusing to send the Matomo token_auth over plain http"),
    "no site_id": ({"site_id": None}, {}, "key 'query.site_id': expected the Matomo site's id"),
    "no api_method": ({"api_method": None}, {}, "key 'query.api_method': expected a Reporting API method"),
    "an unknown frequency": ({"frequency": "hourly"}, {}, "key 'query.frequency': expected one of daily, weekly"),
    "a token in the arguments": ({"api_method_arguments": {"token_auth": "x"}}, {},
                                 "'token_auth' belongs in the credentials file"),
}


@pytest.mark.parametrize(("query_change", "credentials_change", "message"), list(CONFIGURATION_MISTAKES.values()),
                         ids=list(CONFIGURATION_MISTAKES))
def test_a_configuration_mistake_is_one_line_exit_2_and_nothing_asked_or_pushed(
    matomo_collector: MatomoCollector, query_change: dict[str, Any], credentials_change: dict[str, Any], message: str
) -> None:
    query = {key: value for key, value in {**DEVICES_QUERY, **query_change}.items() if value is not None}
    credentials = {key: value for key, value in {**matomo_collector.matomo.credentials(), **credentials_change}.items()
                   if value is not None}

    result = matomo_collector.run(query, DEVICES_OPTIONS, credentials=credentials)

    assert result.exit_code == 2
    assert message in one_line(result)
    assert matomo_collector.matomo.requests == []
    assert matomo_collector.pushes() == 0


def test_options_without_mappings_are_refused(matomo_collector: MatomoCollector) -> None:
    result = matomo_collector.run(DEVICES_QUERY, {"idMapping": ["_timestamp"]})

    assert result.exit_code == 2
    assert "key 'options.mappings': is required for Matomo queries" in one_line(result)
    assert matomo_collector.matomo.requests == []


def test_an_end_without_a_start_is_a_usage_error(matomo_collector: MatomoCollector) -> None:
    result = matomo_collector.run(DEVICES_QUERY, DEVICES_OPTIONS, "-e", "2015-02-08")

    assert result.exit_code == 2
    assert "--end was given without --start" in one_line(result)
    assert matomo_collector.matomo.requests == []


def test_check_reports_every_problem_without_a_request(matomo_collector: MatomoCollector) -> None:
    credentials = {"url": matomo_collector.matomo.credentials()["url"]}

    result = matomo_collector.run({"api_method": "Goals.get"}, {}, "--check", credentials=credentials)

    assert result.exit_code == 2
    problems = result.stderr.strip().splitlines()
    assert len(problems) == 3, result.stderr
    assert "key 'query.site_id'" in problems[0]
    assert "key 'options.mappings'" in problems[1]
    assert "missing 'token_auth'" in problems[2] and "credentials file" in problems[2]
    assert matomo_collector.matomo.requests == []


# piwik.realtime -----------------------------------------------------------------------------------------

REALTIME_QUERY = {"site_id": "9", "api_method": "Live.getCounters", "minutes": "1"}


@freeze_time("2015-02-16 12:00:01.654321")
def test_realtime_pushes_the_visitors_now(matomo_collector: MatomoCollector) -> None:
    matomo = matomo_collector.matomo

    result = matomo_collector.run(REALTIME_QUERY, {"additionalFields": {"service": "consular"}}, entrypoint=REALTIME)

    assert result.exit_code == 0, result.all_output()
    [call] = matomo.api_calls()
    assert call.parameters == {"module": "API", "method": "Live.getCounters", "idSite": "9", "format": "json",
                               "lastMinutes": "1", "token_auth": matomo.token_auth}
    assert call.token_in == "body"
    assert matomo_collector.records() == [{
        "_timestamp": "2015-02-16T12:00:01+00:00", "_id": "2015-02-16T12:00:01+00:00",
        "unique_visitors": matomo.counters("9", 1)["visitors"], "for_url": "", "service": "consular",
    }]


def test_realtime_reads_piwik_2_s_strings(
    make_matomo: Callable[..., MatomoStandIn], configs: ConfigFiles, backdrop: BackdropStandIn
) -> None:
    collector = MatomoCollector(configs, make_matomo(flavour=PIWIK_2), backdrop)

    result = collector.run({**REALTIME_QUERY, "minutes": 2}, {}, entrypoint=REALTIME)

    assert result.exit_code == 0, result.all_output()
    [record] = collector.records()
    assert record["unique_visitors"] == collector.matomo.counters("9", 2)["visitors"]


@pytest.mark.parametrize(
    "dates", [("-s", "2015-02-16"), ("-e", "2015-02-16"), ("-s", "2015-02-16", "-e", "2015-02-17")]
)
def test_realtime_refuses_to_backfill_without_asking(matomo_collector: MatomoCollector, dates: tuple[str, ...]) -> None:
    result = matomo_collector.run(REALTIME_QUERY, {}, *dates, entrypoint=REALTIME)

    assert result.exit_code == 1
    assert one_line(result) == "pp-collector: error: Cannot backfill realtime collectors"
    assert matomo_collector.matomo.requests == []
    assert matomo_collector.pushes() == 0


def test_realtime_names_a_disabled_visits_log(matomo_collector: MatomoCollector) -> None:
    matomo_collector.matomo.visits_log_enabled = False

    result = matomo_collector.run(REALTIME_QUERY, {}, entrypoint=REALTIME)

    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith("pp-collector: error: Matomo's visits log is disabled, so it cannot answer "
                           "Live.getCounters for site 9")
    assert "Visits log is deactivated globally" in line
    assert matomo_collector.pushes() == 0


def test_realtime_check_refuses_dates(matomo_collector: MatomoCollector) -> None:
    result = matomo_collector.run(REALTIME_QUERY, {}, "--check", "-s", "2015-02-16", entrypoint=REALTIME)

    assert result.exit_code == 2
    assert "Cannot backfill realtime collectors: drop --start/--end" in one_line(result)
