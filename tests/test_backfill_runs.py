"""Backfills fetched several periods at a time push exactly what one-at-a-time runs push.

Every test here runs `pp-collector` as a user does, against the stand-ins on 127.0.0.1: once with
`--concurrency 1` (the original's one request after another) and once concurrently, comparing
the records Backdrop received, request by request: the same `_id`s and values in the same order.
Faults are injected into the concurrent runs (429s, 503s, a reset connection) and must change
nothing. Streaming is observed through the order in which the stand-ins received requests.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from performanceplatform.collector.backfill import AHEAD_PER_WORKER
from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from performanceplatform.collector.standins.server import RecordedRequest, StandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.cli import REPO_ROOT, CliResult, ConfigFiles, run_cli
from tests.support.google import GA4_PROPERTY, Ga4Collector, GaCollector

GA4_DAILY = {
    "id": GA4_PROPERTY, "metrics": ["sessions", "users"], "dimensions": ["date", "deviceCategory"],
    "frequency": "daily",
}
GA_DAILY = {"id": "ga:12345", "metrics": ["sessions", "users"], "dimensions": ["date", "browser"], "frequency": "daily"}
JANUARY = ("-s", "2024-01-01", "-e", "2024-01-30")
DATA_PATH = f"/data/{DATA_GROUP}/{DATA_TYPE}"


def pushed(backdrop: BackdropStandIn) -> list[dict[str, Any]]:
    """Every record of every POST Backdrop received, in the order received."""
    return [record for request in backdrop.requests_to(DATA_PATH, "POST") for record in request.json()]


def forget_requests(*stand_ins: StandIn) -> None:
    for stand_in in stand_ins:
        stand_in.requests.clear()


def ga4_period(day: str) -> Callable[[RecordedRequest], bool]:
    return lambda request: request.json()["dateRanges"][0]["startDate"] == day


def ga4_days_asked(ga4: Ga4Collector) -> set[str]:
    return {body["dateRanges"][0]["startDate"] for body in ga4.bodies()}


def faults_served(stand_in: StandIn) -> list[str]:
    return sorted(request.fault for request in stand_in.requests if request.fault)


def sequential_then_concurrent(
    run: Callable[..., CliResult], backdrop: BackdropStandIn, *upstream: StandIn,
    concurrency: int = 4, faults: Callable[[], None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run once with --concurrency 1 and once with `concurrency` (after `faults`); what each pushed.

    Both push one chunk at a time, so that the order Backdrop receives records in is the order they
    were pushed (overlapping pushes are compared in tests/backdrop/test_overlapping_pushes.py).
    """
    first = run("--concurrency", "1", "--push-concurrency", "1")
    assert first.exit_code == 0, first.stderr
    one_at_a_time = pushed(backdrop)
    forget_requests(backdrop, *upstream)
    if faults is not None:
        faults()
    second = run("--concurrency", str(concurrency), "--push-concurrency", "1")
    assert second.exit_code == 0, second.stderr
    return one_at_a_time, pushed(backdrop)


# The same records --------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [2, 4, 10])
def test_a_ga4_daily_backfill_pushes_the_same_records_in_the_same_order(
    ga4_collector: Ga4Collector, concurrency: int
) -> None:
    ga4_collector.api.auto_rows = 7
    ga4_collector.api.max_page_size = 3  # three pages a day

    def run(*flags: str) -> CliResult:
        return ga4_collector.run("ga", GA4_DAILY, {"chunk-size": 10}, *JANUARY, *flags)

    sequential, concurrent = sequential_then_concurrent(
        run, ga4_collector.backdrop, ga4_collector.api, concurrency=concurrency
    )
    assert len(sequential) == 30 * 7
    assert concurrent == sequential
    # The workers share one access token: one refresh a run, not one per worker.
    assert len(ga4_collector.oauth.requests_to("^/token$", "POST")) == 2
    assert [record["_timestamp"][:10] for record in sequential[::7]] == [
        (date(2024, 1, 1) + timedelta(days=day)).isoformat() for day in range(30)
    ]


def test_a_ga_v3_daily_backfill_pushes_the_same_records_in_the_same_order(ga_collector: GaCollector) -> None:
    ga_collector.ga.auto_rows = 6

    def run(*flags: str) -> CliResult:
        return ga_collector.run("ga", GA_DAILY, {"chunk-size": 8}, *JANUARY, *flags)

    sequential, concurrent = sequential_then_concurrent(run, ga_collector.backdrop, ga_collector.ga)
    assert len(sequential) == 30 * 6
    assert concurrent == sequential
    assert len(ga_collector.oauth.requests_to("^/token$", "POST")) == 2  # one a run, shared by the workers
    assert len({record["_id"] for record in sequential}) == 30 * 6


