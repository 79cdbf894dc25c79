"""Runs on real Celery workers (subprocesses) with a real Redis, the stand-ins as source and Backdrop."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from tests.celery.jobs import pingdom_job
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.celery_processes import CeleryProcesses
from tests.support.cli import ConfigFiles, run_cli_subprocess

pytestmark = pytest.mark.slow

BACKFILL = ["-s", "2013-05-01", "-e", "2013-05-03"]
RESULT_LIMIT_SECONDS = 90
# What differs between two runs of the same thing: durations and request ids.
VARYING = re.compile(r"\b\d+\.\d+ s\b|pp-collector-[0-9a-f]{32}")


def queue_by_hand(app_dir: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "performanceplatform.collector.celery", *argv],
        cwd=app_dir, env=env, capture_output=True, text=True, timeout=RESULT_LIMIT_SECONDS, check=False,
    )


def json_log(log_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (log_dir / "collector.json.log").read_text().splitlines()]


def log_shape(lines: list[dict[str, Any]]) -> list[tuple[str, str, str, list[str], list[str]]]:
    """What each log line says, without what differs between two runs of the same thing (durations, pids)."""
    return [
        (VARYING.sub("...", line["@message"]), line["@fields"]["levelname"], line["@fields"]["name"],
         sorted(line["@fields"]), line["@tags"])
        for line in lines
    ]


def test_a_run_queued_by_hand_lands_and_logs_as_the_same_cli_run(
    configs: ConfigFiles, tmp_path: Path, backdrop: BackdropStandIn, pingdom: PingdomStandIn,
    celery_processes: CeleryProcesses,
) -> None:
    argv = [*pingdom_job(configs, pingdom, backdrop), *BACKFILL]
    cli_dir = tmp_path / "cli"
    cli_dir.mkdir()
    cli = run_cli_subprocess(argv, cwd=cli_dir)
    assert cli.exit_code == 0, cli.stderr
    by_cli = backdrop.records(DATA_GROUP, DATA_TYPE)
    backdrop.reset()
    backdrop.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN)

    celery_processes.worker("worker")
    queued = queue_by_hand(tmp_path, celery_processes.env, "--wait", *argv)

    assert queued.returncode == 0, queued.stderr
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == by_cli
    assert len(by_cli) == 2 * 24
    on_celery = json_log(tmp_path / "log")
    assert log_shape(on_celery) == log_shape(json_log(cli_dir / "log"))


def test_a_dry_run_queued_by_hand_prints_what_the_cli_prints(
    configs: ConfigFiles, tmp_path: Path, backdrop: BackdropStandIn, pingdom: PingdomStandIn,
    celery_processes: CeleryProcesses,
) -> None:
    argv = [*pingdom_job(configs, pingdom, backdrop), *BACKFILL, "--dry-run"]
    cli = run_cli_subprocess(argv, cwd=tmp_path)
    celery_processes.worker("worker")

    queued = queue_by_hand(tmp_path, celery_processes.env, "--wait", *argv)

    assert queued.returncode == 0, queued.stderr
    assert VARYING.sub("...", queued.stdout) == VARYING.sub("...", cli.stdout)
    assert "Authorization: Bearer [REDACTED]" in queued.stdout
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == []

