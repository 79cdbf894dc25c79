"""The bounded, ordered pool a backfill fetches its periods with (`backfill.in_order`), and the
concurrency setting (`concurrency`), without any HTTP: the fetch functions here are the tests' own."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from performanceplatform.collector.backfill import AHEAD_PER_WORKER, in_order
from performanceplatform.collector.concurrency import capped, parse_concurrency
from performanceplatform.collector.errors import ConfigurationError


class Recorder:
    """A fetch function that notes which items started, in which thread, and can hold some back."""

    def __init__(self, hold: set[int] | None = None, fail: dict[int, Exception] | None = None):
        self.started: list[int] = []
        self.threads: set[str] = set()
        self.hold = hold or set()
        self.release = threading.Event()
        self.fail = fail or {}
        self._lock = threading.Lock()

    def __call__(self, item: int) -> int:
        with self._lock:
            self.started.append(item)
            self.threads.add(threading.current_thread().name)
        if item in self.hold:
            assert self.release.wait(10), "never released"
        time.sleep(random.uniform(0, 0.003))  # finish in any order
        if item in self.fail:
            raise self.fail[item]
        return item * 10


def consume_in_background(results: Iterator[int]) -> tuple[threading.Thread, dict[str, Any]]:
    """Iterate `results` in another thread (nothing is fetched until someone iterates)."""
    outcome: dict[str, Any] = {"got": []}

    def consume() -> None:
        try:
            for result in results:
                outcome["got"].append(result)
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    return thread, outcome


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.005)


@pytest.mark.parametrize("concurrency", [1, 2, 4, 10])
def test_results_come_back_in_the_order_of_the_items(concurrency: int) -> None:
    fetch = Recorder()
    with in_order(list(range(50)), fetch, concurrency=concurrency) as results:
        assert list(results) == [item * 10 for item in range(50)]
    assert sorted(fetch.started) == list(range(50))


def test_a_concurrency_of_1_fetches_in_the_calling_thread_one_after_another() -> None:
    fetch = Recorder()
    with in_order([1, 2, 3], fetch, concurrency=1) as results:
        assert list(results) == [10, 20, 30]
    assert fetch.threads == {threading.current_thread().name}
    assert fetch.started == [1, 2, 3]


def test_workers_are_daemon_threads_that_end_with_the_run() -> None:
    fetch = Recorder(hold={0})
    with in_order(list(range(8)), fetch, concurrency=3, name="test-pool") as results:
        consumer, outcome = consume_in_background(results)
        wait_until(lambda: len(fetch.started) >= 3)
        workers = [thread for thread in threading.enumerate() if thread.name.startswith("test-pool-")]
        assert len(workers) == 3 and all(thread.daemon for thread in workers)
        fetch.release.set()
        consumer.join(10)
    assert outcome == {"got": [item * 10 for item in range(8)]}
    wait_until(lambda: not [t for t in threading.enumerate() if t.name.startswith("test-pool-")])


def test_no_more_than_two_periods_per_worker_are_fetched_ahead_of_the_one_awaited() -> None:
    # Item 0 is held: until it is consumed, nothing beyond the first 2 x 2 items may be started.
    fetch = Recorder(hold={0})
    ahead = 2 * AHEAD_PER_WORKER
    with in_order(list(range(40)), fetch, concurrency=2) as results:
        consumer, outcome = consume_in_background(results)
        wait_until(lambda: len(fetch.started) >= ahead)
        time.sleep(0.2)  # time for an unbounded pool to start more
        assert sorted(fetch.started) == list(range(ahead))
        fetch.release.set()
        consumer.join(10)
    assert outcome == {"got": [item * 10 for item in range(40)]}


def test_the_first_failing_item_in_order_fails_the_run_and_nothing_starts_after_a_failure() -> None:
    # Item 1 fails while item 0 is still held: items 2 and on are never started, item 0's result is
    # still handed back, then item 1's own error is raised.
    fetch = Recorder(hold={0}, fail={1: ValueError("item 1 failed")})
    with in_order(list(range(20)), fetch, concurrency=2) as results:
        consumer, outcome = consume_in_background(results)
        wait_until(lambda: 1 in fetch.started)
        time.sleep(0.1)  # item 1 has failed by now; a pool that kept going would start item 2
        fetch.release.set()
        consumer.join(10)
    assert outcome["got"] == [0]
    assert str(outcome["error"]) == "item 1 failed"
    assert sorted(fetch.started) == [0, 1]


def test_an_earlier_failure_wins_over_a_later_one_that_happened_first() -> None:
    later_failed = threading.Event()

    def fetch(item: int) -> int:
        if item == 5:
            later_failed.set()
            raise ValueError("item 5 failed")
        if item == 2:
            assert later_failed.wait(10)
            raise ValueError("item 2 failed")
        return item

    with in_order(list(range(20)), fetch, concurrency=4) as results, pytest.raises(ValueError) as raised:
        list(results)
    assert str(raised.value) == "item 2 failed"


def test_leaving_early_starts_nothing_more() -> None:
    fetch = Recorder()
    with pytest.raises(KeyboardInterrupt), in_order(list(range(100)), fetch, concurrency=2) as results:
        for result in results:
            if result == 0:
                raise KeyboardInterrupt  # as Ctrl-C would, in the main thread
    started = len(fetch.started)
    time.sleep(0.2)  # time for a pool that kept going to start more
    assert len(fetch.started) == started <= 1 + 2 * AHEAD_PER_WORKER


# The setting --------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0", "-1", "1.5", "+2", "1_0", "four", "", " "])
def test_a_concurrency_must_be_a_whole_number_of_at_least_1(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="expected a whole number of at least 1"):
        parse_concurrency(raw, source="--concurrency")


def test_an_apis_limit_caps_the_concurrency_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    assert capped(7, 10, "GA4") == 7
    assert caplog.text == ""
    assert capped(25, 10, "GA4") == 10
    assert "concurrency 25 lowered to 10, the most GA4 allows" in caplog.text
