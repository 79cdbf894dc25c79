"""`pp-collector` with a Pingdom query, end to end: the CLI, the Pingdom stand-in, the Backdrop stand-in.

Expected values come from the stand-in's documented `hour_summary` (the numbers Pingdom "measured");
everything the collector decides (which hours, which windows, ids, timestamps) is written out here.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun import freeze_time

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.cli import REPO_ROOT, CliResult, ConfigFiles, run_cli

ENTRYPOINT = "performanceplatform.collector.pingdom"
HOUR = 3600
WEEK = 7 * 24 * HOUR


def run_pingdom(
    configs: ConfigFiles,
    backdrop: BackdropStandIn,
    credentials: dict[str, Any],
    *,
    check: str = "carers_allowance",
    options: dict[str, Any] | None = None,
    args: tuple[str, ...] = (),
) -> CliResult:
    query = configs.query(
        ENTRYPOINT, {"name": check}, options, data_group=DATA_GROUP, data_type=DATA_TYPE
    )
    argv = configs.args(
        query=query,
        backdrop=configs.backdrop(f"{backdrop.url}/data"),
        credentials=configs.credentials(credentials),
        token=configs.token(TOKEN),
    )
    return run_cli([*argv, *args])


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def expected(pingdom: PingdomStandIn, name: str, start: str, end: str) -> list[dict[str, Any]]:
    """The records for the hours starting in [start, end) (UTC ISO without offset)."""
    check_id = pingdom.check_id(name)
    records = []
    for starttime in range(epoch(start), epoch(end), HOUR):
        values = PingdomStandIn.hour_summary(check_id, starttime)
        timestamp = datetime.fromtimestamp(starttime, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        records.append(
            {
                "_id": f"{name.replace(' ', '_')}.{timestamp}",
                "_timestamp": timestamp,
                "avgresponse": values["avgresponse"],
                "uptime": values["uptime"],
                "downtime": values["downtime"],
                "unmonitored": values["unmonitored"],
                "check": name,
            }
        )
    return records


def landed(backdrop: BackdropStandIn) -> list[dict[str, Any]]:
    return backdrop.records(DATA_GROUP, DATA_TYPE)


def as_sent(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Backdrop stores `_timestamp` in its own ISO form; compare on the instant."""
    return [
        {**record, "_timestamp": datetime.fromisoformat(record["_timestamp"])} for record in records
    ]


def assert_landed(backdrop: BackdropStandIn, records: list[dict[str, Any]]) -> None:
    stored = landed(backdrop)
    assert len(stored) == len(records)
    assert as_sent(stored) == as_sent(records)


def pushed_bodies(backdrop: BackdropStandIn) -> list[list[dict[str, Any]]]:
    return [request.json() for request in backdrop.requests_to(r"/data/", "POST")]


def one_line(result: CliResult) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# Credentials -------------------------------------------------------------------------------------


def test_api_3_1_with_a_bearer_token(configs, backdrop, pingdom) -> None:
    result = run_pingdom(
        configs, backdrop, pingdom.credentials("3.1"),
        args=("-s", "2013-06-15T20:00", "-e", "2013-06-16T02:00"),
    )
    assert result.exit_code == 0, result.stderr
    assert_landed(backdrop, expected(pingdom, "carers_allowance", "2013-06-15T20:00", "2013-06-16T02:00"))
    for request in pingdom.requests:
        assert request.path.startswith("/api/3.1/")
        assert request.header("Authorization") == f"Bearer {pingdom.api_token}"
        assert request.header("App-Key") is None
    assert pingdom.api_token not in result.all_output()


def test_api_2_0_with_basic_auth_app_key_and_account_email(configs, backdrop, make_pingdom) -> None:
    pingdom = make_pingdom(["carers_allowance"], account_email="team@example.gov.uk")
    result = run_pingdom(
        configs, backdrop, pingdom.credentials("2.0"),
        args=("-s", "2013-06-15T20:00", "-e", "2013-06-16T02:00"),
    )
    assert result.exit_code == 0, result.stderr
    assert_landed(backdrop, expected(pingdom, "carers_allowance", "2013-06-15T20:00", "2013-06-16T02:00"))
    assert len(pingdom.requests) == 2
    for request in pingdom.requests:
        assert request.path.startswith("/api/2.0/")
        assert request.header("Authorization").startswith("Basic ")
        assert request.header("App-Key") == pingdom.app_key
        assert request.header("Account-Email") == "team@example.gov.uk"
    output = result.all_output()
    assert "carers_allowance" in output  # the logs were written…
    assert pingdom.password not in output  # …without the secrets
    assert pingdom.app_key not in output


