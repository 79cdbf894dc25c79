"""`make bench`: every benchmark (issues 8 and 16) against the stand-ins, printed as one table.

`python -m benchmarks.run [--quick] [--only N ...]`; `--quick` shrinks every size (a smoke run: its
figures are not the ones the targets are about); `--only 2` runs benchmark 2 alone (2 and 3 share
their runs, so either runs both).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

from benchmarks.cases import (
    Row,
    backfill_wall_time,
    overlapping_pushes,
    realtime_run,
    start_up,
    throughput_and_memory,
)
from benchmarks.harness import stand_ins

FULL = {"latency": 0.1, "days": 365, "short_days": 90, "rows_per_day": 1000, "big_days": 1000, "small_days": 10,
        "page": 500, "page_latency": 0.002, "backdrop_latency": 0.02, "repeats": 7}
QUICK = {"latency": 0.02, "days": 60, "short_days": 20, "rows_per_day": 200, "big_days": 100, "small_days": 10,
         "page": 100, "page_latency": 0.0, "backdrop_latency": 0.005, "repeats": 2}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--only", type=int, action="append", choices=range(1, 7), metavar="N",
        help="run benchmark N only (1 to 6; repeat for several); 2 and 3 share their runs",
    )
    arguments = parser.parse_args(argv)
    sizes = QUICK if arguments.quick else FULL
    chosen = set(arguments.only or range(1, 7))
    started = time.monotonic()
    rows: list[Row] = []
    with stand_ins() as running:
        if 1 in chosen:
            rows += backfill_wall_time(
                running, latency=sizes["latency"], days=sizes["days"], short_days=sizes["short_days"]
            )
        if chosen & {2, 3}:
            rows += throughput_and_memory(
                running, rows_per_day=sizes["rows_per_day"], big_days=sizes["big_days"],
                small_days=sizes["small_days"], page=sizes["page"], latency=sizes["page_latency"],
            )
        if 4 in chosen:
            rows += start_up(running, repeats=sizes["repeats"])
        if 5 in chosen:
            rows += realtime_run(running, repeats=sizes["repeats"])
        if 6 in chosen:
            rows += overlapping_pushes(
                running, rows_per_day=sizes["rows_per_day"], days=sizes["big_days"], page=sizes["page"],
                latency=sizes["page_latency"], backdrop_latency=sizes["backdrop_latency"],
            )
    print(table(rows))
    print(f"\n{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
          f"{_cpus()} CPUs; benchmarks took {time.monotonic() - started:.0f} s")
    return 0 if all(row.met is not False for row in rows) else 1


def table(rows: list[Row]) -> str:
    header = ("benchmark", "measured", "compared with", "ratio", "target", "met")
    cells = [header] + [
        (
            row.benchmark, row.measured, row.compared_with,
            "-" if row.ratio is None else f"{row.ratio:.2f}",
            row.target,
            "-" if row.met is None else ("yes" if row.met else "NO"),
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def _cpus() -> str:
    import os

    return str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())


if __name__ == "__main__":
    sys.exit(main())
