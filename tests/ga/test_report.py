"""`pp-collector` with a `ga` query file, once per GA source (Core Reporting v3 for a UA view, the
GA4 Data API for a property), against the source's, OAuth and Backdrop stand-ins over real HTTP.

The same rows give the same records whichever API answers: each test runs against both, with one
set of expectations. What only one source does (gapy's parameters, GA4's request bodies) is in
`core_reporting/test_report.py` and `data_api/test_report.py`.
"""

from __future__ import annotations

import base64
import json

import pytest
from freezegun import freeze_time

from tests.support.google import GaSourceRuns

WEEK = ("-s", "2014-10-13", "-e", "2014-10-19")
BROWSER_NAMES = ("browser", "visitors")


def browsers(ga_source: GaSourceRuns) -> dict:
    return ga_source.query(metrics=["visitors"], dimensions=["browser"])


def test_a_multi_page_result_is_read_whole_and_in_order(ga_source: GaSourceRuns) -> None:
    ga_source.add_rows(BROWSER_NAMES, [(f"Browser {n}", n) for n in range(1, 2351)])

    # One chunk at a time, so that the records land in GA's order.
    result = ga_source.run("ga", browsers(ga_source), {"chunk-size": 1000}, *WEEK, "--push-concurrency", "1")

    assert result.exit_code == 0, result.stderr
    records = ga_source.records()
    assert [record["visitors"] for record in records] == list(range(1, 2351))
    assert [record["browser"] for record in records[:2]] == ["Browser 1", "Browser 2"]
    assert records[0]["humanId"] == "test-type_20141013000000_week_Browser 1"


@freeze_time("2014-10-22 08:00:00")
def test_without_dates_the_last_full_week_is_collected(ga_source: GaSourceRuns) -> None:
    ga_source.add_rows(BROWSER_NAMES, [("Chrome", 5)], start_date="2014-10-13", end_date="2014-10-19")

    result = ga_source.run("ga", browsers(ga_source))

    assert result.exit_code == 0, result.stderr
    assert ga_source.periods_asked() == [("2014-10-13", "2014-10-19")]
    assert [(r["_timestamp"], r["timeSpan"], r["visitors"]) for r in ga_source.records()] == [
        ("2014-10-13T00:00:00+00:00", "week", 5)
    ]


def test_weekly_backfill_queries_each_week(ga_source: GaSourceRuns) -> None:
    for week, visitors in (("2014-10-06", 1), ("2014-10-13", 2), ("2014-10-20", 3)):
        ga_source.add_rows(BROWSER_NAMES, [("Chrome", visitors)], start_date=week)

    result = ga_source.run("ga", browsers(ga_source), {}, "-s", "2014-10-08", "-e", "2014-10-21")

    assert result.exit_code == 0, result.stderr
    assert ga_source.periods_asked() == [
        ("2014-10-06", "2014-10-12"), ("2014-10-13", "2014-10-19"), ("2014-10-20", "2014-10-26"),
    ]
    assert [(r["_timestamp"], r["timeSpan"], r["visitors"], r["humanId"]) for r in ga_source.records()] == [
        (f"2014-10-{day}T00:00:00+00:00", "week", visitors, f"test-type_201410{day}000000_week_Chrome")
        for day, visitors in (("06", 1), ("13", 2), ("20", 3))
    ]


def test_daily_backfill_queries_each_day(ga_source: GaSourceRuns) -> None:
    for day in ("01", "02", "03"):
        ga_source.add_rows(("date", "visits"), [(f"201304{day}", 7)], start_date=f"2013-04-{day}")
    query = ga_source.query(metrics=["visits"], dimensions=["date"], frequency="daily")

    result = ga_source.run("ga", query, {"dataType": "visits"}, "-s", "2013-04-01", "-e", "2013-04-03")

    assert result.exit_code == 0, result.stderr
    assert ga_source.periods_asked() == [(f"2013-04-{day}",) * 2 for day in ("01", "02", "03")]
    records = ga_source.records()
    assert [(r["_timestamp"], r["timeSpan"], r["date"], r["datetime"], r["visits"]) for r in records] == [
        (f"2013-04-{day}T00:00:00+00:00", "day", f"201304{day}", f"2013-04-{day}T00:00:00+00:00", 7)
        for day in ("01", "02", "03")
    ]
    # gapy's datetime dimension follows date in the (Python 2 ordered) default id.
    assert records[0]["humanId"] == "visits_20130401000000_day_20130401_2013-04-01 00:00:00"


