"""`pp-collector` with a `ga` query file, against the GA, OAuth and Backdrop stand-ins over real HTTP."""

from __future__ import annotations

import base64
import codecs
import json
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.support.google import GaCollector

BROWSERS = {"id": "ga:74473500", "metrics": ["visitors"], "dimensions": ["browser", "browserVersion"]}
WEEK = ("-s", "2014-10-13", "-e", "2014-10-19")


def params(ga_collector: GaCollector, name: str) -> list[str | None]:
    return [request.param(name) for request in ga_collector.ga.core_requests()]


def periods_asked(ga_collector: GaCollector) -> list[tuple[str | None, str | None]]:
    """(start-date, end-date) of each request, sorted: periods are fetched several at a time, so
    they reach the stand-in in any order."""
    return sorted(zip(params(ga_collector, "start-date"), params(ga_collector, "end-date"), strict=True))


def test_a_multi_page_result_is_read_whole_and_in_order(ga_collector: GaCollector) -> None:
    rows = [[f"Browser {n}", f"{n}.0", str(n)] for n in range(1, 2351)]
    ga_collector.ga.add_core_rows(rows)

    # One chunk at a time, so that the records land in GA's order.
    result = ga_collector.run("ga", BROWSERS, {"chunk-size": 1000}, *WEEK, "--push-concurrency", "1")

    assert result.exit_code == 0, result.stderr
    records = ga_collector.records()
    assert [record["visitors"] for record in records] == list(range(1, 2351))
    assert params(ga_collector, "start-index") == [None, "1001", "2001"]


@freeze_time("2014-10-22 08:00:00")
def test_without_dates_the_last_full_week_is_collected(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["Chrome", "38", "5"]], start_date="2014-10-13", end_date="2014-10-19")

    result = ga_collector.run("ga", BROWSERS)

    assert result.exit_code == 0, result.stderr
    assert [(r["_timestamp"], r["timeSpan"], r["visitors"]) for r in ga_collector.records()] == [
        ("2014-10-13T00:00:00+00:00", "week", 5)
    ]


def test_weekly_backfill_queries_each_week(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["Chrome", "38", "1"]], start_date="2014-10-06")
    ga_collector.ga.add_core_rows([["Chrome", "38", "2"]], start_date="2014-10-13")
    ga_collector.ga.add_core_rows([["Chrome", "38", "3"]], start_date="2014-10-20")

    result = ga_collector.run("ga", BROWSERS, {}, "-s", "2014-10-08", "-e", "2014-10-21")

    assert result.exit_code == 0, result.stderr
    assert periods_asked(ga_collector) == [
        ("2014-10-06", "2014-10-12"),
        ("2014-10-13", "2014-10-19"),
        ("2014-10-20", "2014-10-26"),
    ]
    assert [(r["_timestamp"][:10], r["visitors"]) for r in ga_collector.records()] == [
        ("2014-10-06", 1), ("2014-10-13", 2), ("2014-10-20", 3),
    ]


def test_daily_backfill_queries_each_day(ga_collector: GaCollector) -> None:
    for day in ("01", "02", "03"):
        ga_collector.ga.add_core_rows([[f"201304{day}", "7"]], start_date=f"2013-04-{day}")
    query = {"id": "ga:1", "metrics": ["visits"], "dimensions": ["date"], "frequency": "daily"}

    result = ga_collector.run("ga", query, {"dataType": "visits"}, "-s", "2013-04-01", "-e", "2013-04-03")

    assert result.exit_code == 0, result.stderr
    assert periods_asked(ga_collector) == [(f"2013-04-{day}",) * 2 for day in ("01", "02", "03")]
    records = ga_collector.records()
    assert [(r["_timestamp"], r["timeSpan"], r["date"], r["datetime"]) for r in records] == [
        (f"2013-04-{day}T00:00:00+00:00", "day", f"201304{day}", f"2013-04-{day}T00:00:00+00:00")
        for day in ("01", "02", "03")
    ]
    # gapy's datetime dimension follows date in the (Python 2 ordered) default id.
    assert records[0]["humanId"] == "visits_20130401000000_day_20130401_2013-04-01 00:00:00"


