"""Two `celery beat` processes started at once: one schedules, each job is sent once per slot, each
message expires when its next run is due, and the other beat takes over without repeating a send."""

from __future__ import annotations

import json
import re
import signal
from datetime import UTC, datetime, timedelta

import pytest

from performanceplatform.collector.celery.routing import PINGDOM_QUEUE
from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from tests.celery.jobs import pingdom_job
from tests.support.celery_processes import CeleryProcesses
from tests.support.cli import ConfigFiles
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.slow

JOBS = 3
# The next minute's jobs are sent within this of the minute starting (beat wakes every lock ttl / 3).
SLOT_LIMIT_SECONDS = 90
# Said once the message is in Redis (Celery's "Sending due task" comes just before it is).
SENT = r"beat: queued .* as [0-9a-f-]+, expiring in \d+ s"
BEAT_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+")


def test_two_beats_started_at_once_send_each_job_once_and_the_second_takes_over_without_resending(
    configs: ConfigFiles, backdrop: BackdropStandIn, pingdom: PingdomStandIn, celery_processes: CeleryProcesses,
    redis_server: RedisServer,
) -> None:
    jobs = []
    for number in range(JOBS):
        argv = pingdom_job(configs, pingdom, backdrop, name=f"queries/check-{number}.json")
        relative = [part.removeprefix(f"{configs.root}/") for part in argv[1::2]]
        jobs.append(",".join(["* * * * *", *relative]))
    configs.write("cronjobs", "\n".join(["# Every minute", *jobs]) + "\n")

    # TZ: the times beat logs are read below as UTC, as message expiry times are written.
    first, second = (celery_processes.beat(name, env={"TZ": "UTC"}) for name in ("beat-1", "beat-2"))
    holding_line = r"holding the beat lock .*: scheduling 3 jobs"
    standing_by_line = r"standing by: the beat lock .* is held by"
    said = first.wait_for_line(f"{holding_line}|{standing_by_line}")[0]
    holder, standby = (first, second) if re.search(holding_line, said) else (second, first)
    holder.wait_for_line(holding_line)
    standby.wait_for_line(standing_by_line)

    sent = holder.wait_for_line(SENT, count=JOBS, timeout=SLOT_LIMIT_SECONDS)

    with redis_server.client() as redis:
        messages = [json.loads(raw) for raw in redis.lrange(PINGDOM_QUEUE, 0, -1)]
    assert len(messages) == JOBS
    assert standby.matching(SENT) == []
    slot = datetime.fromisoformat(BEAT_TIME.match(sent[0])[1]).replace(second=0)  # type: ignore[index]
    for message in messages:
        expires = datetime.fromisoformat(message["headers"]["expires"]).astimezone(UTC).replace(tzinfo=None)
        assert abs(expires - (slot + timedelta(minutes=1))) < timedelta(seconds=5), (expires, slot)

    holder.signal(signal.SIGTERM)
    holder.wait_for_line(r"released the beat lock")
    takeover = standby.wait_for_line(r"holding the beat lock .*: scheduling 3 jobs, \d+ due now")[0]

    assert takeover.endswith("0 due now")
    with redis_server.client() as redis:
        assert redis.llen(PINGDOM_QUEUE) == JOBS
    assert holder.exit_code() == 0

