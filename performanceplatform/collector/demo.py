"""`make demo`: pp-collector doing its job end to end, offline, in a few seconds.

    python -m performanceplatform.collector.demo [--examples DIR] [--workdir DIR] [--timeout SECONDS]

Starts the stand-ins (Google OAuth, the GA4 Data API, Core Reporting and Real Time v3, Pingdom 3.1,
Matomo, Backdrop) on 127.0.0.1, copies the example config files of `examples/` into a work
directory with their URLs pointed at the stand-ins, runs real `pp-collector` processes with them (a
GA4 weekly backfill, a Universal Analytics query, a realtime count, a day of Pingdom, four weeks of
Matomo), and prints what landed in the Backdrop stand-in. Every
process it starts is stopped before it exits, whether the runs succeed, fail, or it is interrupted.

Exit status: 0 when every collection succeeded and landed records; 1 otherwise; 130 on Ctrl-C and
143 on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from performanceplatform.collector.standins.local import EXAMPLES_BASE_URL, LocalStandIns

# The examples are not part of the package: they are found in the checkout it runs from (`make
# demo`, an editable install), or in ./examples (a checkout with pp-collector installed from it).
CHECKOUT_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WORKING_DIRECTORY_EXAMPLES = Path("examples")
DEFAULT_TIMEOUT = 60.0
SAMPLE_RECORDS = 3
MAX_CELL = 28
MAX_ID_CELL = 60
# Fields Backdrop adds to every stored record; they say nothing about what was collected.
BACKDROP_FIELDS = ("_updated_at", "_hour_start_at", "_day_start_at", "_week_start_at", "_month_start_at",
                   "_quarter_start_at", "_year_start_at")


@dataclass(frozen=True)
class DemoRun:
    """One `pp-collector` run of the demo: what it shows, and the example files it uses."""

    title: str
    query: str
    credentials: str
    token: str
    arguments: tuple[str, ...] = ()

    def argv(self, examples: Path, work: Path) -> list[str]:
        return [
            "-q", str(examples / self.query),
            "-c", str(examples / self.credentials),
            "-t", str(examples / self.token),
            "-b", str(examples / "backdrop.json"),
            "--log-dir", str(work / "log"),
            *self.arguments,
        ]


RUNS = (
    DemoRun(
        "GA4 (Data API): a weekly backfill of four weeks, with a service-account key",
        "queries/ga4-weekly-devices.json",
        "credentials/ga-service-account.json",
        "tokens/ga.json",
        ("--start", "2024-05-06", "--end", "2024-06-02"),
    ),
    DemoRun(
        "Universal Analytics (Core Reporting v3): two days of a daily query, stored user tokens refreshed",
        "queries/ga-daily-journey.json",
        "credentials/ga-user.json",
        "tokens/ga.json",
        ("--start", "2024-06-01", "--end", "2024-06-02"),
    ),
    DemoRun(
        "Google Analytics realtime (Real Time v3): people on the service now, with a .p12 key",
        "queries/ga-realtime.json",
        "credentials/ga-p12.json",
        "tokens/ga-realtime.json",
    ),
    DemoRun(
        "Pingdom API 3.1: a day of hourly uptime and response times",
        "queries/pingdom.json",
        "credentials/pingdom-3.1.json",
        "tokens/pingdom.json",
        ("--start", "2024-06-03", "--end", "2024-06-04"),
    ),
    DemoRun(
        "Matomo 5 (formerly Piwik): four weeks of visits by device type, the token in a POST body",
        "queries/matomo-weekly-devices.json",
        "credentials/matomo.json",
        "tokens/matomo.json",
        ("--start", "2024-05-06", "--end", "2024-06-02"),
    ),
)


@dataclass
class RunResult:
    run: DemoRun
    exit_code: int
    seconds: float
    stderr: str


class DemoFailed(Exception):
    """The demo cannot even start: there are no example files where it was told to look."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    try:
        with _signals_as_exit():
            return run_demo(args.examples, args.workdir, args.timeout, started)
    except DemoFailed as error:
        print(f"demo: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo: interrupted; every process it started has been stopped", file=sys.stderr)
        return 130
    except _Terminated:
        print("demo: terminated; every process it started has been stopped", file=sys.stderr)
        return 143