def test_monthly_backfill_queries_whole_months(ga_collector: GaCollector) -> None:
    query = {"id": "ga:1", "metrics": ["sessions"], "frequency": "monthly"}
    ga_collector.ga.add_core_rows([["10"]], start_date="2012-12-01")
    ga_collector.ga.add_core_rows([["20"]], start_date="2013-01-01")
    ga_collector.ga.add_core_rows([["30"]], start_date="2013-02-01")

    result = ga_collector.run("ga", query, {}, "-s", "2012-12-20", "-e", "2013-02-05")

    assert result.exit_code == 0, result.stderr
    assert periods_asked(ga_collector) == [
        ("2012-12-01", "2012-12-31"), ("2013-01-01", "2013-01-31"), ("2013-02-01", "2013-02-28"),
    ]
    records = ga_collector.records()
    assert [(r["timeSpan"], r["sessions"]) for r in records] == [("month", 10), ("month", 20), ("month", 30)]
    assert records[0]["humanId"] == "test-type_20121201000000_month"


def test_start_alone_runs_to_the_default_end(ga_collector: GaCollector) -> None:
    with freeze_time("2014-10-22 08:00:00"):
        result = ga_collector.run("ga", BROWSERS, {}, "-s", "2014-10-01")

    assert result.exit_code == 0, result.stderr
    assert [start for start, _ in periods_asked(ga_collector)] == ["2014-09-29", "2014-10-06", "2014-10-13"]


def test_end_alone_is_a_usage_error(ga_collector: GaCollector) -> None:
    result = ga_collector.run("ga", BROWSERS, {}, "-e", "2014-10-19")

    assert result.exit_code == 2
    assert "--end was given without --start" in result.stderr
    assert ga_collector.ga.requests == []


def test_query_parameters_are_built_as_gapy_built_them(ga_collector: GaCollector) -> None:
    query = {
        "id": "ga:94136256",
        "metrics": ["sessions", "users"],
        "dimensions": ["deviceCategory"],
        "filters": ["pagePath=~^/vehicle-tax"],
        "sort": ["-sessions"],
        "maxResults": 20,
        "segment": "sessions::condition::ga:pagePath=~/pay-online/vat",
    }

    assert ga_collector.run("ga", query, {}, *WEEK).exit_code == 0

    (request,) = ga_collector.ga.core_requests()
    assert {name: request.param(name) for name in request.query if name != "alt"} == {
        "ids": "ga:94136256",
        "start-date": "2014-10-13",
        "end-date": "2014-10-19",
        "metrics": "ga:sessions,ga:users",
        "dimensions": "ga:deviceCategory",
        "filters": "ga:pagePath=~^/vehicle-tax",
        "sort": "-ga:sessions",
        "max-results": "20",
        "segment": "sessions::condition::ga:pagePath=~/pay-online/vat",
    }


def test_string_filters_keep_their_ands_and_ors(ga_collector: GaCollector) -> None:
    query = {
        "id": "ga:1", "metrics": ["uniqueEvents"], "dimensions": ["eventCategory"],
        "filters": "ga:pagePath==/account;ga:eventCategory==corporation-tax,ga:eventCategory==epaye",
    }
    assert ga_collector.run("ga", query, {}, *WEEK).exit_code == 0
    assert params(ga_collector, "filters") == [
        "ga:pagePath==/account;ga:eventCategory==corporation-tax,ga:eventCategory==epaye"
    ]


def test_list_filters_are_or_joined_and_empty_values_left_out(ga_collector: GaCollector) -> None:
    query = {"id": "ga:1", "metrics": ["sessions"], "filters": ["pagePath=~/new$", "pagePath=~/old$"],
             "sort": [], "maxResults": 0, "dimensions": []}
    assert ga_collector.run("ga", query, {}, *WEEK).exit_code == 0
    (request,) = ga_collector.ga.core_requests()
    assert request.param("filters") == "ga:pagePath=~/new$,ga:pagePath=~/old$"
    assert {"sort", "max-results", "dimensions", "segment"}.isdisjoint(request.query)


