"""The Redis locks on a real Redis server: set if absent, renewed and released by their owner only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from performanceplatform.collector.celery.redis_lock import RedisLock, RedisLocks, holding, new_owner, task_of
from tests.support.redis_server import RedisServer

KEY = "pp-collector:lock:test-group.test-type.0123456789ab"


@pytest.fixture
def redis(redis_url: str, redis_server: RedisServer) -> Iterator[Any]:
    with redis_server.client() as client:
        yield client


def test_a_lock_is_held_by_one_owner_and_only_its_owner_renews_or_releases_it(redis: Any) -> None:
    mine = RedisLock(redis, KEY, ttl_seconds=30, owner=new_owner("task-1"))
    theirs = RedisLock(redis, KEY, ttl_seconds=30, owner=new_owner("task-2"))

    assert mine.acquire()
    assert not theirs.acquire()
    assert (theirs.renew(), theirs.release()) == (False, False)
    assert task_of(theirs.holder()) == "task-1"
    redis.pexpire(KEY, 1000)
    assert mine.renew()
    assert redis.pttl(KEY) > 29_000
    assert mine.release()
    assert redis.get(KEY) is None
    assert theirs.acquire()


def test_a_lock_released_after_it_lapsed_and_was_taken_leaves_the_new_holder_alone(redis: Any) -> None:
    lapsed = RedisLock(redis, KEY, ttl_seconds=30, owner=new_owner())
    assert lapsed.acquire()
    redis.delete(KEY)  # as if its ttl ran out while its holder hung
    taker = RedisLock(redis, KEY, ttl_seconds=30, owner=new_owner())
    assert taker.acquire()

    with holding(lapsed):
        pass

    assert redis.get(KEY).decode() == taker.owner


def test_a_run_finding_the_lock_held_by_another_task_is_skipped(redis: Any) -> None:
    assert RedisLock(redis, KEY, ttl_seconds=30, owner=new_owner("another-task")).acquire()
    locks = RedisLocks(redis, wait_seconds=0, ttl_seconds=30, task_id="this-task")

    with locks.hold_key(KEY) as held:
        assert held is False
    assert task_of(redis.get(KEY).decode()) == "another-task"


def test_a_run_finding_the_lock_of_an_earlier_delivery_of_its_task_waits_for_it_to_lapse(redis: Any) -> None:
    # The earlier delivery's worker died: nothing renews its lock, which lapses within its ttl.
    dead = RedisLock(redis, KEY, ttl_seconds=0.3, owner=new_owner("this-task"))
    assert dead.acquire()
    locks = RedisLocks(redis, wait_seconds=0, ttl_seconds=0.3, task_id="this-task")

    with locks.hold_key(KEY) as held:
        assert held is True
        holder = redis.get(KEY).decode()
        assert task_of(holder) == "this-task" and holder != dead.owner
    assert redis.get(KEY) is None
