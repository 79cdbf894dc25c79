"""The daemon worker pool behind backfills and the Backdrop push: threads started as tasks come."""

from __future__ import annotations

import threading

from performanceplatform.collector.workers import DaemonPool


def pool_threads(name: str) -> list[str]:
    return sorted(thread.name for thread in threading.enumerate() if thread.name.startswith(f"{name}-"))


def test_a_thread_is_started_with_each_of_the_first_tasks_up_to_the_pools_size() -> None:
    pool = DaemonPool(3, "lazy-pool")
    assert pool_threads("lazy-pool") == []

    release = threading.Event()
    first = pool.submit(lambda _: release.wait(), None)
    assert pool_threads("lazy-pool") == ["lazy-pool-1"]

    more = [pool.submit(lambda _: release.wait(), None) for _ in range(4)]
    assert pool_threads("lazy-pool") == ["lazy-pool-1", "lazy-pool-2", "lazy-pool-3"]

    release.set()
    assert [future.result() for future in (first, *more)] == [True] * 5
    pool.stop()
    pool.join(timeout=60)
    assert pool_threads("lazy-pool") == []


def test_tasks_start_in_the_order_submitted_and_a_stop_cancels_those_not_started() -> None:
    pool = DaemonPool(1, "ordered-pool")
    started: list[int] = []
    running = threading.Event()
    release = threading.Event()

    def task(number: int) -> int:
        started.append(number)
        if number == 0:
            running.set()
            release.wait()
        return number

    futures = [pool.submit(task, number) for number in range(4)]
    running.wait()
    pool.stop()
    release.set()
    pool.join(timeout=60)

    assert futures[0].result() == 0
    assert all(future.cancelled() for future in futures[1:])
    assert started == [0]


def test_a_pool_stopped_before_any_task_has_no_thread_to_wait_for() -> None:
    pool = DaemonPool(4, "idle-pool")
    assert pool_threads("idle-pool") == []
    pool.stop()
    pool.join(timeout=60)
    assert pool_threads("idle-pool") == []
