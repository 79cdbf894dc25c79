"""Celery beat's scheduler for the jobs file: exactly one beat schedules, however many are started.

Celery's own schedulers send every task once per beat process, so two beats run every job twice.
This one schedules only while it holds the beat lock in Redis (`RedisLock`: set if absent, renewed
while beat lives, released when it stops); any other beat stands by, trying for the lock every few
seconds, and takes over within the lock's ttl when the holder stops or dies. That makes it safe to
run a beat on two hosts, for failover.

When each job was last sent is kept in Redis too, not in a file of the host's: a beat that takes
over carries on from there, sending what fell due in the gap once (late) and nothing twice. A run is
recorded after it is sent, so a beat that dies in between can at worst make the next send it again:
harmless, since the query lock keeps the two apart and records overwrite each other by `_id`.

Every message expires when the job's next run is due: a run queued during an outage (no worker)
is dropped rather than run late, after its successor was queued.
"""

from __future__ import annotations

import copy
import logging
import sys
from datetime import datetime
from typing import Any

import redis
from celery.beat import ScheduleEntry, Scheduler

from performanceplatform.collector.celery.redis_lock import RedisLock, Renewal, new_owner
from performanceplatform.collector.celery.schedule import read_schedule
from performanceplatform.collector.celery.settings import current_settings
from performanceplatform.collector.crontab import JobsFileError
from performanceplatform.collector.errors import EXIT_USAGE, ConfigurationError

log = logging.getLogger(__name__)

BEAT_LOCK = "pp-collector:beat:lock"
LAST_SENT = "pp-collector:beat:last-sent"


class JobsScheduler(Scheduler):
    """`celery beat --scheduler performanceplatform.collector.celery.beat:JobsScheduler` (the app's default)."""

    def __init__(self, *args: Any, **kwargs: Any):
        self.settings = current_settings()
        self.redis = redis.Redis.from_url(self.settings.redis_url)
        self.lock = RedisLock(self.redis, BEAT_LOCK, ttl_seconds=self.settings.lock_ttl, owner=new_owner())
        self.renewal: Renewal | None = None
        self.standing_by = False
        super().__init__(*args, **kwargs)
        # Standing by, try for the lock this often; holding, wake at least this often to see it is still ours.
        self.max_interval = min(self.max_interval, self.settings.lock_ttl / 3)

    def setup_schedule(self) -> None:
        try:
            jobs = read_schedule(self.settings.jobs_path, self.settings.app_path)
        except (JobsFileError, ConfigurationError) as error:
            print(f"pp-collector beat: error: {error}", file=sys.stderr)
            raise SystemExit(EXIT_USAGE) from None
        # Only the jobs: the Redis result backend expires results itself (no cleanup task).
        self.merge_inplace({job.name: job.beat_entry() for job in jobs})
        log.info("beat: %d jobs from %s", len(jobs), self.settings.jobs_path)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._holding():
            return self.max_interval
        return super().tick(*args, **kwargs)

    def _holding(self) -> bool:
        if self.renewal is not None and self.renewal.lost.is_set():
            log.error("beat: lost the beat lock; standing by")
            self.renewal.stop()
            self.renewal = None
        if self.renewal is not None:
            return True
        try:
            if not self.lock.acquire():
                if not self.standing_by:
                    log.info("beat: standing by: the beat lock %s is held by %s", BEAT_LOCK, self.lock.holder())
                    self.standing_by = True
                return False
            self._carry_on_from_last_sent()
        except redis.RedisError as error:
            # Redis is the broker too: nothing can be sent until it answers again.
            log.error("beat: cannot reach Redis (%s); trying again in %.0f s", error, self.max_interval)
            return False
        self.standing_by = False
        self.renewal = Renewal(self.lock).start()
        return True

    def _carry_on_from_last_sent(self) -> None:
        """Take over: each job's last send is the one recorded in Redis (now, for a job never sent)."""
        recorded = {name.decode(): value.decode() for name, value in self.redis.hgetall(LAST_SENT).items()}
        now = self.app.now()
        for name, entry in self.schedule.items():
            last = recorded.get(name)
            entry.last_run_at = datetime.fromisoformat(last) if last else now
        self._heap = None  # rebuilt from the times just set
        due = sum(1 for entry in self.schedule.values() if entry.is_due()[0])
        log.info("beat: holding the beat lock %s: scheduling %d jobs, %d due now", BEAT_LOCK, len(self.schedule), due)

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        super().apply_entry(entry, producer=producer)
        # `tick` reserved the entry before sending: the schedule holds its new last-run time.
        sent_at = self.schedule[entry.name].last_run_at
        try:
            self.redis.hset(LAST_SENT, entry.name, sent_at.isoformat())
        except redis.RedisError as error:  # a beat taking over may then send this run again: harmless
            log.error("beat: could not record that %s was sent: %s", entry.name, error)

    def apply_async(self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
        # Expires when the next run of the job is due (measured from now: the run being sent is due now).
        expiring = copy.copy(entry)
        expires = max(1.0, entry.schedule.remaining_estimate(self.app.now()).total_seconds())
        expiring.options = {**entry.options, "expires": expires}
        result = super().apply_async(expiring, producer, advance, **kwargs)
        log.info("beat: queued %s as %s, expiring in %.0f s", entry.name, getattr(result, "id", None), expires)
        return result

    def close(self) -> None:
        super().close()
        if self.renewal is not None:
            self.renewal.stop()
            self.renewal = None
            if self.lock.release():
                log.info("beat: released the beat lock %s", BEAT_LOCK)
            else:
                log.warning("beat: the beat lock %s had lapsed; another beat may hold it", BEAT_LOCK)
