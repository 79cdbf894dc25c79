"""What a run shows while it runs and says when it ends: a progress display on a terminal only, one
summary line at INFO for every run, per-request detail at DEBUG, and, when a backfill stops or
fails part-way, the `-s` date from which a re-run completes the data set."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.cli import REPO_ROOT, ConfigFiles, run_cli
from tests.support.google import GA4_PROPERTY, Ga4Collector

GA4_DAILY = {"id": GA4_PROPERTY, "metrics": ["sessions"], "dimensions": ["date", "deviceCategory"],
             "frequency": "daily"}
JANUARY = ("-s", "2024-01-01", "-e", "2024-01-30")


def info_lines(log_text: str) -> list[str]:
    return [line for line in log_text.splitlines() if "[INFO]" in line]


def test_every_run_ends_with_one_summary_line_and_requests_are_detail(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.auto_rows = 2

    result = ga4_collector.run("ga", GA4_DAILY, {"chunk-size": 25}, *JANUARY)

    assert result.exit_code == 0, result.stderr
    lines = info_lines(result.text_log())
    summary = [line for line in lines if "Run finished: " in line]
    assert len(summary) == 1
    assert re.search(r"Run finished: 30 of 30 periods, 30 source requests, 60 records in 3 chunks, "
                     r"\d+\.\d s, 0 warnings$", summary[0]), summary
    # A month of days is a handful of lines at INFO, not four a day.
    assert len(lines) < 10, lines
    assert not [line for line in lines if "runReport" in line or "pushed chunk" in line or "GA4 quota" in line]


def test_at_debug_each_request_and_chunk_has_its_line(
    ga4_collector: Ga4Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGLEVEL", "DEBUG")
    ga4_collector.api.auto_rows = 2

    result = ga4_collector.run("ga", GA4_DAILY, {"chunk-size": 25}, "-s", "2024-01-01", "-e", "2024-01-03")

    assert result.exit_code == 0, result.stderr
    text = result.text_log()
    assert text.count("GA4 quota: the runReport request") == 3
    assert text.count("[DEBUG] performanceplatform.collector.backdrop.sink -> pushed chunk") == 1


def test_a_failed_backfill_says_where_a_re_run_completes_it(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.auto_rows = 1
    ga4_collector.api.fail_next_with(400, "Field fooBar is not a valid dimension.", times=100,
                                     when=lambda request: b'"2024-01-08"' in request.body)

    result = ga4_collector.run("ga", GA4_DAILY, {"chunk-size": 3}, *JANUARY, "--concurrency", "1")

    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    # Days 1 to 6 landed (two chunks of 3); day 7's chunk never filled, as day 8 failed. A re-run
    # from the last day that landed overwrites it (by _id) and completes the rest.
    assert line.endswith("; re-run with -s 2024-01-06 to complete the data set"), line
    landed = sorted(record["_timestamp"][:10] for record in ga4_collector.records())
    assert landed == [f"2024-01-0{day}" for day in range(1, 7)]
    summary = [entry for entry in info_lines(result.text_log()) if "Run failed: " in entry]
    assert len(summary) == 1 and "re-run with -s" in summary[0]


def test_a_failure_before_anything_landed_says_to_re_run_from_the_start(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.grant_only("properties/1")

    result = ga4_collector.run("ga", GA4_DAILY, {}, *JANUARY)

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].endswith("; re-run with -s 2024-01-01 to complete the data set")


def test_a_replacing_push_gives_no_date_to_re_run_from(ga4_collector: Ga4Collector) -> None:
    # empty-data-set: a re-run from a date would empty what came before it.
    ga4_collector.api.grant_only("properties/1")

    result = ga4_collector.run("ga", GA4_DAILY, {"empty-data-set": True}, *JANUARY)

    assert result.exit_code == 1
    assert "re-run with" not in result.stderr


@pytest.mark.parametrize("failure", ["401", "unknown check"])
def test_an_expected_failure_is_one_line_even_on_the_console(
    configs: ConfigFiles, backdrop: BackdropStandIn, pingdom: PingdomStandIn, failure: str
) -> None:
    credentials = pingdom.credentials("2.0")
    check = "carers_allowance"
    if failure == "401":
        credentials = {**credentials, "password": "not-the-password"}
    else:
        check = "no such check"
    query = configs.query("performanceplatform.collector.pingdom", {"name": check},
                          data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=configs.credentials(credentials), token=configs.token(TOKEN), console=True)

    result = run_cli(argv)

    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line or line.startswith("pp-collector:")]
    assert len(errors) == 1 and errors[0].startswith("pp-collector: error: "), result.stderr


def test_at_debug_an_expected_failure_keeps_its_traceback_for_whoever_asked(
    configs: ConfigFiles, backdrop: BackdropStandIn, pingdom: PingdomStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGLEVEL", "DEBUG")
    query = configs.query("performanceplatform.collector.pingdom", {"name": "no such check"},
                          data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=configs.credentials(pingdom.credentials()), token=configs.token(TOKEN))

    result = run_cli(argv)

    assert result.exit_code == 1
    assert "Traceback" in result.text_log() and "Traceback" not in result.stderr


# At a terminal ---------------------------------------------------------------------------------------


def run_at_a_terminal(argv: list[str], cwd: Path) -> tuple[int, str]:
    """`pp-collector ARGV` with its stdin, stdout and stderr a pseudo-terminal; exit code and what it drew."""
    parent, child = pty.openpty()
    # A terminal of 24 rows and 120 columns, as a person's (a new pseudo-terminal has none).
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "performanceplatform.collector", *argv],
        stdin=child, stdout=child, stderr=child, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    os.close(child)
    drawn = b""
    while True:
        ready, _, _ = select.select([parent], [], [], 120)
        assert ready, "the run drew nothing for two minutes"
        try:
            chunk = os.read(parent, 65536)
        except OSError:  # the terminal closed: the run has ended
            break
        if not chunk:
            break
        drawn += chunk
    os.close(parent)
    return process.wait(timeout=60), drawn.decode("utf-8", "replace")


def test_at_a_terminal_a_backfill_draws_its_progress_and_the_log_has_none_of_it(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.auto_rows = 2
    configs = ga4_collector.configs
    query = configs.query("performanceplatform.collector.ga", GA4_DAILY, {"chunk-size": 10},
                          data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{ga4_collector.backdrop.url}/data"),
                        credentials=ga4_collector.credentials_path, token=configs.token(TOKEN))

    exit_code, drawn = run_at_a_terminal([*argv, *JANUARY, "--concurrency", "1"], configs.root)

    assert exit_code == 0, drawn
    # Periods done of the total, the time left, the rate, the records pushed: redrawn in place.
    assert re.search(r"100%\|.*\| 30/30 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+ periods/s, 60 records pushed", drawn), drawn
    assert "\r" in drawn
    log_text = (configs.log_dir / "collector.log").read_text()
    assert "\r" not in log_text and "records pushed" not in log_text
    assert len(ga4_collector.records()) == 60


def test_at_a_terminal_a_run_that_finds_its_lock_held_says_so(
    configs: ConfigFiles, backdrop: BackdropStandIn
) -> None:
    from performanceplatform.collector.locking import lock_path

    query = configs.query("tests.collectors.static", {"rows": []}, data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = [*configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"), token=configs.token(TOKEN)),
            "--lock-wait", "0"]
    held = lock_path(configs.root / "lock", DATA_GROUP, DATA_TYPE, os.path.abspath(query))
    held.parent.mkdir(parents=True, exist_ok=True)
    with held.open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        exit_code, drawn = run_at_a_terminal(argv, configs.root)
        quiet = run_cli(argv)

    assert exit_code == 0
    assert "pp-collector: Another run of" in drawn and "is still running" in drawn
    # Not at a terminal (cron): nothing on stderr, the log says it.
    assert (quiet.exit_code, quiet.stderr) == (0, "")