def test_credentials_of_neither_shape_are_a_configuration_error(configs, backdrop, pingdom) -> None:
    result = run_pingdom(configs, backdrop, {"CLIENT_SECRETS": "secrets.json", "STORAGE_PATH": "s"})
    assert result.exit_code == 2
    line = one_line(result)
    assert "credentials file" in line and '"api_token"' in line and '"app_key"' in line
    assert pingdom.requests == []
    assert backdrop.requests_to(r"/data/") == []


# Time range --------------------------------------------------------------------------------------


@freeze_time("2013-06-16 10:37:12")
def test_neither_start_nor_end_is_the_last_24_whole_hours(configs, backdrop, pingdom) -> None:
    result = run_pingdom(configs, backdrop, pingdom.credentials())
    assert result.exit_code == 0, result.stderr
    assert pingdom.summary_windows() == [(epoch("2013-06-15T10:00"), epoch("2013-06-16T10:00"))]
    assert_landed(backdrop, expected(pingdom, "carers_allowance", "2013-06-15T10:00", "2013-06-16T10:00"))


@freeze_time("2013-06-16 10:37:12")
def test_start_only_runs_to_now(configs, backdrop, pingdom) -> None:
    result = run_pingdom(configs, backdrop, pingdom.credentials(), args=("-s", "2013-06-15T08:15"))
    assert result.exit_code == 0, result.stderr
    assert pingdom.summary_windows() == [(epoch("2013-06-15T08:00"), epoch("2013-06-16T10:00"))]
    assert len(landed(backdrop)) == 26


@freeze_time("2013-06-16 10:37:12")
def test_end_only_starts_at_2005_and_is_fetched_a_week_at_a_time(configs, backdrop, pingdom) -> None:
    # One chunk at a time, so that the records land in the order they were pushed.
    result = run_pingdom(configs, backdrop, pingdom.credentials(),
                         args=("-e", "2006-01-01T05:30", "--push-concurrency", "1"))
    assert result.exit_code == 0, result.stderr
    # Sorted: windows are fetched several at a time, so they reach the stand-in in any order.
    windows = sorted(pingdom.summary_windows())
    start, end = epoch("2005-01-01T00:00"), epoch("2006-01-01T05:00")
    assert len(windows) == math.ceil((end - start) / WEEK) == 53
    assert windows[0][0] == start and windows[-1][1] == end
    assert all(to - frm <= WEEK for frm, to in windows)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))
    assert_landed(backdrop, expected(pingdom, "carers_allowance", "2005-01-01T00:00", "2006-01-01T05:00"))


def test_minutes_and_seconds_are_truncated_and_offsets_converted_to_utc(configs, backdrop, pingdom) -> None:
    result = run_pingdom(
        configs, backdrop, pingdom.credentials(),
        args=("-s", "2013-06-15T09:59:59+01:00", "-e", "2013-06-15T12:30:00"),
    )
    assert result.exit_code == 0, result.stderr
    assert pingdom.summary_windows() == [(epoch("2013-06-15T08:00"), epoch("2013-06-15T12:00"))]
    assert [r["_id"] for r in pushed_bodies(backdrop)[0]] == [
        "carers_allowance.2013-06-15T08:00:00+00:00",
        "carers_allowance.2013-06-15T09:00:00+00:00",
        "carers_allowance.2013-06-15T10:00:00+00:00",
        "carers_allowance.2013-06-15T11:00:00+00:00",
    ]


