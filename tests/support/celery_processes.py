"""Real `celery worker` and `celery beat` processes for the Celery tests, and a client app.

`celery_processes` starts them in the app directory (`tmp_path`, whose `config/` the `configs`
fixture writes) with the test's Redis, reads everything each prints, line by line, in a thread, and
lets a test wait for a line (`wait_for_line`): that a worker is ready, that beat sent a task, that a
beat holds the lock. Every process still running at the end of the test is stopped (SIGTERM, then
SIGKILL if it hangs). `celery_client` is the app the test sends tasks and reads results with.
"""

from __future__ import annotations

import gc
import os
import re
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import REPO_ROOT
from tests.support.redis_server import RedisServer

APP = "performanceplatform.collector.celery"
# Guards against a hang, never waited out by a passing test.
LINE_LIMIT_SECONDS = 90
STOP_LIMIT_SECONDS = 30


class CeleryProcess:
    def __init__(self, name: str, argv: list[str], *, cwd: Path, env: dict[str, str]):
        self.name = name
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read, name=f"read {name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def matching(self, pattern: str) -> list[str]:
        with self._seen:
            return [line for line in self.lines if re.search(pattern, line)]

    def wait_for_line(self, pattern: str, count: int = 1, timeout: float = LINE_LIMIT_SECONDS) -> list[str]:
        """The first `count` lines matching `pattern`, once printed (fails if the process ends first)."""
        with self._seen:
            found = self._seen.wait_for(
                lambda: len(self.matching(pattern)) >= count or not self._reader.is_alive(), timeout
            )
            matches = self.matching(pattern)
        assert found and len(matches) >= count, (
            f"{self.name}: {count} line(s) matching {pattern!r} never came (exit code {self.process.poll()}); "
            "it printed:\n" + self.output()
        )
        return matches[:count]

    def output(self) -> str:
        with self._seen:
            return "\n".join(self.lines)

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def kill_all(self) -> None:
        """SIGKILL the process and its children at once, as a host that vanished."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(STOP_LIMIT_SECONDS)

    def exit_code(self, timeout: float = STOP_LIMIT_SECONDS) -> int:
        """Once it has ended by itself (after a signal sent with `signal`, say)."""
        return self.process.wait(timeout)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_LIMIT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(STOP_LIMIT_SECONDS)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


class CeleryProcesses:
    def __init__(self, app_dir: Path, redis_url: str):
        self.app_dir = app_dir
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "PP_COLLECTOR_REDIS_URL": redis_url,
            "PP_COLLECTOR_APP_PATH": str(app_dir),
            # A dead holder's lock lapses within seconds (renewed every 5/3 s while alive).
            "PP_COLLECTOR_LOCK_TTL": "5",
            "PP_COLLECTOR_TASK_RETRY_DELAY": "0.2",
        }
        self.started: list[CeleryProcess] = []

    def start(self, name: str, *celery_argv: str, env: dict[str, str] | None = None) -> CeleryProcess:
        argv = [sys.executable, "-m", "celery", "-A", APP, *celery_argv]
        process = CeleryProcess(name, argv, cwd=self.app_dir, env={**self.env, **(env or {})})
        self.started.append(process)
        return process

    def worker(self, name: str, *extra: str, env: dict[str, str] | None = None) -> CeleryProcess:
        """A worker with one pool process, ready to take tasks from every queue."""
        worker = self.start(
            name, "worker", "--loglevel", "INFO", "--concurrency", "1", "--hostname", f"{name}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", *extra, env=env,
        )
        worker.wait_for_line(r" ready\.$")
        return worker

    def beat(self, name: str, env: dict[str, str] | None = None) -> CeleryProcess:
        return self.start(name, "beat", "--loglevel", "INFO", env=env)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()


@pytest.fixture
def celery_processes(tmp_path: Path, redis_url: str) -> Iterator[CeleryProcesses]:
    processes = CeleryProcesses(tmp_path, redis_url)
    try:
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture
def celery_client(redis_url: str, redis_server: RedisServer) -> Iterator[Any]:
    from performanceplatform.collector.celery.application import create_app
    from performanceplatform.collector.celery.settings import CelerySettings

    app = create_app(CelerySettings(redis_url=redis_url))
    try:
        yield app
    finally:
        # A result left for the garbage collector unsubscribes from Redis when collected: collect
        # them now, while the session's Redis server is still there to answer. Celery's result
        # backend drops connections it replaced without closing them: not this project's to fix.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
            app.close()
            gc.collect()