def test_a_pingdom_backfill_pushes_the_same_records_in_the_same_order(
    configs: ConfigFiles, backdrop: BackdropStandIn, pingdom: PingdomStandIn
) -> None:
    def run(*flags: str) -> CliResult:
        return run_pingdom(configs, backdrop, pingdom, "-s", "2013-05-01", "-e", "2013-07-01", *flags)

    sequential, concurrent = sequential_then_concurrent(run, backdrop, pingdom)
    assert len(sequential) == 61 * 24  # nine windows of a week or less
    assert concurrent == sequential
    timestamps = [record["_timestamp"] for record in concurrent]
    assert timestamps == sorted(timestamps) and len(set(timestamps)) == len(timestamps)


# The same records under faults --------------------------------------------------------------------


def test_ga4_429s_503s_and_a_reset_connection_change_nothing(ga4_collector: Ga4Collector) -> None:
    api = ga4_collector.api
    api.auto_rows = 5

    def run(*flags: str) -> CliResult:
        return ga4_collector.run("ga", GA4_DAILY, {"chunk-size": 7}, *JANUARY, *flags)

    def faults() -> None:
        api.fail_next_with(503, "The service is currently unavailable.", times=2, when=ga4_period("2024-01-05"))
        api.exhaust_quota("concurrent", times=2, retry_delay="0.01s", when=ga4_period("2024-01-12"))
        api.reset_next(1, when=ga4_period("2024-01-20"))
        api.fail_next_with(500, "Internal error encountered.", times=1, when=ga4_period("2024-01-30"))

    sequential, concurrent = sequential_then_concurrent(
        run, ga4_collector.backdrop, api, concurrency=4, faults=faults
    )
    assert faults_served(api) == ["reset", "status", "status", "status", "status", "status"]
    assert concurrent == sequential
    assert len(concurrent) == 30 * 5


def test_ga_v3_rate_limits_and_a_reset_connection_change_nothing(ga_collector: GaCollector) -> None:
    ga = ga_collector.ga
    ga.auto_rows = 4

    def period(day: str) -> Callable[[RecordedRequest], bool]:
        return lambda request: request.param("start-date") == day

    def run(*flags: str) -> CliResult:
        return ga_collector.run("ga", GA_DAILY, {}, *JANUARY, *flags)

    def faults() -> None:
        ga.fail_next_with(429, "rateLimitExceeded", times=2, when=period("2024-01-03"))
        ga.fail_next_with(503, "backendError", times=1, when=period("2024-01-17"))
        ga.reset_next(1, when=period("2024-01-25"))

    sequential, concurrent = sequential_then_concurrent(run, ga_collector.backdrop, ga, faults=faults)
    assert faults_served(ga) == ["reset", "status", "status", "status"]
    assert concurrent == sequential


def test_pingdom_503s_and_a_reset_connection_change_nothing(
    configs: ConfigFiles, backdrop: BackdropStandIn, pingdom: PingdomStandIn
) -> None:
    def window_from(moment: str) -> Callable[[RecordedRequest], bool]:
        epoch = str(int(datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp()))
        return lambda request: request.param("from") == epoch

    def run(*flags: str) -> CliResult:
        return run_pingdom(configs, backdrop, pingdom, "-s", "2013-05-01", "-e", "2013-07-01", *flags)

    def faults() -> None:
        pingdom.fail_next(503, times=2, when=window_from("2013-05-15T00:00"))
        pingdom.reset_next(1, when=window_from("2013-06-05T00:00"))

    sequential, concurrent = sequential_then_concurrent(run, backdrop, pingdom, faults=faults)
    assert faults_served(pingdom) == ["reset", "status", "status"]
    assert concurrent == sequential


# Streaming and the whole set ----------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_records_reach_backdrop_before_the_last_period_is_asked_for(
    ga4_collector: Ga4Collector, concurrency: str
) -> None:
    ga4_collector.api.auto_rows = 5
    result = ga4_collector.run("ga", GA4_DAILY, {"chunk-size": 5}, *JANUARY, "--concurrency", concurrency)

    assert result.exit_code == 0, result.stderr
    posts = ga4_collector.backdrop.requests_to(DATA_PATH, "POST")
    reports = ga4_collector.api.report_requests()
    assert len(posts) == 30 and len(reports) == 30
    # Periods are fetched at most 2 per worker ahead of the one being pushed: the first chunk
    # (the first day) lands long before the thirtieth day is asked for.
    assert posts[0].sequence < max(request.sequence for request in reports)
    assert ga4_collector.api.max_in_flight <= int(concurrency)