def test_max_results_caps_rows_per_period(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([[f"/page/{n}", str(1000 - n)] for n in range(40)])
    query = {"id": "ga:1", "metrics": ["pageviews"], "dimensions": ["pagePath"], "maxResults": 10,
             "sort": ["-pageviews"]}

    assert ga_collector.run("ga", query, {}, "-s", "2014-10-06", "-e", "2014-10-19").exit_code == 0

    assert params(ga_collector, "max-results") == ["10", "10"]
    records = ga_collector.records()
    assert [(r["_timestamp"][:10], r["pagePath"]) for r in records] == [
        (week, f"/page/{n}") for week in ("2014-10-06", "2014-10-13") for n in range(10)
    ]


def test_mappings_with_multi_value_keys_and_id_mapping(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["journey", "start:pay:now", "3"], ["journey", "done", "4"]])
    query = {"id": "ga:1", "metrics": ["uniqueEvents"], "dimensions": ["eventCategory", "eventLabel"]}
    options = {
        "mappings": {"uniqueEvents": "count", "eventLabel_0": "stage", "eventLabel_2": "detail",
                     "eventLabel_9": "never", "timeSpan": "period"},
        "idMapping": ["_timestamp", "period", "eventCategory", "stage"],
        "additionalFields": {"service": "tax"},
    }

    assert ga_collector.run("ga", query, options, *WEEK).exit_code == 0

    first, second = ga_collector.records()
    assert {k: first[k] for k in ("count", "stage", "detail", "period", "eventLabel", "service")} == {
        "count": 3, "stage": "start", "detail": "now", "period": "week", "eventLabel": "start:pay:now",
        "service": "tax",
    }
    assert "never" not in first and "detail" not in second and second["stage"] == "done"
    assert first["humanId"] == "2014-10-13 00:00:00+00:00weekjourneystart"
    assert first["_id"] == base64.urlsafe_b64encode(b"2014-10-13 00:00:00+00:00weekjourneystart").decode()


def test_compute_rank_and_compute_id_from(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["/b", "90"], ["/a", "80"], ["/c", "70"]])
    query = {"id": "ga:1", "metrics": ["pageviews"], "dimensions": ["pagePath"], "sort": ["-pageviews"]}
    options = {"plugins": ["ComputeRank('rank')", "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'rank')"]}

    assert ga_collector.run("ga", query, options, *WEEK).exit_code == 0

    records = ga_collector.records()
    assert [(r["pagePath"], r["rank"], r["humanId"]) for r in records] == [
        ("/b", 1, "20141013000000_week_test-type_1"),
        ("/a", 2, "20141013000000_week_test-type_2"),
        ("/c", 3, "20141013000000_week_test-type_3"),
    ]


def test_empty_data_set_empties_before_pushing(ga_collector: GaCollector) -> None:
    ga_collector.backdrop.store("test-group", "test-type", [{"_id": "old", "_timestamp": "2010-01-01T00:00:00Z"}])
    ga_collector.ga.add_core_rows([["Chrome", "38", "5"]])

    assert ga_collector.run("ga", BROWSERS, {"empty-data-set": True}, *WEEK).exit_code == 0

    assert [r.method for r in ga_collector.backdrop.requests_to("/data/test-group/test-type")] == ["PUT", "POST"]
    assert [r["browser"] for r in ga_collector.records()] == ["Chrome"]


