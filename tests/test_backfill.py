"""The bounded, ordered pool a backfill fetches its periods with (`backfill.in_order`), and the
concurrency setting (`concurrency`), without any HTTP: the fetch functions here are the tests' own."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
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
        self.failed = threading.Event()
        # Results the consumer had taken when each item started (see `consumed`).
        self.consumed_when_started: dict[int, int] = {}
        self.consumed = 0
        self._changed = threading.Condition()

    def __call__(self, item: int) -> int:
        with self._changed:
            self.started.append(item)
            self.threads.add(threading.current_thread().name)
            self.consumed_when_started[item] = self.consumed
            self._changed.notify_all()
        if item in self.hold:
            assert self.release.wait(60), "never released"
        # Finish in any order: items are held back in random amounts of the scheduler's time.
        for _ in range(random.randrange(3)):
            time.sleep(0)
        if item in self.fail:
            self.failed.set()
            raise self.fail[item]
        return item * 10

    def wait_started(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.started) >= count, 60), "never started"

    def took(self) -> None:
        """The consumer took one more result."""
        with self._changed:
            self.consumed += 1


def consume_in_background(
    results: Iterator[int], fetch: Recorder | None = None
) -> tuple[threading.Thread, dict[str, Any]]:
    """Iterate `results` in another thread (nothing is fetched until someone iterates)."""
    outcome: dict[str, Any] = {"got": []}

    def consume() -> None:
        try:
            for result in results:
                outcome["got"].append(result)
                if fetch is not None:
                    fetch.took()
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    return thread, outcome


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
        fetch.wait_started(3)
        workers = [thread for thread in threading.enumerate() if thread.name.startswith("test-pool-")]
        assert len(workers) == 3 and all(thread.daemon for thread in workers)
        fetch.release.set()
        consumer.join(60)
    assert outcome == {"got": [item * 10 for item in range(8)]}
    # Leaving the block joined the workers: they have ended.
    assert not [thread for thread in workers if thread.is_alive()]


def test_no_more_than_two_periods_per_worker_are_fetched_ahead_of_the_one_awaited() -> None:
    # Item 0 is held: until it is consumed, nothing beyond the first 2 x 2 items may be started.
    fetch = Recorder(hold={0})
    ahead = 2 * AHEAD_PER_WORKER
    with in_order(list(range(40)), fetch, concurrency=2) as results:
        consumer, outcome = consume_in_background(results, fetch)
        fetch.wait_started(ahead)
        fetch.release.set()
        consumer.join(60)
    assert outcome == {"got": [item * 10 for item in range(40)]}
    # Item k started only once the consumer had taken all but the `ahead` items before it (the
    # result being handed over counts as taken: the next item is asked for just before).
    assert all(item < ahead + consumed + 1 for item, consumed in fetch.consumed_when_started.items())


def test_the_first_failing_item_in_order_fails_the_run_and_nothing_starts_after_a_failure() -> None:
    # Item 1 fails while item 0 is still held: items 2 and on are never started, item 0's result is
    # still handed back, then item 1's own error is raised.
    fetch = Recorder(hold={0}, fail={1: ValueError("item 1 failed")})
    with in_order(list(range(20)), fetch, concurrency=2) as results:
        consumer, outcome = consume_in_background(results)
        assert fetch.failed.wait(60)
        fetch.release.set()
        consumer.join(60)
    # Leaving the block joined the workers, so whatever a pool that kept going started is there.
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
    # Leaving the block joined the workers: what they started is all they will ever start.
    assert len(fetch.started) <= 1 + 2 * AHEAD_PER_WORKER


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