def run_demo(examples: Path | None, workdir: Path | None, timeout: float, started: float) -> int:
    examples = examples_directory(examples)
    with _work_directory(workdir) as work, LocalStandIns() as stand_ins:
        copied = copy_examples(examples, work / "examples", stand_ins.url)
        print(f"Stand-ins of Google OAuth, Google Analytics (GA4 Data API, Core Reporting and Real Time v3), "
              f"Pingdom, Matomo and Backdrop on {stand_ins.url}")
        print(f"Example files from {examples}, copied to {copied} with {EXAMPLES_BASE_URL} -> {stand_ins.url}")
        print()
        deadline = started + timeout
        results = []
        for run in RUNS:
            results.append(run_collector(run, copied, work, deadline))
        print()
        landed = landed_records(stand_ins.url, copied, RUNS)
        print(landed_table(stand_ins.url, landed))
        failed = [result for result in results if result.exit_code != 0]
        empty = [data_set for data_set, records in landed.items() if not records]
        print()
        kept = f"Configs and logs are in {work}." if workdir else "(--workdir DIR keeps the configs and logs.)"
        print(f"Demo finished in {time.monotonic() - started:.1f} s: {len(results) - len(failed)} of "
              f"{len(results)} collections succeeded. {kept}")
        print("Run the stand-ins yourself with: python -m performanceplatform.collector.standins (see README.rst)")
        return 1 if failed or empty else 0


def examples_directory(given: Path | None) -> Path:
    """The example files: `given` (--examples), else the checkout's, else ./examples."""
    if given is not None:
        if not (given / "backdrop.json").is_file():
            raise DemoFailed(f"no example config files in {given} (expected {given / 'backdrop.json'})")
        return given
    for candidate in (CHECKOUT_EXAMPLES, WORKING_DIRECTORY_EXAMPLES):
        if (candidate / "backdrop.json").is_file():
            return candidate.resolve()
    raise DemoFailed(
        f"no example config files: this pp-collector was installed without them (not in {CHECKOUT_EXAMPLES}, "
        f"nor in ./examples); run the demo from the top of a checkout of the repository, or pass "
        f"--examples DIR (a checkout's examples/ directory)"
    )


def copy_examples(examples: Path, target: Path, base_url: str) -> Path:
    """`examples` copied to `target`, every text file's example URL replaced by `base_url`."""
    # A --workdir used before gets the examples afresh (a refreshed storage file included).
    shutil.copytree(
        examples, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"), dirs_exist_ok=True
    )
    for path in target.rglob("*"):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a binary key (.p12) names no URL
        if EXAMPLES_BASE_URL in text:
            path.write_text(text.replace(EXAMPLES_BASE_URL, base_url), encoding="utf-8")
    return target


def pp_collector_command() -> list[str]:
    """The installed `pp-collector` beside this interpreter, or the same program run as a module."""
    script = Path(sys.executable).parent / "pp-collector"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "performanceplatform.collector"]


def collector_environment() -> dict[str, str]:
    environment = dict(os.environ)
    # Loopback only: a proxy from the environment must not see the stand-ins' traffic.
    environment["NO_PROXY"] = environment["no_proxy"] = "127.0.0.1,localhost"
    # Bounded waits: a failing stand-in costs seconds, not the minutes cron jobs may spend.
    environment.setdefault("PP_COLLECTOR_RETRY_ATTEMPTS", "2")
    environment.setdefault("PP_COLLECTOR_RETRY_MAX_TOTAL_DELAY", "5")
    environment.setdefault("PP_COLLECTOR_CONNECT_TIMEOUT", "5")
    environment.setdefault("PP_COLLECTOR_READ_TIMEOUT", "20")
    for variable in ("DISABLE_COLLECTORS", "LOGLEVEL"):
        environment.pop(variable, None)
    return environment