def test_dry_run_prints_and_sends_nothing(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["Chrome", "38", "5"]])

    result = ga_collector.run("ga", BROWSERS, {}, *WEEK, "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert ga_collector.backdrop.requests == []
    body = json.loads(result.stdout.strip().split("\n\n", 1)[1])
    assert body[0]["browser"] == "Chrome" and body[0]["visitors"] == 5
    assert len(ga_collector.ga.core_requests()) == 1  # the source is still read


def test_429_then_success(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["Chrome", "38", "5"]])
    ga_collector.ga.fail_next_with(429, "rateLimitExceeded", "Quota Error: too many requests", path="/data/ga")

    result = ga_collector.run("ga", BROWSERS, {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert [r.status for r in ga_collector.ga.core_requests()] == [429, 200]
    assert len(ga_collector.records()) == 1


def test_403_insufficient_permissions_fails_at_once_with_a_clear_message(ga_collector: GaCollector) -> None:
    ga_collector.ga.fail_next_with(
        403, "insufficientPermissions", "User does not have sufficient permissions for this profile.",
        path="/data/ga",
    )

    result = ga_collector.run("ga", BROWSERS, {}, *WEEK)

    assert result.exit_code == 1
    assert len(ga_collector.ga.core_requests()) == 1
    assert ga_collector.backdrop.requests == []
    assert "403 insufficientPermissions" in result.stderr
    assert "User does not have sufficient permissions for this profile." in result.stderr
    assert "check that the credentials' account can read this view" in result.stderr


def test_a_refused_access_token_is_refreshed_once(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["Chrome", "38", "5"]])
    ga_collector.ga.fail_next_with(401, "authError", "Invalid Credentials", path="/data/ga")

    result = ga_collector.run("ga", BROWSERS, {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert [r.status for r in ga_collector.ga.core_requests()] == [401, 200]
    assert ga_collector.oauth.count("jwt-bearer") == 2
    tokens = [r.header("Authorization") for r in ga_collector.ga.core_requests()]
    assert tokens[0] != tokens[1]


def test_credentials_google_keeps_refusing_fail_without_retries(ga_collector: GaCollector) -> None:
    ga_collector.ga.fail_next_with(401, "authError", "Invalid Credentials", times=5, path="/data/ga")

    result = ga_collector.run("ga", BROWSERS, {}, *WEEK)

    assert result.exit_code == 1
    assert "401 authError" in result.stderr and "Invalid Credentials" in result.stderr
    # google-auth's transport refreshes and retries once; the retry policy adds nothing.
    assert len(ga_collector.ga.core_requests()) == 2


def test_sampled_data_is_logged_as_a_warning(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["Chrome", "38", "5"]], sampled=True)

    result = ga_collector.run("ga", BROWSERS, {}, *WEEK)

    assert result.exit_code == 0
    assert "sampled the data for ga:74473500 from 2014-10-13 to 2014-10-19" in result.text_log()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"id": "ga:1"}, "key 'query.metrics': expected at least one name"),
        ({"metrics": ["visits"]}, "key 'query.id'"),
        # A GA4 property goes to the Data API; what GA4 cannot ask is refused just as early.
        ({"id": "properties/123", "metrics": ["visits"], "segment": "gaid::-1"}, "key 'query.segment'"),
        ({"id": "ga:1", "metrics": ["visits"], "frequency": "yearly"}, "key 'query.frequency'"),
    ],
)
def test_query_mistakes_are_usage_errors_before_any_request(
    ga_collector: GaCollector, query: dict, message: str
) -> None:
    result = ga_collector.run("ga", query, {}, *WEEK)

    assert result.exit_code == 2
    assert message in result.stderr
    assert ga_collector.ga.requests == [] and ga_collector.backdrop.requests == []


def test_a_key_file_and_department_table_saved_with_a_byte_order_mark_are_read(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["Chrome", "38", "5"]])
    key_file = Path(ga_collector.credentials()["SERVICE_ACCOUNT_KEY"])
    key_file.write_bytes(codecs.BOM_UTF8 + key_file.read_bytes())
    table = ga_collector.configs.root / "codes-from-windows.json"
    table.write_bytes(codecs.BOM_UTF8 + json.dumps({"<D1>": "attorney-generals-office"}).encode())

    result = ga_collector.run("ga", BROWSERS, {"plugins": ["SetDepartment('<D1>')"]}, *WEEK,
                              "--department-codes", str(table), department_codes=False)

    assert (result.exit_code, result.stderr) == (0, "")
    assert [(r["visitors"], r["department"]) for r in ga_collector.records()] == [(5, "attorney-generals-office")]
