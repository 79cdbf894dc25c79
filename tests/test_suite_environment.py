"""The suite passes however it is started: from a terminal, under CI, or as a background job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.support.cli import REPO_ROOT


@pytest.mark.slow
def test_the_ctrl_c_tests_pass_when_the_suite_is_started_with_sigint_ignored() -> None:
    # As `make test &` or nohup start it: SIGINT ignored, and inherited by every process.
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_locking.py::test_ctrl_c_stops_the_run_with_exit_130"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert "1 passed" in completed.stdout
