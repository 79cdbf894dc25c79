"""A whole run through the CLI and real HTTP: rows → records → Backdrop stand-in."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.cli import REPO_ROOT, run_cli

STATIC = "tests.collectors.static"


def rows(count: int) -> list[dict]:
    return [
        {"date": "2014-10-13", "dimensions": {"browser": f"browser-{n:04d}"}, "fields": {"visitors": n}}
        for n in range(count)
    ]


def static_query(configs, count=3, options=None, **extra):
    return configs.query(STATIC, {"rows": rows(count), **extra.pop("query_extra", {})}, options,
                         data_group=DATA_GROUP, data_type=DATA_TYPE, **extra)


def run(configs, backdrop, query, *flags):
    return run_cli([*configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                                  token=configs.token(TOKEN)), *flags])


def test_records_land_in_chunks(configs, backdrop):
    # One chunk at a time, so that the POSTs reach the stand-in in the order they were pushed.
    result = run(configs, backdrop, static_query(configs, 5, {"chunk-size": 2}), "--push-concurrency", "1")
    assert result.exit_code == 0, result.stderr
    posts = backdrop.requests_to(r"^/data/", "POST")
    assert [len(request.json()) for request in posts] == [2, 2, 1]
    stored = backdrop.records(DATA_GROUP, DATA_TYPE)
    assert sorted(record["visitors"] for record in stored) == [0, 1, 2, 3, 4]
    assert all(record["_timestamp"] == "2014-10-13T00:00:00+00:00" for record in stored)
    assert all(request.header("Authorization") == f"Bearer {TOKEN}" for request in posts)


def test_the_readme_example_options_and_top_level_plugins(configs, backdrop):
    query = static_query(
        configs, 2, {"additionalFields": {"department": "dvsa"}},
        plugins=["Comment('ids from fields')", "ComputeIdFrom('department', 'browser')"],
    )
    result = run(configs, backdrop, query)
    assert result.exit_code == 0, result.stderr
    stored = sorted(backdrop.records(DATA_GROUP, DATA_TYPE), key=lambda r: r["humanId"])
    assert [r["humanId"] for r in stored] == ["dvsa_browser-0000", "dvsa_browser-0001"]
    assert all(r["department"] == "dvsa" for r in stored)


def test_large_chunks_are_gzipped_and_a_503_is_retried_with_the_full_body(configs, backdrop):
    backdrop.fail_next(503, times=1, path=r"^/data/")
    result = run(configs, backdrop, static_query(configs, 100))
    assert result.exit_code == 0, result.stderr
    first, second = backdrop.requests_to(r"^/data/", "POST")
    assert first.header("Content-Encoding") == second.header("Content-Encoding") == "gzip"
    assert first.raw_body == second.raw_body and len(second.raw_body) > 0
    assert len(second.json()) == 100
    assert len(backdrop.records(DATA_GROUP, DATA_TYPE)) == 100


def test_a_400_is_not_retried_and_fails_with_backdrops_message(configs, backdrop):
    backdrop.fail_next(400, body={"messages": ["visitors has an invalid value"]}, path=r"^/data/")
    result = run(configs, backdrop, static_query(configs, 3))
    assert result.exit_code == 1
    assert len(backdrop.requests_to(r"^/data/", "POST")) == 1
    [line] = result.stderr.strip().splitlines()
    assert "Backdrop answered 400: visitors has an invalid value" in line
    assert "No records were stored" in line


def test_dry_run_prints_the_requests_and_sends_nothing(configs, backdrop):
    result = run(configs, backdrop, static_query(configs, 3, {"chunk-size": 2}), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert backdrop.requests == []
    assert TOKEN not in result.all_output()
    assert "Authorization: Bearer [REDACTED]" in result.stdout
    bodies = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("[")]
    assert [len(body) for body in bodies] == [2, 1]
    assert bodies[0][0]["visitors"] == 0
    assert result.stdout.count(f"POST {backdrop.url}/data/{DATA_GROUP}/{DATA_TYPE}") == 2


def test_backdrop_unreachable_fails_after_bounded_retries(configs):
    # Nothing listens on port 9 (discard): every attempt is refused.
    query = configs.query(STATIC, {"rows": rows(1)})
    result = run_cli(configs.args(query=query, backdrop=configs.backdrop("http://127.0.0.1:9/data")))
    assert result.exit_code == 1
    assert "could not reach Backdrop" in result.stderr
    assert result.text_log().count("retrying in") == 4


def test_sigterm_mid_push_reports_what_landed(configs, backdrop, tmp_path):
    query = static_query(configs, 40, {"chunk-size": 5}, query_extra={"seconds_per_record": 0.1})
    files = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"), token=configs.token(TOKEN))
    argv = [sys.executable, "-m", "performanceplatform.collector", *files]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    deadline = time.monotonic() + 30
    while len(backdrop.requests_to(r"^/data/", "POST")) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143
    landed = len(backdrop.records(DATA_GROUP, DATA_TYPE))
    assert landed % 5 == 0 and 10 <= landed < 40
    assert "stopped by SIGTERM" in stderr
    log_text = (configs.log_dir / "collector.log").read_text()
    assert "chunks" in log_text and "had been stored" in log_text


def test_the_token_is_not_sent_over_plain_http_to_another_host(configs):
    query = configs.query(STATIC, {"rows": rows(1)})
    result = run_cli(configs.args(query=query, backdrop=configs.backdrop("http://backdrop.example.org/data")))
    assert result.exit_code == 2
    assert "refusing to send the Backdrop token over plain http to backdrop.example.org" in result.stderr


