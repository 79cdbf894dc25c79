"""The four benchmarks of issue 8, each measured against its own point of comparison in the same run.

See README.md beside this file for the method. Each function returns rows for the one table.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta

import requests

from benchmarks.harness import PINGDOM_CHECK, PROPERTY, Run, StandIns, timed

DEFAULT_CONCURRENCY = 4
# A daily GA4 query as production files write them: a date, two dimensions, two metrics.
DAILY = {
    "id": PROPERTY, "metrics": ["sessions", "users"], "dimensions": ["date", "deviceCategory", "pagePath"],
    "frequency": "daily",
}


@dataclass
class Row:
    benchmark: str
    measured: str
    compared_with: str
    ratio: float | None
    target: str
    met: bool | None


def backfill_wall_time(stand_ins: StandIns, *, latency: float, days: int = 365) -> list[Row]:
    """(1) A year of daily GA4 periods, each request `latency` late: wall time against days x latency."""
    stand_ins.ga4.auto_rows = 10
    stand_ins.ga4.max_page_size = 10_000
    query = stand_ins.query_file("backfill", "performanceplatform.collector.ga", DAILY, {})
    floor = days * latency
    start = date(2023, 1, 1)
    dates = ("-s", start.isoformat(), "-e", (start + timedelta(days=days - 1)).isoformat())
    rows = []
    for concurrency, target in ((DEFAULT_CONCURRENCY, 0.3), (10, None)):
        stand_ins.reset(ga4_latency=latency)
        run = stand_ins.run(query, "ga.json", *dates, "--concurrency", str(concurrency)).check()
        assert stand_ins.backdrop.received_records == days * 10, stand_ins.backdrop.received_records
        ratio = run.wall / floor
        rows.append(Row(
            f"(1) {days}-day daily GA4 backfill, {latency * 1000:.0f} ms a request, --concurrency {concurrency}"
            + (" (default)" if concurrency == DEFAULT_CONCURRENCY else " (GA4's most)"),
            f"{run.wall:.2f} s wall",
            f"sequential floor {days} x {latency * 1000:.0f} ms = {floor:.1f} s",
            ratio,
            f"<= {target}" if target else "-",
            ratio <= target if target else None,
        ))
    return rows


def throughput_and_memory(
    stand_ins: StandIns, *, rows_per_day: int, big_days: int, small_days: int, page: int, latency: float
) -> list[Row]:
    """(2) records/s for `big_days` x `rows_per_day` GA4 rows, paginated, through fetch, build and
    push, against decoding the same responses and encoding the same bodies; (3) peak memory of that
    backfill against one of `small_days` days."""
    stand_ins.ga4.auto_rows = rows_per_day
    stand_ins.ga4.max_page_size = page
    query = stand_ins.query_file("throughput", "performanceplatform.collector.ga", DAILY, {})
    start = date(2020, 1, 1)

    def backfill(days: int, *, keep_bodies: bool) -> Run:
        stand_ins.reset(ga4_latency=latency)
        # A million records are checked and counted, not kept, by Backdrop, nor held as request bodies.
        stand_ins.backdrop.store_records = False
        stand_ins.backdrop.keep_request_bodies = keep_bodies
        end = start + timedelta(days=days - 1)
        run = stand_ins.run(query, "ga.json", "-s", start.isoformat(), "-e", end.isoformat()).check()
        assert stand_ins.backdrop.received_records == days * rows_per_day, stand_ins.backdrop.received_records
        return run

    small = backfill(small_days, keep_bodies=True)
    bodies = [request.body for request in stand_ins.backdrop.requests_to("^/data/", "POST")]
    harness_cpu = _own_cpu()
    big = backfill(big_days, keep_bodies=False)
    harness_cpu = _own_cpu() - harness_cpu
    stand_ins.backdrop.keep_request_bodies = True
    total = big_days * rows_per_day
    pipeline_rate = total / big.wall
    baseline_rate = _decode_and_encode_rate(stand_ins, query_days=small_days, bodies=bodies, page=page)
    ratio = pipeline_rate / baseline_rate
    memory_ratio = big.max_rss_kib / small.max_rss_kib
    return [
        Row(
            f"(2) {total:,} GA4 rows ({big_days} days x {rows_per_day}, pages of {page}), fetch -> build -> push",
            f"{pipeline_rate:,.0f} records/s ({big.wall:.1f} s wall; CPU: pp-collector {big.cpu:.1f} s, "
            f"stand-ins {harness_cpu:.1f} s)",
            f"decode responses + encode bodies only: {baseline_rate:,.0f} rows/s",
            ratio,
            ">= 0.3",
            ratio >= 0.3,
        ),
        Row(
            f"(3) peak RSS of the {total:,}-row backfill against a {small_days * rows_per_day:,}-row one",
            f"{big.max_rss_kib / 1024:.1f} MiB",
            f"{small.max_rss_kib / 1024:.1f} MiB",
            memory_ratio,
            "<= 1.3",
            memory_ratio <= 1.3,
        ),
    ]


def _own_cpu() -> float:
    """CPU seconds this process (the stand-ins' threads) has used."""
    times = os.times()
    return times.user + times.system


def _decode_and_encode_rate(stand_ins: StandIns, *, query_days: int, bodies: list[bytes], page: int) -> float:
    """Rows a second when all a run does is `json.loads` the GA4 answers and `json.dumps` the
    Backdrop bodies: the same answers (fetched again, untimed) and the same bodies (from the small
    run, as received). Timed per row, best of three, on `query_days` days of rows."""
    answers = []
    for day in range(query_days):
        when = (date(2020, 1, 1) + timedelta(days=day)).isoformat()
        offset = 0
        while offset < stand_ins.ga4.auto_rows:
            answers.append(_run_report(stand_ins, when, offset, page))
            offset += page
    records = [json.loads(body) for body in bodies]
    rows = sum(len(chunk) for chunk in records)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for answer in answers:
            json.loads(answer)
        for chunk in records:
            json.dumps(chunk, separators=(",", ":")).encode("ascii")
        best = min(best, time.perf_counter() - started)
    return rows / best


def _run_report(stand_ins: StandIns, day: str, offset: int, limit: int) -> bytes:
    body = {
        "dateRanges": [{"startDate": day, "endDate": day}],
        "metrics": [{"name": "sessions"}, {"name": "totalUsers"}],
        "dimensions": [{"name": "date"}, {"name": "deviceCategory"}, {"name": "pagePathPlusQueryString"}],
        "offset": str(offset), "limit": str(limit), "returnPropertyQuota": True,
    }
    response = requests.post(
        f"{stand_ins.ga4.url}/v1beta/{PROPERTY}:runReport", json=body,
        headers={"Authorization": "Bearer benchmark"}, timeout=60,
    )
    response.raise_for_status()
    return response.content


def start_up(stand_ins: StandIns, *, repeats: int) -> list[Row]:
    """(4) Time from process start to the first upstream request, against `python -c pass`."""
    import sys

    bare = statistics.median(timed([sys.executable, "-c", "pass"]).wall for _ in range(repeats))
    pingdom = stand_ins.query_file("pingdom", "performanceplatform.collector.pingdom", {"name": PINGDOM_CHECK}, {})
    realtime = stand_ins.query_file(
        "realtime", "performanceplatform.collector.ga.realtime", {"ids": PROPERTY, "metrics": "rt:activeUsers"}, {}
    )
    weekly = stand_ins.query_file(
        "weekly", "performanceplatform.collector.ga",
        {"id": PROPERTY, "metrics": ["sessions", "users"], "dimensions": ["deviceCategory"]}, {},
    )
    stand_ins.ga4.realtime_rows = [{"activeUsers": "42"}]
    stand_ins.ga4.auto_rows = 3
    rows = []
    for name, query, credentials in (
        ("Pingdom (last 24 hours)", pingdom, "pingdom.json"),
        ("GA4 realtime", realtime, "ga.json"),
        ("GA4 weekly ga", weekly, "ga.json"),
    ):
        firsts, walls = [], []
        for _ in range(repeats):
            stand_ins.reset()
            run = stand_ins.run(query, credentials).check()
            assert run.first_request is not None
            firsts.append(run.first_request)
            walls.append(run.wall)
        first = statistics.median(firsts)
        rows.append(Row(
            f"(4) start -> first upstream request, {name}",
            f"{first * 1000:.0f} ms (whole run {statistics.median(walls) * 1000:.0f} ms)",
            f"python -c pass: {bare * 1000:.0f} ms",
            first / bare,
            "-",
            None,
        ))
    return rows