def test_a_30_day_backfill_is_split_into_windows_with_no_hour_missing_or_doubled(
    configs, backdrop, pingdom
) -> None:
    # One chunk at a time, so that the POSTs reach the stand-in in the order they were pushed.
    result = run_pingdom(
        configs, backdrop, pingdom.credentials(),
        args=("-s", "2013-05-01", "-e", "2013-05-31", "--push-concurrency", "1"),
    )
    assert result.exit_code == 0, result.stderr
    day = 24 * HOUR
    first = epoch("2013-05-01T00:00")
    assert sorted(pingdom.summary_windows()) == [
        (first, first + 7 * day),
        (first + 7 * day, first + 14 * day),
        (first + 14 * day, first + 21 * day),
        (first + 21 * day, first + 28 * day),
        (first + 28 * day, first + 30 * day),
    ]
    sent = [record for body in pushed_bodies(backdrop) for record in body]
    timestamps = [epoch(record["_timestamp"][:19]) for record in sent]
    assert timestamps == list(range(first, first + 30 * day, HOUR))  # 720 hours, in order, once each
    assert len({record["_id"] for record in sent}) == 720
    assert [len(body) for body in pushed_bodies(backdrop)] == [100] * 7 + [20]  # chunk-size 100
    assert_landed(backdrop, expected(pingdom, "carers_allowance", "2013-05-01T00:00", "2013-05-31T00:00"))


# Checks ------------------------------------------------------------------------------------------


def test_a_check_name_with_spaces_and_capitals(configs, backdrop, pingdom) -> None:
    name = "Electronic Vehicle Licensing - Sorn"
    result = run_pingdom(
        configs, backdrop, pingdom.credentials(), check=name,
        args=("-s", "2013-06-15T22:00", "-e", "2013-06-16T00:00"),
    )
    assert result.exit_code == 0, result.stderr
    assert [r["_id"] for r in landed(backdrop)] == [
        "Electronic_Vehicle_Licensing_-_Sorn.2013-06-15T22:00:00+00:00",
        "Electronic_Vehicle_Licensing_-_Sorn.2013-06-15T23:00:00+00:00",
    ]
    assert {r["check"] for r in landed(backdrop)} == {name}
    assert pingdom.summary_windows(pingdom.check_id(name)) == pingdom.summary_windows()


def test_the_vector_of_the_original_tests(configs, backdrop, make_pingdom) -> None:
    # original-behaviour.md §11 item 24.
    pingdom = make_pingdom(["name with whitespace"])
    result = run_pingdom(
        configs, backdrop, pingdom.credentials("2.0"), check="name with whitespace",
        args=("-s", "2013-06-15T22:00:00Z", "-e", "2013-06-15T23:00:00Z"),
    )
    assert result.exit_code == 0, result.stderr
    [body] = pushed_bodies(backdrop)
    values = PingdomStandIn.hour_summary(pingdom.check_id("name with whitespace"), 1371333600)
    assert body == [
        {
            "_id": "name_with_whitespace.2013-06-15T22:00:00+00:00",
            "_timestamp": "2013-06-15T22:00:00+00:00",
            "avgresponse": values["avgresponse"],
            "uptime": values["uptime"],
            "downtime": values["downtime"],
            "unmonitored": values["unmonitored"],
            "check": "name with whitespace",
        }
    ]


def test_a_check_that_does_not_exist_names_the_closest(configs, backdrop, pingdom) -> None:
    result = run_pingdom(configs, backdrop, pingdom.credentials(), check="Carers_Allowance")
    assert result.exit_code == 1
    line = one_line(result)
    assert "no check named 'Carers_Allowance'" in line
    assert "closest names: 'carers_allowance'" in line
    assert pingdom.summary_windows() == []
    assert backdrop.requests_to(r"/data/") == []


# Failures and retries ----------------------------------------------------------------------------


def test_401_fails_at_once_with_pingdoms_message(configs, backdrop, pingdom) -> None:
    credentials = {**pingdom.credentials("2.0"), "password": "not-the-password"}
    result = run_pingdom(configs, backdrop, credentials)
    assert result.exit_code == 1
    line = one_line(result)
    assert "401 Unauthorized: Invalid email and/or password" in line
    assert len(pingdom.requests) == 1
    assert "not-the-password" not in result.all_output()
    assert backdrop.requests_to(r"/data/") == []