def run_collector(run: DemoRun, examples: Path, work: Path, deadline: float) -> RunResult:
    argv = run.argv(examples, work)
    shown = " ".join(["pp-collector", *(_relative(part, work) for part in argv)])
    print(f"- {run.title}\n    $ {shown}", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own program, arguments built here
        [*pp_collector_command(), *argv],
        cwd=work,
        env=collector_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _stop(process)
        stderr = "pp-collector: error: stopped by the demo: the demo's time limit ran out"
        exit_code = 1
    else:
        exit_code = process.returncode
    finally:
        # Ctrl-C or SIGTERM while waiting: the collector goes down with the demo.
        _stop(process)
    seconds = time.monotonic() - started
    if exit_code == 0:
        print(f"    done in {seconds:.1f} s", flush=True)
    else:
        last_line = (stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
        print(f"    FAILED (exit {exit_code}) in {seconds:.1f} s: {last_line}", flush=True)
    return RunResult(run, exit_code, seconds, stderr)


def landed_records(base_url: str, examples: Path, runs: Sequence[DemoRun]) -> dict[str, list[dict[str, Any]]]:
    """Each data set the runs pushed to, with what Backdrop's read API returns for it."""
    landed: dict[str, list[dict[str, Any]]] = {}
    session = requests.Session()
    session.trust_env = False  # loopback only, whatever proxy the environment names
    try:
        for run in runs:
            data_set = json.loads((examples / run.query).read_text(encoding="utf-8"))["data-set"]
            name = f"{data_set['data-group']}/{data_set['data-type']}"
            if name in landed:
                continue
            response = session.get(f"{base_url}/data/{name}", timeout=10)
            landed[name] = response.json()["data"] if response.status_code == 200 else []
    finally:
        session.close()
    return landed


def landed_table(base_url: str, landed: dict[str, list[dict[str, Any]]]) -> str:
    """Records per data set, then the first few records of each, as plain text columns."""
    lines = [f"What landed in the Backdrop stand-in (GET {base_url}/data/<data-group>/<data-type>):", ""]
    width = max([len("data set"), *(len(name) for name in landed)])
    lines.append(f"  {'data set':<{width}}  records")
    lines += [f"  {name:<{width}}  {len(records):>7}" for name, records in landed.items()]
    for name, records in landed.items():
        if not records:
            continue
        shown = records[:SAMPLE_RECORDS]
        lines += ["", f"{name}: {len(shown)} of {len(records)} record(s)"]
        lines += ["  " + line for line in _columns(shown)]
    return "\n".join(lines)


def _columns(records: list[dict[str, Any]]) -> list[str]:
    keys: list[str] = []
    for record in records:
        keys += [key for key in record if key not in keys and key not in BACKDROP_FIELDS]
    # The timestamp first and the id last: humanId when there is one, since _id is its base64.
    identity = "humanId" if "humanId" in keys else "_id"
    keys = (["_timestamp"] if "_timestamp" in keys else []) + [
        key for key in keys if key not in ("_timestamp", "_id", "humanId")
    ] + ([identity] if identity in keys else [])
    cells = [[_cell(record.get(key, ""), MAX_ID_CELL if key == identity else MAX_CELL) for key in keys]
             for record in records]
    widths = [max(len(key), *(len(row[index]) for row in cells)) for index, key in enumerate(keys)]
    lines = [keys, *cells]
    return ["  ".join(text.ljust(widths[index]) for index, text in enumerate(line)).rstrip() for line in lines]


def _cell(value: Any, limit: int) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _relative(part: str, work: Path) -> str:
    return part.replace(f"{work}{os.sep}", "")


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class _Terminated(Exception):
    """SIGTERM, raised where the demo is, so that every `finally` stops what it started."""


@contextmanager
def _signals_as_exit() -> Iterator[None]:
    def terminate(signum: int, frame: object) -> None:
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _work_directory(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="pp-collector-demo-") as temporary:
        yield Path(temporary)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m performanceplatform.collector.demo",
        description="Run pp-collector against local stand-ins with the example configs, and show what landed.",
    )
    parser.add_argument("--examples", type=Path, default=None,
                        help=f"the example config files (default: {CHECKOUT_EXAMPLES} when pp-collector runs from "
                        f"a checkout, else ./examples)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the copied configs and the logs here (default: a temporary directory, removed)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"give up on the collections after this many seconds (default {DEFAULT_TIMEOUT:.0f})")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
