"""Locks in Redis that hold across hosts: one run of a query at a time, one beat at a time.

A lock is a key set with `SET key owner NX PX ttl`: whoever set it holds it. While the holder lives
a thread renews the expiry every third of it, so a holder that dies (SIGKILL, a lost host) leaves a
lock that lapses within `ttl` rather than one that blocks for ever. Renewal and release compare the
owner first, in one Lua script, so that a holder whose lock lapsed and was taken by another can never
extend or delete the new holder's lock.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from performanceplatform.collector.locking import POLL_INTERVAL, lock_name

if TYPE_CHECKING:
    import redis

    from performanceplatform.collector.context import RunContext

log = logging.getLogger(__name__)

QUERY_LOCK_PREFIX = "pp-collector:lock:"

_RENEW_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_DELETE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


def new_owner(task_id: str | None = None) -> str:
    """A lock's owner: unique, and readable with `redis-cli get` (which host, process and task)."""
    owner = {"host": socket.gethostname(), "pid": os.getpid(), "task": task_id, "nonce": uuid.uuid4().hex}
    return json.dumps(owner, sort_keys=True)


def task_of(owner: str | None) -> str | None:
    """The Celery task id in an owner, if it names one."""
    try:
        value = json.loads(owner) if owner else None
    except ValueError:
        return None
    return value.get("task") if isinstance(value, dict) else None


class RedisLock:
    """One lock: `acquire` once, then `renew` while holding, `release` when done."""

    def __init__(self, client: redis.Redis, key: str, *, ttl_seconds: float, owner: str):
        self.client = client
        self.key = key
        self.ttl_ms = max(1, round(ttl_seconds * 1000))
        self.owner = owner
        self._renew = client.register_script(_RENEW_IF_OWNER)
        self._delete = client.register_script(_DELETE_IF_OWNER)

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, self.owner, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        """Push the expiry back to a whole `ttl`; False when the lock is no longer ours."""
        return bool(self._renew(keys=[self.key], args=[self.owner, self.ttl_ms]))

    def release(self) -> bool:
        """Delete the lock if it is still ours; False when it had lapsed (and maybe been taken)."""
        return bool(self._delete(keys=[self.key], args=[self.owner]))

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class Renewal:
    """A daemon thread renewing `lock` every third of its ttl until `stop()`; `lost` is set if a renewal
    finds the lock gone or taken (the holder hung longer than the ttl, or Redis lost the key)."""

    def __init__(self, lock: RedisLock):
        self.lock = lock
        self.lost = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"renew {lock.key}", daemon=True)

    def start(self) -> Renewal:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        interval = self.lock.ttl_ms / 3000
        while not self._stopped.wait(interval):
            try:
                renewed = self.lock.renew()
            except Exception as error:  # Redis unreachable: try again; the lock lapses if this lasts
                log.warning("could not renew the lock %s: %s", self.lock.key, error)
                continue
            if not renewed:
                log.error("lost the lock %s: it lapsed or was taken by another holder", self.lock.key)
                self.lost.set()
                return


@contextmanager
def holding(lock: RedisLock) -> Iterator[Renewal]:
    """With `lock` acquired: renew it for as long as the block runs, then release it."""
    renewal = Renewal(lock).start()
    try:
        yield renewal
    finally:
        renewal.stop()
        try:
            lock.release()
        except Exception as error:  # it lapses within the ttl on its own
            log.warning("could not release the lock %s (it expires by itself): %s", lock.key, error)


@dataclass(frozen=True)
class RedisLocks:
    """The query locks of runs on Celery (`locking.RunLocks`): one Redis key per data set and query,
    shared by every worker on every host.

    Like `FileLocks`, a run waits `wait_seconds` for an overlapping run to finish before it is skipped.
    A lock left by an earlier delivery of the same task (`task_id`) belongs to a run that died: Redis
    handed its message on because its worker was lost. That lock is waited for until it lapses (`ttl`),
    so the run goes ahead instead of being skipped as if the dead run were still collecting.
    """

    client: Any  # redis.Redis
    wait_seconds: float
    ttl_seconds: float
    task_id: str | None = None

    def key(self, context: RunContext, identity: str) -> str:
        return QUERY_LOCK_PREFIX + lock_name(context.data_set.data_group, context.data_set.data_type, identity)

    def hold(self, context: RunContext, identity: str) -> AbstractContextManager[bool]:
        return self.hold_key(self.key(context, identity))

    @contextmanager
    def hold_key(self, key: str) -> Iterator[bool]:
        """Yield True holding the lock `key` (renewed until the block ends), or False: another run has it."""
        lock = RedisLock(self.client, key, ttl_seconds=self.ttl_seconds, owner=new_owner(self.task_id))
        if not self._acquire(lock):
            yield False
            return
        with holding(lock):
            yield True

    def _acquire(self, lock: RedisLock) -> bool:
        deadline = time.monotonic() + self.wait_seconds
        waiting_for_a_dead_run = False
        while not lock.acquire():
            holder = lock.holder()
            if (not waiting_for_a_dead_run and self.task_id is not None and task_of(holder) == self.task_id):
                waiting_for_a_dead_run = True
                log.info("the lock %s is held by an earlier delivery of this task, whose worker was lost; "
                         "waiting up to %.0f s for it to lapse", lock.key, self.ttl_seconds)
                deadline = max(deadline, time.monotonic() + self.ttl_seconds + 1)
            if time.monotonic() >= deadline:
                log.info("the lock %s is held by %s", lock.key, holder)
                return False
            time.sleep(POLL_INTERVAL)
        return True