def test_compute_rank_sees_the_whole_set_which_is_pushed_once_after_every_period(
    ga4_collector: Ga4Collector,
) -> None:
    ga4_collector.api.auto_rows = 3
    options = {"chunk-size": 4, "plugins": ["ComputeRank('rank')"]}

    def run(*flags: str) -> CliResult:
        return ga4_collector.run("ga", GA4_DAILY, options, "-s", "2024-01-01", "-e", "2024-01-10", *flags)

    sequential, concurrent = sequential_then_concurrent(run, ga4_collector.backdrop, ga4_collector.api)
    assert concurrent == sequential
    assert [record["rank"] for record in concurrent] == list(range(1, 31))  # ranked across all periods
    last_report = max(request.sequence for request in ga4_collector.api.report_requests())
    first_post = min(request.sequence for request in ga4_collector.backdrop.requests_to(DATA_PATH, "POST"))
    assert last_report < first_post


def test_empty_data_set_empties_once_after_every_period_is_fetched_then_pushes(
    ga4_collector: Ga4Collector,
) -> None:
    ga4_collector.api.auto_rows = 3
    ga4_collector.backdrop.store(DATA_GROUP, DATA_TYPE, [{"_id": "old", "_timestamp": "2001-01-01T00:00:00+00:00"}])
    options = {"chunk-size": 4, "empty-data-set": True}

    def run(*flags: str) -> CliResult:
        return ga4_collector.run("ga", GA4_DAILY, options, "-s", "2024-01-01", "-e", "2024-01-10", *flags)

    sequential, concurrent = sequential_then_concurrent(run, ga4_collector.backdrop, ga4_collector.api)
    assert concurrent == sequential and len(concurrent) == 30
    writes = ga4_collector.backdrop.requests_to(DATA_PATH)
    assert [request.method for request in writes] == ["PUT"] + ["POST"] * 8
    assert max(request.sequence for request in ga4_collector.api.report_requests()) < writes[0].sequence
    assert "old" not in {record["_id"] for record in ga4_collector.records()}


# A failing period ---------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_a_failing_period_fails_the_run_with_its_error_and_what_landed(
    ga4_collector: Ga4Collector, concurrency: str
) -> None:
    # Five records a day, chunks of 7: the ten days before the failing 11th make 50 records, of
    # which 7 full chunks (49 records) were sent; the 50th waited for a chunk that never filled.
    api = ga4_collector.api
    api.auto_rows = 5
    # One chunk at a time in both runs, so that Backdrop receives the records in the order pushed.
    expected = ga4_collector.run("ga", GA4_DAILY, {"chunk-size": 7}, *JANUARY, "--concurrency", "1",
                                 "--push-concurrency", "1")
    assert expected.exit_code == 0, expected.stderr
    all_records = pushed(ga4_collector.backdrop)
    ga4_collector.backdrop.reset()
    ga4_collector.backdrop.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN)
    forget_requests(api)
    api.fail_next_with(403, "User does not have sufficient permissions for this property.", times=100,
                       when=ga4_period("2024-01-11"))

    result = ga4_collector.run("ga", GA4_DAILY, {"chunk-size": 7}, *JANUARY, "--concurrency", concurrency,
                               "--push-concurrency", "1")

    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "pp-collector: error: Google Analytics answered 403 PERMISSION_DENIED to the runReport request for "
        "properties/123456789 (2024-01-11 to 2024-01-11, offset 0): User does not have sufficient permissions "
        "for this property. (check that the credentials' account can read this property); see "
        "https://developers.google.com/analytics/devguides/reporting/data/v1; "
        "7 chunks (49 records) had been stored in Backdrop test-group/test-type; nothing after them was sent; "
        # Days 1 to 9 landed whole and day 10 in part: a re-run from day 10 completes the data set.
        "re-run with -s 2024-01-10 to complete the data set"
    )
    assert pushed(ga4_collector.backdrop) == all_records[:49]
    assert [r["_id"] for r in ga4_collector.records()] == [r["_id"] for r in all_records[:49]]
    # No period is started once one has failed: at most 2 per worker were ahead of the 11th.
    asked = ga4_days_asked(ga4_collector)
    last_possible = date(2024, 1, 11) + timedelta(days=int(concurrency) * AHEAD_PER_WORKER - 1)
    assert max(asked) <= last_possible.isoformat() < "2024-01-30"
    if concurrency == "1":
        assert max(asked) == "2024-01-11"


def test_the_failing_periods_error_is_the_same_whatever_the_concurrency(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.auto_rows = 2
    ga4_collector.api.fail_next_with(400, "Field fooBar is not a valid dimension.", times=100,
                                     when=ga4_period("2024-01-07"))
    # A later period still in flight when the run fails (only the concurrent run gets this far ahead).
    ga4_collector.api.delay_next(0.5, times=1, when=ga4_period("2024-01-09"))
    results = [
        ga4_collector.run("ga", GA4_DAILY, {}, *JANUARY, "--concurrency", concurrency) for concurrency in ("1", "6")
    ]
    assert [result.exit_code for result in results] == [1, 1]
    assert results[0].stderr == results[1].stderr
    assert "2024-01-07" in results[0].stderr and "fooBar" in results[0].stderr
    # The concurrent run failed with 2024-01-09 in flight: it waited for that answer before closing
    # its connections (and returning), so nothing failed on a closed connection or came after.
    assert all(request.status is not None for request in ga4_collector.api.requests)
    # And no worker is left that could send one more.
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("ga-period")]