def test_monthly_backfill_queries_whole_months(ga_source: GaSourceRuns) -> None:
    for month, sessions in (("2012-12-01", 10), ("2013-01-01", 20), ("2013-02-01", 30)):
        ga_source.add_rows(("sessions",), [(sessions,)], start_date=month)

    result = ga_source.run("ga", ga_source.query(metrics=["sessions"], frequency="monthly"), {},
                           "-s", "2012-12-20", "-e", "2013-02-05")

    assert result.exit_code == 0, result.stderr
    assert ga_source.periods_asked() == [
        ("2012-12-01", "2012-12-31"), ("2013-01-01", "2013-01-31"), ("2013-02-01", "2013-02-28"),
    ]
    records = ga_source.records()
    assert [(r["timeSpan"], r["sessions"]) for r in records] == [("month", 10), ("month", 20), ("month", 30)]
    assert records[0]["humanId"] == "test-type_20121201000000_month"


def test_start_alone_runs_to_the_default_end(ga_source: GaSourceRuns) -> None:
    with freeze_time("2014-10-22 08:00:00"):
        result = ga_source.run("ga", browsers(ga_source), {}, "-s", "2014-10-01")

    assert result.exit_code == 0, result.stderr
    assert [start for start, _ in ga_source.periods_asked()] == ["2014-09-29", "2014-10-06", "2014-10-13"]


def test_end_alone_is_a_usage_error(ga_source: GaSourceRuns) -> None:
    result = ga_source.run("ga", browsers(ga_source), {}, "-e", "2014-10-19")

    assert result.exit_code == 2
    assert "--end was given without --start" in result.stderr
    assert ga_source.stand_in.requests == []


def test_max_results_caps_rows_per_period(ga_source: GaSourceRuns) -> None:
    ga_source.add_rows(("pagePath", "pageviews"), [(f"/page/{n}", 1000 - n) for n in range(40)])
    query = ga_source.query(metrics=["pageviews"], dimensions=["pagePath"], maxResults=10, sort=["-pageviews"])

    assert ga_source.run("ga", query, {}, "-s", "2014-10-06", "-e", "2014-10-19").exit_code == 0

    assert [(r["_timestamp"][:10], r["pagePath"]) for r in ga_source.records()] == [
        (week, f"/page/{n}") for week in ("2014-10-06", "2014-10-13") for n in range(10)
    ]


def test_mappings_with_multi_value_keys_and_id_mapping(ga_source: GaSourceRuns) -> None:
    ga_source.add_rows(("browser", "pagePath", "sessions"), [("Chrome", "start:pay:now", 3), ("Chrome", "done", 4)])
    query = ga_source.query(metrics=["sessions"], dimensions=["browser", "pagePath"])
    options = {
        "mappings": {"sessions": "count", "pagePath_0": "stage", "pagePath_2": "detail", "pagePath_9": "never",
                     "timeSpan": "period"},
        "idMapping": ["_timestamp", "period", "browser", "stage"],
        "additionalFields": {"service": "tax"},
    }

    assert ga_source.run("ga", query, options, *WEEK).exit_code == 0

    first, second = ga_source.records()
    assert {k: first[k] for k in ("count", "stage", "detail", "period", "pagePath", "service")} == {
        "count": 3, "stage": "start", "detail": "now", "period": "week", "pagePath": "start:pay:now",
        "service": "tax",
    }
    assert "never" not in first and "detail" not in second and second["stage"] == "done"
    assert first["humanId"] == "2014-10-13 00:00:00+00:00weekChromestart"
    assert first["_id"] == base64.urlsafe_b64encode(b"2014-10-13 00:00:00+00:00weekChromestart").decode()


