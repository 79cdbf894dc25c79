"""The benchmarks of issues 8 and 16, each measured against its own point of comparison in the same run.

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
from performanceplatform.collector.concurrency import DEFAULT_CONCURRENCY, DEFAULT_PUSH_CONCURRENCY

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


def backfill_wall_time(stand_ins: StandIns, *, latency: float, days: int = 365, short_days: int = 90) -> list[Row]:
    """(1) Daily GA4 backfills (`short_days` and `days` periods), each request `latency` late: wall time
    against days x latency, at the default concurrency (and the year at GA4's most, 10)."""
    stand_ins.ga4.auto_rows = 10
    stand_ins.ga4.max_page_size = 10_000
    query = stand_ins.query_file("backfill", "performanceplatform.collector.ga", DAILY, {})
    start = date(2023, 1, 1)
    rows = []
    for length, concurrency, target in (
        (short_days, DEFAULT_CONCURRENCY, 0.30), (days, DEFAULT_CONCURRENCY, 0.27), (days, 10, None)
    ):
        floor = length * latency
        dates = ("-s", start.isoformat(), "-e", (start + timedelta(days=length - 1)).isoformat())
        stand_ins.reset(ga4_latency=latency)
        run = stand_ins.run(query, "ga.json", *dates, "--concurrency", str(concurrency)).check()
        assert stand_ins.backdrop.received_records == length * 10, stand_ins.backdrop.received_records
        ratio = run.wall / floor
        rows.append(Row(
            f"(1) {length}-day daily GA4 backfill, {latency * 1000:.0f} ms a request, --concurrency {concurrency}"
            + (" (default)" if concurrency == DEFAULT_CONCURRENCY else " (GA4's most)"),
            f"{run.wall:.2f} s wall",
            f"sequential floor {length} x {latency * 1000:.0f} ms = {floor:.1f} s",
            ratio,
            f"<= {target:.2f}" if target else "-",
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
    collector_cpu_per_row = big.cpu / total
    baseline_cpu_per_row = _decode_and_encode_cpu_per_row(stand_ins, query_days=small_days, bodies=bodies, page=page)
    ratio = collector_cpu_per_row / baseline_cpu_per_row
    memory_ratio = big.max_rss_kib / small.max_rss_kib
    return [
        Row(
            f"(2) {total:,} GA4 rows ({big_days} days x {rows_per_day}, pages of {page}), fetch -> build -> push: "
            "pp-collector's CPU a row",
            f"{collector_cpu_per_row * 1e6:.1f} us a row ({big.cpu:.1f} s CPU; {total / big.wall:,.0f} records/s, "
            f"{big.wall:.1f} s wall; stand-ins' CPU {harness_cpu:.1f} s)",
            f"decode responses + encode bodies only: {baseline_cpu_per_row * 1e6:.1f} us CPU a row",
            ratio,
            "<= 3",
            ratio <= 3,
        ),
        Row(
            f"(3) peak RSS of the {total:,}-row backfill against a {small_days * rows_per_day:,}-row one "
            f"({DEFAULT_PUSH_CONCURRENCY} chunks on their way at once)",
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


def _decode_and_encode_cpu_per_row(stand_ins: StandIns, *, query_days: int, bodies: list[bytes], page: int) -> float:
    """CPU seconds a row when all a run does is `json.loads` the GA4 answers and `json.dumps` the
    Backdrop bodies: the same answers (fetched again, untimed) and the same bodies (from the small
    run, as received). Timed with this process's CPU clock, best of three, on `query_days` days of
    rows (a warm loop: no threads, no HTTP, nothing else)."""
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
        started = time.process_time()
        for answer in answers:
            json.loads(answer)
        for chunk in records:
            json.dumps(chunk, separators=(",", ":")).encode("ascii")
        best = min(best, time.process_time() - started)
    return best / rows


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
    # GA runs with production's credentials (stored user tokens, the access token still valid);
    # the service-account runs, which sign a JWT and ask for a token first, are reported beside
    # them, without a target.
    for name, query, credentials, target in (
        ("Pingdom (last 24 hours)", pingdom, "pingdom.json", 4),
        ("GA4 realtime, stored user tokens", realtime, "ga.json", 4),
        ("GA4 weekly ga, stored user tokens", weekly, "ga.json", 6),
        ("GA4 realtime, service account (token request first)", realtime, "ga-service-account.json", None),
        ("GA4 weekly ga, service account (token request first)", weekly, "ga-service-account.json", None),
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
            "-" if target is None else f"<= {target}",
            None if target is None else first / bare <= target,
        ))
    return rows


def overlapping_pushes(
    stand_ins: StandIns, *, rows_per_day: int, days: int, page: int, latency: float, backdrop_latency: float
) -> list[Row]:
    """(6) `days` x `rows_per_day` GA4 rows pushed to a Backdrop that answers each POST
    `backdrop_latency` late, one chunk at a time and at the default push concurrency: wall time
    against the one-at-a-time floor (chunks x latency), and what each left in Backdrop."""
    stand_ins.ga4.auto_rows = rows_per_day
    stand_ins.ga4.max_page_size = page
    query = stand_ins.query_file("overlapping", "performanceplatform.collector.ga", DAILY, {})
    start = date(2020, 1, 1)
    dates = ("-s", start.isoformat(), "-e", (start + timedelta(days=days - 1)).isoformat())
    total = days * rows_per_day
    chunks = -(-total // 100)  # chunk-size 100, the default
    floor = chunks * backdrop_latency
    runs, held = {}, {}
    for push_concurrency in (1, DEFAULT_PUSH_CONCURRENCY):
        stand_ins.reset(ga4_latency=latency, backdrop_latency=backdrop_latency)
        stand_ins.backdrop.store_records = False
        stand_ins.backdrop.keep_request_bodies = False
        stand_ins.backdrop.record_digests = {}
        runs[push_concurrency] = stand_ins.run(
            query, "ga.json", *dates, "--push-concurrency", str(push_concurrency)
        ).check()
        assert stand_ins.backdrop.received_records == total, stand_ins.backdrop.received_records
        held[push_concurrency] = stand_ins.backdrop.record_digests
    stand_ins.backdrop.keep_request_bodies = True
    identical = held[1] == held[DEFAULT_PUSH_CONCURRENCY] and len(held[1]) == total
    rows = []
    for push_concurrency, run in runs.items():
        ratio = run.wall / floor
        default = push_concurrency == DEFAULT_PUSH_CONCURRENCY
        rows.append(Row(
            f"(6) {total:,} GA4 rows into a Backdrop answering each POST {backdrop_latency * 1000:.0f} ms late, "
            f"--push-concurrency {push_concurrency}" + (" (default)" if default else ""),
            f"{run.wall:.1f} s wall ({total / run.wall:,.0f} records/s)"
            + (f"; Backdrop holds the same {len(held[1]):,} records as with 1: {'yes' if identical else 'NO'}"
               if default else ""),
            f"one chunk at a time floor: {chunks:,} chunks x {backdrop_latency * 1000:.0f} ms = {floor:.0f} s",
            ratio,
            "<= 0.35, same records" if default else "-",
            (ratio <= 0.35 and identical) if default else None,
        ))
    return rows


def realtime_run(stand_ins: StandIns, *, repeats: int) -> list[Row]:
    """(5) A GA4 realtime run, the whole process (start to exit), median of `repeats`, against `python -c pass`."""
    import sys

    bare = statistics.median(timed([sys.executable, "-c", "pass"]).wall for _ in range(repeats))
    realtime = stand_ins.query_file(
        "realtime-whole", "performanceplatform.collector.ga.realtime",
        {"ids": PROPERTY, "metrics": "rt:activeUsers"}, {},
    )
    stand_ins.ga4.realtime_rows = [{"activeUsers": "42"}]
    rows = []
    for name, credentials in (
        ("stored user tokens: runRealtimeReport, one record pushed", "ga.json"),
        ("service account: token request, runRealtimeReport, one record pushed", "ga-service-account.json"),
    ):
        walls = []
        for _ in range(repeats):
            stand_ins.reset()
            walls.append(stand_ins.run(realtime, credentials).check().wall)
        wall = statistics.median(walls)
        rows.append(Row(
            f"(5) a GA4 realtime run, whole process ({name})",
            f"{wall * 1000:.0f} ms (median of {repeats})",
            f"python -c pass: {bare * 1000:.0f} ms",
            wall / bare,
            "-",
            None,
        ))
    return rows