def test_429_then_success_waits_as_retry_after_says(configs, backdrop, pingdom) -> None:
    pingdom.fail_next(429, path="summary", headers={"Retry-After": "1"})
    started = time.monotonic()
    result = run_pingdom(
        configs, backdrop, pingdom.credentials(),
        args=("-s", "2013-06-15T20:00", "-e", "2013-06-15T22:00"),
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    assert [r.status for r in pingdom.requests_to("summary")] == [429, 200]
    assert elapsed >= 1.0  # the retry policy's own backoff is a millisecond in tests
    assert len(landed(backdrop)) == 2


def test_429_then_success_waits_for_the_req_limit_reset(configs, backdrop, pingdom) -> None:
    # The stand-in's injected 429 says `Req-Limit-Short: Remaining: 0 Time until reset: 1`.
    pingdom.fail_next(429, path="checks")
    started = time.monotonic()
    result = run_pingdom(
        configs, backdrop, pingdom.credentials("2.0"),
        args=("-s", "2013-06-15T20:00", "-e", "2013-06-15T22:00"),
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    [refused, accepted] = pingdom.requests_to("checks")
    assert refused.status == 429 and accepted.status == 200
    assert elapsed >= 1.0
    assert len(landed(backdrop)) == 2


def test_a_month_long_rate_limit_reset_fails_instead_of_sleeping(configs, backdrop, pingdom) -> None:
    pingdom.fail_next(
        429, path="summary",
        headers={"Req-Limit-Long": "Remaining: 0 Time until reset: 2591989"},
    )
    started = time.monotonic()
    result = run_pingdom(configs, backdrop, pingdom.credentials())
    assert time.monotonic() - started < 10
    assert result.exit_code == 1
    line = one_line(result)
    assert "429" in line and "Req-Limit-Long: 0 remaining, resets in 2591989 s" in line
    assert len(pingdom.requests_to("summary")) == 1
    assert backdrop.requests_to(r"/data/") == []


def test_503_then_success(configs, backdrop, pingdom) -> None:
    pingdom.fail_next(503, times=2, path="summary")
    result = run_pingdom(
        configs, backdrop, pingdom.credentials(),
        args=("-s", "2013-06-15T20:00", "-e", "2013-06-15T22:00"),
    )
    assert result.exit_code == 0, result.stderr
    assert [r.status for r in pingdom.requests_to("summary")] == [503, 503, 200]
    assert_landed(backdrop, expected(pingdom, "carers_allowance", "2013-06-15T20:00", "2013-06-15T22:00"))


def test_a_dropped_connection_is_retried(configs, backdrop, pingdom) -> None:
    pingdom.drop_next(path="checks")
    result = run_pingdom(
        configs, backdrop, pingdom.credentials(),
        args=("-s", "2013-06-15T20:00", "-e", "2013-06-15T22:00"),
    )
    assert result.exit_code == 0, result.stderr
    assert len(pingdom.requests_to("checks")) == 2


def test_503_every_time_fails_with_one_line(configs, backdrop, pingdom) -> None:
    pingdom.fail_next(503, times=100, path="summary")
    result = run_pingdom(configs, backdrop, pingdom.credentials())
    assert result.exit_code == 1
    assert "Pingdom answered 503" in one_line(result)
    assert len(pingdom.requests_to("summary")) == 5  # the retry policy's attempts
    assert backdrop.requests_to(r"/data/") == []


# Options and dry run -------------------------------------------------------------------------------


def test_dry_run_prints_the_json_and_sends_nothing(configs, backdrop, pingdom) -> None:
    result = run_pingdom(
        configs, backdrop, pingdom.credentials(),
        args=("-s", "2013-06-15T20:00", "-e", "2013-06-15T23:00", "--dry-run"),
    )
    assert result.exit_code == 0, result.stderr
    assert backdrop.requests == []
    assert TOKEN not in result.stdout and TOKEN not in result.all_output()
    [body] = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("[")]
    assert body == expected(pingdom, "carers_allowance", "2013-06-15T20:00", "2013-06-15T23:00")
    # The source is still read, as the original did: a dry run shows real numbers.
    assert len(pingdom.summary_windows()) == 1


def test_additional_fields_and_chunk_size_apply(configs, backdrop, pingdom) -> None:
    # One chunk at a time, so that the POSTs reach the stand-in in the order they were pushed.
    result = run_pingdom(
        configs, backdrop, pingdom.credentials(),
        options={"additionalFields": {"department": "dvla", "check": "overridden?"}, "chunk-size": 4},
        args=("-s", "2013-06-15T00:00", "-e", "2013-06-15T10:00", "--push-concurrency", "1"),
    )
    assert result.exit_code == 0, result.stderr
    assert [len(body) for body in pushed_bodies(backdrop)] == [4, 4, 2]
    wanted = expected(pingdom, "carers_allowance", "2013-06-15T00:00", "2013-06-15T10:00")
    # additionalFields go underneath: the record's own fields win.
    assert_landed(backdrop, [{**record, "department": "dvla"} for record in wanted])


def test_plugins_apply(configs, backdrop, pingdom) -> None:
    result = run_pingdom(
        configs, backdrop, pingdom.credentials(),
        options={"plugins": ["RemoveKey('unmonitored')", "ComputeIdFrom('check', '_timestamp')"]},
        args=("-s", "2013-06-15T00:00", "-e", "2013-06-15T02:00"),
    )
    assert result.exit_code == 0, result.stderr
    [body] = pushed_bodies(backdrop)
    assert [record["humanId"] for record in body] == [
        "carers_allowance_2013-06-15T00:00:00+00:00",
        "carers_allowance_2013-06-15T01:00:00+00:00",
    ]
    assert all("unmonitored" not in record for record in body)


def test_an_empty_range_pushes_nothing(configs, backdrop, pingdom) -> None:
    result = run_pingdom(
        configs, backdrop, pingdom.credentials(),
        args=("-s", "2013-06-15T10:05", "-e", "2013-06-15T10:55"),
    )
    assert result.exit_code == 0, result.stderr
    assert pingdom.summary_windows() == []
    assert backdrop.requests_to(r"/data/") == []


# No Google ---------------------------------------------------------------------------------------


def test_the_pingdom_path_imports_nothing_from_google(configs, backdrop, pingdom) -> None:
    query = configs.query(ENTRYPOINT, {"name": "carers_allowance"}, data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(
        query=query,
        backdrop=configs.backdrop(f"{backdrop.url}/data"),
        credentials=configs.credentials(pingdom.credentials()),
        token=configs.token(TOKEN),
    )
    script = (
        "import sys\n"
        "from performanceplatform.collector.main import main\n"
        f"code = main({argv!r})\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('google', 'googleapiclient', 'oauth2client', 'httplib2', 'google_auth_httplib2'))\n"
        "print(code, loaded)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
        timeout=60, check=False,
    )
    assert completed.stdout.strip() == "0 []", completed.stderr
    assert len(landed(backdrop)) == 24


def test_expected_windows_helper_agrees_with_the_calendar() -> None:
    # A guard on this file's own arithmetic: 2013-06-15T22:00Z is the original tests' 1371333600.
    assert epoch("2013-06-15T22:00") == 1371333600
    assert datetime.fromtimestamp(epoch("2013-05-01T00:00"), UTC) + timedelta(days=30) == datetime(
        2013, 5, 31, tzinfo=UTC
    )


# --check -----------------------------------------------------------------------------------------


def test_check_reports_the_query_and_credentials_problems_without_a_request(configs, pingdom) -> None:
    query = configs.query(ENTRYPOINT, {"name": ""}, data_group=DATA_GROUP, data_type=DATA_TYPE)
    credentials = configs.credentials({"user": "u@example.com", "password": "pw-never-shown"})
    result = run_cli([
        "--check", "-q", str(query),
        "-c", str(credentials),
        "-t", str(configs.token(TOKEN)),
        "-b", str(configs.backdrop("http://127.0.0.1:9/data")),
    ])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert "key 'query.name': expected the Pingdom check's name" in lines[0]
    assert f"credentials file {credentials}: missing 'app_key'" in lines[1]
    assert "pw-never-shown" not in result.stderr
    assert pingdom.requests == []


def test_check_passes_good_pingdom_files(configs, pingdom) -> None:
    query = configs.query(ENTRYPOINT, {"name": "carers_allowance"}, data_group=DATA_GROUP, data_type=DATA_TYPE)
    result = run_cli([
        "--check", "-q", str(query),
        "-c", str(configs.credentials(pingdom.credentials("2.0"))),
        "-t", str(configs.token(TOKEN)),
        "-b", str(configs.backdrop("http://127.0.0.1:9/data")),
    ])
    assert (result.exit_code, result.stderr) == (0, "")
    assert pingdom.requests == []


def test_a_bad_chunk_size_fails_before_pingdom_is_asked(configs, backdrop, pingdom) -> None:
    result = run_pingdom(configs, backdrop, pingdom.credentials(), options={"chunk-size": 0})
    assert result.exit_code == 2
    assert "chunk-size" in one_line(result)
    assert pingdom.requests == []
