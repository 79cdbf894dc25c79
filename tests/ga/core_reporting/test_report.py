"""`pp-collector` with a `ga` query for a Universal Analytics view: what only Core Reporting v3 does (gapy's
parameters, nextLink pages, sampling, refused tokens); what both sources do is in `../test_report.py`."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

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
