"""Worker threads that never keep the process alive: a backfill's fetchers, the Backdrop courier.

A cron run that is told to stop (SIGTERM, Ctrl-C) must stop, even with a request in flight on a
worker thread: the threads are daemons, and whatever has not started is cancelled when the owner
stops the pool. An owner that ends normally waits for the work in flight (`join`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# How long an owner that ended (done, or failed) waits for work already in flight; a stopped run
# (SIGTERM, Ctrl-C) does not wait.
FINISH_IN_FLIGHT_SECONDS = 10.0


class DaemonPool:
    """Worker threads that never keep the process alive, starting tasks in the order submitted.

    A thread is started with each of the first `workers` tasks, not before: a realtime or Pingdom
    run pushes one chunk or a few, and starting eight threads would cost it more than the push.
    """

    def __init__(self, workers: int, name: str):
        self._tasks: queue.SimpleQueue[tuple[int, Future[Any], Callable[..., Any], Any] | None] = queue.SimpleQueue()
        self._workers = workers
        self._name = name
        self._submitted = 0
        self._lock = threading.Lock()
        # The first task (in submission order) that failed: later ones are not started, earlier
        # ones still are, so the run fails with the first failing period's error whatever the timing.
        self._first_failure: int | None = None
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def has_failed(self) -> bool:
        return self._first_failure is not None

    def submit(self, function: Callable[[T], R], argument: T) -> Future[R]:
        future: Future[R] = Future()
        with self._lock:
            self._tasks.put((self._submitted, future, function, argument))
            self._submitted += 1
            if len(self._threads) < self._workers and not self._stopped.is_set():
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads) + 1}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    def stop(self) -> None:
        """Start nothing more; let the threads end once their current task returns."""
        with self._lock:
            self._stopped.set()
            for _ in self._threads:
                self._tasks.put(None)

    def join(self, timeout: float) -> None:
        """Wait, at most `timeout` seconds in all, for the threads to finish their current tasks."""
        with self._lock:
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            number, future, function, argument = task
            with self._lock:
                cancelled = self._stopped.is_set() or (
                    self._first_failure is not None and number > self._first_failure
                )
            if cancelled:
                future.cancel()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = function(argument)
            except BaseException as error:
                with self._lock:
                    if self._first_failure is None or number < self._first_failure:
                        self._first_failure = number
                future.set_exception(error)
            else:
                future.set_result(result)
