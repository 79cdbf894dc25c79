"""A whole run through the CLI and real HTTP: rows → records → Backdrop stand-in."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from performanceplatform.collector import progress
from tests.collectors import gated
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


GATED = "tests.collectors.gated"


class ChunkLanded(logging.Handler):
    """Set when the run's progress hears that chunk `number` has landed."""

    def __init__(self, number: int):
        super().__init__()
        self.number = number
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "progress", None) == progress.CHUNK and getattr(record, "number", None) == self.number:
            self.seen.set()


@pytest.fixture
def gate(request: pytest.FixtureRequest) -> Iterator[str]:
    name = request.node.name
    gated.GATES[name] = threading.Event()
    try:
        yield name
    finally:
        gated.GATES.pop(name).set()


def sigterm_when(event: threading.Event) -> threading.Thread:
    """SIGTERM to this process (the run in its main thread) once `event` is set."""

    def stop() -> None:
        if event.wait(60):
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=stop, daemon=True)
    thread.start()
    return thread


def gated_query(configs, gate_name: str | None, gate_at: int | None = None, count: int = 20):
    records = [{"_timestamp": "2014-10-13T00:00:00+00:00", "_id": f"id-{n}", "number": n} for n in range(count)]
    gating = {"gate": gate_name, "gate_at": gate_at} if gate_name else {}
    return configs.query(GATED, {"records": records, **gating}, {"chunk-size": 5},
                         data_group=DATA_GROUP, data_type=DATA_TYPE)


# The stop tests below push one chunk at a time, for the words of that message; the words with
# chunks overlapping are tests/backdrop/test_overlapping_pushes.py's.


def test_sigterm_between_chunks_names_the_chunks_that_landed(configs, backdrop, gate):
    # Chunk 2 has landed and chunk 3 is not yet gathered (the collector waits at record 10) when
    # SIGTERM comes: the race where a stop between chunks once said nothing of what had landed.
    landed = ChunkLanded(2)
    progress.EVENTS.addHandler(landed)
    try:
        stopper = sigterm_when(landed.seen)
        result = run(configs, backdrop, gated_query(configs, gate, gate_at=10), "--push-concurrency", "1")
        stopper.join()
    finally:
        progress.EVENTS.removeHandler(landed)
    assert result.exit_code == 143
    assert result.stderr == (
        f"pp-collector: error: stopped by SIGTERM; 2 chunks (10 records) had been stored in Backdrop "
        f"{DATA_GROUP}/{DATA_TYPE}; nothing after them was sent\n"
    )
    assert [record["_id"] for record in backdrop.records(DATA_GROUP, DATA_TYPE)] == [f"id-{n}" for n in range(10)]


def test_sigterm_with_a_chunk_on_its_way_names_it_without_waiting_for_it(configs, backdrop, gate):
    held = backdrop.hold_next(when=lambda request: b'"id-10"' in request.body)
    try:
        stopper = sigterm_when(held.reached)
        result = run(configs, backdrop, gated_query(configs, gate, gate_at=15), "--push-concurrency", "1")
        stopper.join()
        # The run ended while chunk 3 was still held at Backdrop, unanswered.
        assert backdrop.in_flight == 1
    finally:
        held.release()
    assert result.exit_code == 143
    assert result.stderr == (
        f"pp-collector: error: stopped by SIGTERM while pushing chunk 3 to Backdrop {DATA_GROUP}/{DATA_TYPE}: "
        "2 earlier chunks (10 records) had been stored; chunk 3 may or may not have been; nothing after it was sent\n"
    )
    assert backdrop.wait_for(lambda: not backdrop.in_flight)


def test_sigterm_in_another_process_mid_push_reports_what_landed(configs, backdrop):
    # As cron's kill does it, from another process: chunk 2 is held at Backdrop, so the run is
    # pushing when the signal comes.
    query = gated_query(configs, None)
    files = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"), token=configs.token(TOKEN))
    held = backdrop.hold_next(when=lambda request: b'"id-5"' in request.body)
    process = subprocess.Popen([sys.executable, "-m", "performanceplatform.collector", *files,
                                "--push-concurrency", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert held.reached.wait(60)  # chunk 2 is at Backdrop
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        held.release()
    assert process.returncode == 143
    assert "stopped by SIGTERM while pushing chunk 2" in stderr
    assert "1 earlier chunks (5 records) had been stored" in stderr
    log_text = (configs.log_dir / "collector.log").read_text()
    assert "stopped by SIGTERM while pushing chunk 2" in log_text


def test_the_token_is_not_sent_over_plain_http_to_another_host(configs):
    query = configs.query(STATIC, {"rows": rows(1)})
    result = run_cli(configs.args(query=query, backdrop=configs.backdrop("http://backdrop.example.org/data")))
    assert result.exit_code == 2
    assert "refusing to send the Backdrop token over plain http to backdrop.example.org" in result.stderr


