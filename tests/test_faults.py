"""Faults injected through the stand-ins over real HTTP: nothing lost, nothing doubled.

Each test says exactly what must have landed in the Backdrop stand-in. Pingdom carries most of
them because its records are fully predictable: a day is 24 records, one per hour.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from performanceplatform.collector.concurrency import DEFAULT_PUSH_CONCURRENCY
from performanceplatform.collector.standins.google_analytics import GoogleAnalyticsStandIn
from performanceplatform.collector.standins.google_oauth import GoogleOAuthStandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.cli import REPO_ROOT, run_cli
from tests.support.google import ANALYTICS_READONLY, oauth2client_tokens, write_user_credentials

PINGDOM = "performanceplatform.collector.pingdom"
GA = "performanceplatform.collector.ga"
DAY = ("-s", "2014-03-02T00:00:00+00:00", "-e", "2014-03-03T00:00:00+00:00")
DAY_IDS = [
    f"carers_allowance.{(datetime(2014, 3, 2, tzinfo=UTC) + timedelta(hours=h)).isoformat()}" for h in range(24)
]


def pingdom_run(configs, backdrop, pingdom, *flags, options=None, backdrop_url=None):
    query = configs.query(PINGDOM, {"name": "carers_allowance"}, options,
                          data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(
        query=query,
        backdrop=configs.backdrop(backdrop_url or f"{backdrop.url}/data"),
        credentials=configs.credentials(pingdom.credentials("3.1")),
        token=configs.token(TOKEN),
    )
    return run_cli([*argv, *DAY, *flags])


def landed_ids(backdrop) -> list[str]:
    return sorted(record["_id"] for record in backdrop.records(DATA_GROUP, DATA_TYPE))


def test_backdrop_503_twice_then_success(configs, backdrop, pingdom):
    backdrop.fail_next(503, times=2, path=r"^/data/")
    result = pingdom_run(configs, backdrop, pingdom)
    assert result.exit_code == 0, result.stderr
    assert landed_ids(backdrop) == DAY_IDS
    assert len(backdrop.requests_to(r"^/data/", "POST")) == 3


def test_backdrop_unreachable_for_the_whole_run(configs, backdrop, pingdom):
    result = pingdom_run(configs, backdrop, pingdom, backdrop_url="http://127.0.0.1:9/data")
    assert result.exit_code == 1
    assert landed_ids(backdrop) == []
    [line] = result.stderr.strip().splitlines()
    assert "could not reach Backdrop" in line and "No earlier chunk had been stored" in line


def test_a_400_on_chunk_3_of_5_then_a_rerun_completes_the_data_set_without_duplicates(configs, backdrop, pingdom):
    options = {"chunk-size": 5}  # 24 records: chunks of 5, 5, 5, 5, 4
    backdrop.fail_next(400, body={"messages": ["rejected for the test"]}, path=r"^/data/", after=2)
    # One chunk at a time: nothing after the refused chunk is sent.
    failed = pingdom_run(configs, backdrop, pingdom, "--push-concurrency", "1", options=options)
    assert failed.exit_code == 1
    assert landed_ids(backdrop) == DAY_IDS[:10]
    [line] = failed.stderr.strip().splitlines()
    assert "failed at chunk 3 (records 10-14)" in line
    assert "2 earlier chunks (10 records) had been stored" in line
    assert "Nothing after it was sent" in line
    first_pass = {record["_id"]: record for record in backdrop.records(DATA_GROUP, DATA_TYPE)}

    rerun = pingdom_run(configs, backdrop, pingdom, options=options)
    assert rerun.exit_code == 0, rerun.stderr
    assert landed_ids(backdrop) == DAY_IDS  # 24 records, each once
    for record in backdrop.records(DATA_GROUP, DATA_TYPE):
        if record["_id"] in first_pass:
            assert {k: v for k, v in record.items() if k != "_updated_at"} == {
                k: v for k, v in first_pass[record["_id"]].items() if k != "_updated_at"
            }


def test_an_upstream_reset_mid_response_is_retried(configs, backdrop, pingdom):
    pingdom.reset_next(times=1, path=r"summary\.performance")
    result = pingdom_run(configs, backdrop, pingdom)
    assert result.exit_code == 0, result.stderr
    assert landed_ids(backdrop) == DAY_IDS
    assert [r.fault for r in pingdom.requests_to(r"summary\.performance")] == ["reset", None]


def test_an_upstream_slower_than_the_read_timeout_is_retried(configs, backdrop, pingdom, monkeypatch):
    monkeypatch.setenv("PP_COLLECTOR_READ_TIMEOUT", "0.3")
    pingdom.delay_next(1.5, times=1, path=r"summary\.performance")
    result = pingdom_run(configs, backdrop, pingdom)
    assert result.exit_code == 0, result.stderr
    assert landed_ids(backdrop) == DAY_IDS
    assert "timed out" in result.text_log()


def test_pingdom_429_then_success(configs, backdrop, pingdom):
    pingdom.fail_next(429, times=1, headers={"Retry-After": "0"}, path=r"summary\.performance")
    result = pingdom_run(configs, backdrop, pingdom)
    assert result.exit_code == 0, result.stderr
    assert landed_ids(backdrop) == DAY_IDS


@freeze_time("2014-10-20 12:00:00")
def test_ga_429_then_success(ga_collector):
    ga_collector.ga.add_core_rows([["Chrome", "12"], ["Safari", "7"]])
    ga_collector.ga.fail_next_with(429, "rateLimitExceeded", "Quota exceeded for quota metric")
    result = ga_collector.run("ga", {"id": "ga:123", "metrics": ["visits"], "dimensions": ["browser"]})
    assert result.exit_code == 0, result.stderr
    records = ga_collector.records()
    assert sorted((r["browser"], r["visits"]) for r in records) == [("Chrome", 12), ("Safari", 7)]
    assert len(ga_collector.ga.core_requests()) == 2


def test_two_runs_refreshing_one_storage_file_at_once(configs, backdrop, tmp_path):
    """Two cron jobs sharing a GA storage file with an expired token both refresh it at once."""
    with GoogleOAuthStandIn() as oauth, GoogleAnalyticsStandIn(
        authorize=lambda request: oauth.check_bearer(request, ANALYTICS_READONLY)
    ) as ga:
        ga.add_core_rows([["Chrome", "12"]])
        oauth.delay_next(0.5, times=1, path=r"/token")  # keep the first refresh in flight
        client = oauth.add_client()
        refresh_token = oauth.add_refresh_token(client)
        expired = oauth2client_tokens(
            client, refresh_token, token_uri=oauth.token_url, access_token="ya29.expired",
            expiry=datetime(2000, 1, 1),
        )
        files = write_user_credentials(tmp_path / "creds", oauth, client, storage=expired, API_ROOT=f"{ga.url}/")
        backdrop_file = configs.backdrop(f"{backdrop.url}/data")
        token_file = configs.token(TOKEN)
        runs = []
        for name in ("first", "second"):
            query = configs.query(GA, {"id": "ga:123", "metrics": ["visits"], "dimensions": ["browser"]},
                                  {"additionalFields": {"job": name}, "idMapping": ["job", "browser"]},
                                  data_group=DATA_GROUP, data_type=DATA_TYPE, name=f"{name}.json")
            argv = [sys.executable, "-m", "performanceplatform.collector", "-q", str(query),
                    "-c", str(files.credentials_path), "-t", str(token_file), "-b", str(backdrop_file),
                    "--log-dir", str(configs.log_dir), "-s", "2014-10-13", "-e", "2014-10-19"]
            runs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                         env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}))
        outcomes = [(run.wait(timeout=60), run.stderr.read()) for run in runs]
        for run in runs:
            run.stderr.close()
        assert outcomes == [(0, ""), (0, "")]
        storage = json.loads(files.storage_path.read_text())
        assert storage["refresh_token"] == refresh_token
        assert oauth.is_valid_access_token(storage["access_token"])
        assert oauth.count("refresh_token") == 1
        assert oct(files.storage_path.stat().st_mode & 0o777) == "0o600"
    landed = sorted((r["job"], r["browser"], r["visits"]) for r in backdrop.records(DATA_GROUP, DATA_TYPE))
    assert landed == [("first", "Chrome", 12), ("second", "Chrome", 12)]


# Chunks on their way at once ----------------------------------------------------------------------


def landed_records(backdrop) -> dict[str, dict]:
    return {record["_id"]: {k: v for k, v in record.items() if k != "_updated_at"}
            for record in backdrop.records(DATA_GROUP, DATA_TYPE)}


def test_by_default_chunks_overlap_and_land_what_one_at_a_time_lands(configs, backdrop, pingdom):
    options = {"chunk-size": 3}  # 24 records: 8 chunks
    one_at_a_time = pingdom_run(configs, backdrop, pingdom, "--push-concurrency", "1", options=options)
    assert one_at_a_time.exit_code == 0, one_at_a_time.stderr
    expected = landed_records(backdrop)
    backdrop.reset()
    backdrop.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN)

    overlapping = pingdom_run(configs, backdrop, pingdom, options=options)

    assert overlapping.exit_code == 0, overlapping.stderr
    assert f"in chunks of 3, up to {DEFAULT_PUSH_CONCURRENCY} at once" in overlapping.text_log()
    assert landed_records(backdrop) == expected and sorted(expected) == DAY_IDS
    assert backdrop.max_in_flight <= DEFAULT_PUSH_CONCURRENCY


def test_a_400_with_chunks_overlapping_names_what_landed_and_a_rerun_completes_the_data_set(
    configs, backdrop, pingdom
):
    options = {"chunk-size": 5}  # 24 records: chunks of 5, 5, 5, 5, 4
    backdrop.fail_next(400, body={"messages": ["rejected for the test"]}, path=r"^/data/", after=2)
    failed = pingdom_run(configs, backdrop, pingdom, options=options)
    assert failed.exit_code == 1
    [line] = failed.stderr.strip().splitlines()
    # Which chunk failed depends on the order the POSTs reached the stand-in; whatever it was, the
    # line says where a re-run starts, and every record before that point is in Backdrop.
    named = re.search(r"A re-run from record (\d+) completes the data set", line) or re.search(
        r"failed at chunk \d+ \(records (\d+)-", line  # nothing after the failed chunk was sent
    )
    assert named is not None, line
    resume = int(named.group(1))
    assert set(DAY_IDS[:resume]) <= set(landed_ids(backdrop))

    rerun = pingdom_run(configs, backdrop, pingdom, options=options)
    assert rerun.exit_code == 0, rerun.stderr
    assert landed_ids(backdrop) == DAY_IDS


@pytest.mark.parametrize("value", ["0", "-1", "four", "2.5"])
def test_a_push_concurrency_that_is_not_a_whole_number_of_at_least_1_is_a_usage_error(configs, value):
    query = configs.query(PINGDOM, {"name": "x"})
    result = run_cli([*configs.args(query=query, backdrop=configs.backdrop("http://127.0.0.1:9/data")),
                      "--push-concurrency", value])
    assert result.exit_code == 2
    assert f"argument --push-concurrency: expected a whole number of at least 1, got {value!r}" in result.stderr


def test_the_push_concurrency_can_come_from_the_environment(configs, backdrop, pingdom, monkeypatch):
    monkeypatch.setenv("PP_COLLECTOR_PUSH_CONCURRENCY", "2")
    result = pingdom_run(configs, backdrop, pingdom, options={"chunk-size": 5})
    assert result.exit_code == 0, result.stderr
    assert "in chunks of 5, up to 2 at once" in result.text_log()
    # The flag wins over the environment.
    sequential = pingdom_run(configs, backdrop, pingdom, "--push-concurrency", "1", options={"chunk-size": 5})
    assert "in chunks of 5 (" in sequential.text_log()
    monkeypatch.setenv("PP_COLLECTOR_PUSH_CONCURRENCY", "many")
    refused = pingdom_run(configs, backdrop, pingdom)
    assert refused.exit_code == 2
    assert refused.stderr.strip() == (
        "pp-collector: error: environment variable PP_COLLECTOR_PUSH_CONCURRENCY: expected a whole number of "
        "at least 1, got 'many'"
    )
