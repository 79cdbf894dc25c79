"""Backfills: a bounded pool of worker threads fetches periods at once; results come back in order.

A year of daily data is 365 round trips; one after another they take 365 times the latency.
`in_order` fetches up to `concurrency` periods at a time and hands back each period's result in
period order, keeping at most `2 * concurrency` periods in flight or waiting, so memory does not
grow with the length of the backfill. The first failing period (in period order) fails the run
with its own error, and no period is started after any period has failed.

The pool's threads are daemons, and anything not yet started is cancelled when the caller stops
(an error, SIGTERM or Ctrl-C raised in the main thread): a request still in flight cannot keep
the process alive. With a concurrency of 1 everything runs in the calling thread, as it always did.

How many at once is the `concurrency` setting (`--concurrency`, `PP_COLLECTOR_CONCURRENCY`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

from performanceplatform.collector.errors import RunInterrupted

T = TypeVar("T")
R = TypeVar("R")

# How long a run that ended (done, or failed) waits for requests already in flight; a stopped run
# (SIGTERM, Ctrl-C) does not wait.
FINISH_IN_FLIGHT_SECONDS = 10.0
# Periods fetched or waiting to be consumed, per worker: enough to keep every worker busy while
# the caller builds and pushes one period, few enough that memory stays flat.
AHEAD_PER_WORKER = 2


@contextmanager
def in_order(
    items: Sequence[T], fetch: Callable[[T], R], *, concurrency: int, name: str = "fetch"
) -> Iterator[Iterator[R]]:
    """`fetch(item)` for every item, at most `concurrency` at a time; results in `items`' order.

    Use as `with in_order(...) as results: for result in results: ...`: leaving the block, however
    it is left, cancels whatever has not started.
    """
    if concurrency <= 1 or len(items) <= 1:
        yield (fetch(item) for item in items)
        return
    pool = _DaemonPool(min(concurrency, len(items)), name)
    interrupted = False
    try:
        yield _ordered_results(pool, items, fetch, ahead=concurrency * AHEAD_PER_WORKER)
    except RunInterrupted:
        interrupted = True
        raise
    finally:
        pool.stop()
        if not interrupted:
            # The caller closes its clients next: requests still in flight must end first, or they
            # fail on closed connections (and retry, and log) after the run has ended.
            pool.join(timeout=FINISH_IN_FLIGHT_SECONDS)


def _ordered_results(pool: _DaemonPool, items: Sequence[T], fetch: Callable[[T], R], *, ahead: int) -> Iterator[R]:
    pending: deque[Future[R]] = deque()
    upcoming = iter(items)

    def top_up() -> None:
        while len(pending) < ahead and not pool.has_failed:
            item = next(upcoming, _END)
            if item is _END:
                return
            pending.append(pool.submit(fetch, item))

    top_up()
    while pending:
        # Waiting here is interruptible: SIGTERM's handler raises in this (the main) thread.
        result = pending.popleft().result()
        top_up()
        yield result


_END: Any = object()


class _DaemonPool:
    """Worker threads that never keep the process alive, starting tasks in the order submitted."""

    def __init__(self, workers: int, name: str):
        self._tasks: queue.SimpleQueue[tuple[int, Future[Any], Callable[..., Any], Any] | None] = queue.SimpleQueue()
        self._workers = workers
        self._submitted = 0
        self._lock = threading.Lock()
        # The first task (in submission order) that failed: later ones are not started, earlier
        # ones still are, so the run fails with the first failing period's error whatever the timing.
        self._first_failure: int | None = None
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{number + 1}", daemon=True) for number in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def has_failed(self) -> bool:
        return self._first_failure is not None

    def submit(self, function: Callable[[T], R], argument: T) -> Future[R]:
        future: Future[R] = Future()
        self._tasks.put((self._submitted, future, function, argument))
        self._submitted += 1
        return future

    def stop(self) -> None:
        """Start nothing more; let the threads end once their current task returns."""
        self._stopped.set()
        for _ in range(self._workers):
            self._tasks.put(None)

    def join(self, timeout: float) -> None:
        """Wait, at most `timeout` seconds in all, for the threads to finish their current tasks."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
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
