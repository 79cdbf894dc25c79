"""Overlapping runs and signals: cron starts the same query again before the last run ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.cli import REPO_ROOT, ConfigFiles

BACKDROP = "http://127.0.0.1:9/data"


def sleeper_command(configs: ConfigFiles, name: str, sleep: float, *extra: str) -> tuple[list[str], dict]:
    markers = {
        "started": str(configs.root / f"{name}.started"),
        "finished": str(configs.root / f"{name}.finished"),
    }
    query = configs.query("tests.collectors.sleeper", {"sleep": sleep, **markers}, name="query.json")
    argv = [sys.executable, "-m", "performanceplatform.collector",
            *configs.args(query=query, backdrop=configs.backdrop(BACKDROP)), *extra]
    return argv, markers


def start(argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(process: subprocess.Popen) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


def wait_until_started(process: subprocess.Popen) -> None:
    """Block until the sleeper collector says it has started (its first line on stdout)."""
    assert process.stdout is not None
    assert process.stdout.readline() == "started\n", finish(process)


def test_a_second_run_of_the_same_query_waits_then_leaves_the_first_be(configs):
    first_argv, _first = sleeper_command(configs, "first", 5)
    first_run = start(first_argv)
    wait_until_started(first_run)
    second_argv, second = sleeper_command(configs, "second", 0, "--lock-wait", "0.3")
    second_run = start(second_argv)
    assert finish(second_run) == (0, "")
    assert not Path(second["started"]).exists(), "the second run collected while the first held the lock"
    log_text = (configs.log_dir / "collector.log").read_text()
    assert "is still running" in log_text
    assert first_run.poll() is None
    first_run.terminate()
    finish(first_run)


def test_a_crashed_run_leaves_no_lock_that_blocks_the_next(configs):
    first_argv, _first = sleeper_command(configs, "first", 30)
    first_run = start(first_argv)
    wait_until_started(first_run)
    first_run.kill()  # SIGKILL: no clean-up code runs at all
    finish(first_run)
    second_argv, second = sleeper_command(configs, "second", 0, "--lock-wait", "0")
    assert finish(start(second_argv)) == (0, "")
    assert Path(second["finished"]).exists()


def test_sigterm_stops_the_run_with_one_line_and_exit_143(configs):
    argv, markers = sleeper_command(configs, "run", 30)
    run = start(argv)
    wait_until_started(run)
    run.send_signal(signal.SIGTERM)
    returncode, stderr = finish(run)
    assert returncode == 128 + signal.SIGTERM
    assert stderr.strip() == "pp-collector: error: stopped by SIGTERM"
    assert not Path(markers["finished"]).exists()


def test_ctrl_c_stops_the_run_with_exit_130(configs):
    argv, _markers = sleeper_command(configs, "run", 30)
    run = start(argv)
    wait_until_started(run)
    run.send_signal(signal.SIGINT)
    returncode, stderr = finish(run)
    assert returncode == 130
    assert "stopped by SIGINT (Ctrl-C)" in stderr
