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

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

from performanceplatform.collector import progress
from performanceplatform.collector.errors import RunInterrupted
from performanceplatform.collector.workers import FINISH_IN_FLIGHT_SECONDS, DaemonPool

T = TypeVar("T")
R = TypeVar("R")

# Periods fetched or waiting to be consumed, per worker: enough to keep every worker busy while
# the caller builds and pushes one period, few enough that memory stays flat.
AHEAD_PER_WORKER = 2


@contextmanager
def in_order(
    items: Sequence[T], fetch: Callable[[T], R], *, concurrency: int, name: str = "fetch", unit: str | None = None
) -> Iterator[Iterator[R]]:
    """`fetch(item)` for every item, at most `concurrency` at a time; results in `items`' order.

    Use as `with in_order(...) as results: for result in results: ...`: leaving the block, however
    it is left, cancels whatever has not started. With a `unit` ("periods", "windows"), the run's
    progress hears how many items there are and of each that comes back.
    """
    if unit is not None:
        progress.note(progress.PERIODS, total=len(items), unit=unit)
        fetch = _counted(fetch)
    if concurrency <= 1 or len(items) <= 1:
        yield (fetch(item) for item in items)
        return
    pool = DaemonPool(min(concurrency, len(items)), name)
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


def _ordered_results(pool: DaemonPool, items: Sequence[T], fetch: Callable[[T], R], *, ahead: int) -> Iterator[R]:
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


def _counted(fetch: Callable[[T], R]) -> Callable[[T], R]:
    def fetch_and_count(item: T) -> R:
        result = fetch(item)
        progress.note(progress.PERIOD)
        return result

    return fetch_and_count


_END: Any = object()