def test_compute_rank_and_compute_id_from(ga_source: GaSourceRuns) -> None:
    ga_source.add_rows(("pagePath", "pageviews"), [("/b", 90), ("/a", 80), ("/c", 70)])
    query = ga_source.query(metrics=["pageviews"], dimensions=["pagePath"], sort=["-pageviews"])
    options = {"plugins": ["ComputeRank('rank')", "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'rank')"]}

    assert ga_source.run("ga", query, options, *WEEK).exit_code == 0

    assert [(r["pagePath"], r["rank"], r["humanId"]) for r in ga_source.records()] == [
        ("/b", 1, "20141013000000_week_test-type_1"),
        ("/a", 2, "20141013000000_week_test-type_2"),
        ("/c", 3, "20141013000000_week_test-type_3"),
    ]


def test_empty_data_set_empties_before_pushing(ga_source: GaSourceRuns) -> None:
    backdrop = ga_source.collector.backdrop
    backdrop.store("test-group", "test-type", [{"_id": "old", "_timestamp": "2010-01-01T00:00:00Z"}])
    ga_source.add_rows(BROWSER_NAMES, [("Chrome", 5)])

    assert ga_source.run("ga", browsers(ga_source), {"empty-data-set": True}, *WEEK).exit_code == 0

    assert [r.method for r in backdrop.requests_to("/data/test-group/test-type")] == ["PUT", "POST"]
    assert [r["browser"] for r in ga_source.records()] == ["Chrome"]


def test_dry_run_prints_and_sends_nothing(ga_source: GaSourceRuns) -> None:
    ga_source.add_rows(BROWSER_NAMES, [("Chrome", 5)])

    result = ga_source.run("ga", browsers(ga_source), {}, *WEEK, "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert ga_source.collector.backdrop.requests == []
    body = json.loads(result.stdout.strip().split("\n\n", 1)[1])
    assert body[0]["browser"] == "Chrome" and body[0]["visitors"] == 5
    assert len(ga_source.report_requests()) == 1  # the source is still read


def test_a_rate_limit_is_waited_out(ga_source: GaSourceRuns) -> None:
    ga_source.add_rows(BROWSER_NAMES, [("Chrome", 5)])
    ga_source.fail_next_rate_limited()

    result = ga_source.run("ga", browsers(ga_source), {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert [r.status for r in ga_source.report_requests()] == [429, 200]
    assert [r["visitors"] for r in ga_source.records()] == [5]


def test_no_access_fails_at_once_saying_what_the_account_cannot_read(ga_source: GaSourceRuns) -> None:
    ga_source.fail_next_forbidden()

    result = ga_source.run("ga", browsers(ga_source), {}, *WEEK)

    assert result.exit_code == 1
    assert len(ga_source.report_requests()) == 1
    assert ga_source.collector.backdrop.requests == []
    (line,) = result.stderr.splitlines()
    readable = "view" if ga_source.name == "core_reporting" else "property"
    assert "answered 403" in line and f"check that the credentials' account can read this {readable}" in line


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({}, "key 'query.metrics': expected at least one name"),
        ({"metrics": ["visits"], "frequency": "yearly"}, "key 'query.frequency': expected one of daily"),
        ({"metrics": ["visits"], "maxResults": -1}, "key 'query.maxResults': expected a whole number"),
        ({"metrics": ["visits"], "filters": {"a": "b"}}, "key 'query.filters': expected a list of names"),
    ],
)
def test_query_mistakes_are_usage_errors_before_any_request(ga_source: GaSourceRuns, keys: dict, message: str) -> None:
    result = ga_source.run("ga", ga_source.query(**keys), {}, *WEEK)

    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("pp-collector: error: query file ") and message in line
    assert ga_source.stand_in.requests == [] and ga_source.collector.backdrop.requests == []