# Limits, settings and signals ---------------------------------------------------------------------


def test_ga4_never_gets_more_than_10_requests_at_once(ga4_collector: Ga4Collector) -> None:
    api = ga4_collector.api
    api.auto_rows = 1
    api.latency = 0.05  # long enough for the requests to overlap

    result = ga4_collector.run("ga", GA4_DAILY, {}, *JANUARY, "--concurrency", "25")

    assert result.exit_code == 0, result.stderr
    assert "concurrency 25 lowered to 10" in result.text_log()
    assert [request.status for request in api.report_requests()] == [200] * 30  # no 429 concurrent
    assert 2 <= api.max_in_flight <= 10


@pytest.mark.parametrize("value", ["0", "-3", "two", "1.5", ""])
def test_a_concurrency_that_is_not_a_whole_number_of_at_least_1_is_a_usage_error(
    configs: ConfigFiles, value: str
) -> None:
    query = configs.query("performanceplatform.collector.pingdom", {"name": "x"})
    result = run_cli([*configs.args(query=query, backdrop=configs.backdrop("http://127.0.0.1:9/data")),
                      "--concurrency", value])
    assert result.exit_code == 2
    assert f"argument --concurrency: expected a whole number of at least 1, got {value!r}" in result.stderr


def test_a_bad_concurrency_in_the_environment_is_a_configuration_error(
    configs: ConfigFiles, backdrop: BackdropStandIn, pingdom: PingdomStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PP_COLLECTOR_CONCURRENCY", "many")
    result = run_pingdom(configs, backdrop, pingdom)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "pp-collector: error: environment variable PP_COLLECTOR_CONCURRENCY: expected a whole number of "
        "at least 1, got 'many'"
    )
    assert pingdom.requests == [] and backdrop.requests == []


@pytest.mark.parametrize(("signal_number", "says"), [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT (Ctrl-C)")])
def test_a_signal_stops_a_concurrent_backfill_at_once_saying_what_landed(
    ga4_collector: Ga4Collector, signal_number: int, says: str
) -> None:
    api = ga4_collector.api
    api.auto_rows = 4
    api.latency = 0.3  # each request: a slow upstream, so the run is mid-backfill when stopped
    query = ga4_collector.configs.query(
        "performanceplatform.collector.ga", GA4_DAILY, {"chunk-size": 4}, data_group=DATA_GROUP, data_type=DATA_TYPE
    )
    argv = ga4_collector.configs.args(
        query=query, backdrop=ga4_collector.configs.backdrop(f"{ga4_collector.backdrop.url}/data"),
        credentials=ga4_collector.credentials_path, token=ga4_collector.configs.token(TOKEN),
    )
    # Periods fetched four at a time, chunks pushed one at a time: at most one chunk is in doubt.
    process = subprocess.Popen(
        [sys.executable, "-m", "performanceplatform.collector", *argv, "-s", "2024-01-01", "-e", "2024-12-31",
         "--concurrency", "4", "--push-concurrency", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert ga4_collector.backdrop.wait_for(
        lambda: len(ga4_collector.backdrop.requests_to(DATA_PATH, "POST")) >= 3 or process.poll() is not None
    )
    assert process.poll() is None, process.communicate()
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=30)  # a hang guard, not a measure

    assert process.returncode == 128 + signal_number
    assert stderr.startswith(f"pp-collector: error: stopped by {says}")
    landed = len(ga4_collector.records())
    stated = re.search(r"\((\d+) records\) had been stored", stderr)
    assert stated is not None, stderr
    stored = int(stated.group(1))
    if "may or may not have been" in stderr:
        # Stopped while a chunk was on its way: it says so, and that chunk alone is in doubt.
        assert landed in (stored, stored + 4), stderr
    else:
        assert landed == stored, stderr
    assert 8 <= landed < 366 * 4
    assert len(stderr.strip().splitlines()) == 1


# Helpers ----------------------------------------------------------------------------------------


def run_pingdom(
    configs: ConfigFiles, backdrop: BackdropStandIn, pingdom: PingdomStandIn, *args: str
) -> CliResult:
    query = configs.query("performanceplatform.collector.pingdom", {"name": "carers_allowance"},
                          data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(
        query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"),
        credentials=configs.credentials(pingdom.credentials()), token=configs.token(TOKEN),
    )
    return run_cli([*argv, *args])
