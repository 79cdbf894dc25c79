"""At-least-once delivery without doubled runs: query locks across workers, a worker killed mid-push,
what is retried and what is not, and messages that expired while no worker took them."""

from __future__ import annotations

import itertools
import json
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from performanceplatform.collector.celery.redis_lock import QUERY_LOCK_PREFIX
from performanceplatform.collector.celery.routing import REALTIME_QUEUE, RUN_TASK
from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.matomo import MatomoStandIn
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from tests.celery.jobs import arguments, pingdom_job
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.celery_processes import CeleryProcesses
from tests.support.cli import ConfigFiles, run_cli
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.slow

RESULT_LIMIT_SECONDS = 90
BACKFILL = ["-s", "2013-05-01", "-e", "2013-05-04"]


def json_log(log_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (log_dir / "collector.json.log").read_text().splitlines()]


def test_two_workers_given_the_same_job_at_once_run_it_once_and_skip_it_once(
    configs: ConfigFiles, tmp_path: Path, backdrop: BackdropStandIn, pingdom: PingdomStandIn,
    celery_processes: CeleryProcesses, celery_client: Any,
) -> None:
    argv = [*pingdom_job(configs, pingdom, backdrop), "--lock-wait", "0"]
    celery_processes.worker("one")
    celery_processes.worker("two")
    fetching = pingdom.hold_next(path="/summary.performance/")

    first = celery_client.send_task(RUN_TASK, args=(argv,))
    assert fetching.reached.wait(RESULT_LIMIT_SECONDS)  # the first run holds the lock, and is fetching
    second = celery_client.send_task(RUN_TASK, args=(argv,))
    skipped = second.get(timeout=RESULT_LIMIT_SECONDS)
    fetching.release()
    ran = first.get(timeout=RESULT_LIMIT_SECONDS)

    assert (ran["exit_code"], skipped["exit_code"]) == (0, 0)
    assert first.worker != second.worker
    assert len(backdrop.records(DATA_GROUP, DATA_TYPE)) == 24
    assert len(backdrop.requests_to(f"/data/{DATA_GROUP}/{DATA_TYPE}", "POST")) == 1
    messages = [line["@message"] for line in json_log(tmp_path / "log")]
    assert sum("is still running" in message for message in messages) == 1
    assert sum(message.startswith("Run finished") and "24 records" in message for message in messages) == 1


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["_id"]: record for record in records}


def test_a_worker_killed_mid_push_has_its_job_run_again_to_the_records_of_an_uninterrupted_run(
    configs: ConfigFiles, tmp_path: Path, backdrop: BackdropStandIn, pingdom: PingdomStandIn,
    celery_processes: CeleryProcesses, celery_client: Any, redis_server: RedisServer,
) -> None:
    # Three days of hourly records in chunks of 10: the third chunk is held, then its sender killed.
    argv = [*pingdom_job(configs, pingdom, backdrop, options={"chunk-size": 10}), *BACKFILL]
    worker = celery_processes.worker("worker")
    posts = itertools.count(1)
    third_chunk = backdrop.hold_next(when=lambda request: request.method == "POST" and next(posts) == 3)

    result = celery_client.send_task(RUN_TASK, args=(argv,))
    assert third_chunk.reached.wait(RESULT_LIMIT_SECONDS)
    with redis_server.client() as redis:
        [key] = redis.keys(QUERY_LOCK_PREFIX + "*")
        holder = json.loads(redis.get(key))
    assert holder["task"] == result.id
    os.kill(holder["pid"], signal.SIGKILL)  # the pool process running the task, mid-push
    worker.wait_for_line(r"WorkerLostError|Process .* exited")
    third_chunk.release()  # Backdrop stores what it had received whole: the rerun overwrites it
    outcome = result.get(timeout=RESULT_LIMIT_SECONDS)

    assert outcome["exit_code"] == 0
    after_kill = backdrop.records(DATA_GROUP, DATA_TYPE)
    ids = [record["_id"] for record in after_kill]
    assert len(ids) == len(set(ids)) == 3 * 24
    runs = [line for line in json_log(tmp_path / "log") if line["@message"].endswith("logging started")]
    assert len(runs) == 2 and runs[0]["@fields"]["process"] == holder["pid"]
    # The same run, uninterrupted, by the CLI into an empty data set.
    backdrop.reset()
    backdrop.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN)
    assert run_cli(argv).exit_code == 0
    # Compared by `_id`: chunks overlap on their way to Backdrop, so they land in any order.
    assert by_id(after_kill) == by_id(backdrop.records(DATA_GROUP, DATA_TYPE))


def test_a_configuration_mistake_fails_at_once_and_is_not_retried(
    configs: ConfigFiles, tmp_path: Path, backdrop: BackdropStandIn, pingdom: PingdomStandIn,
    celery_processes: CeleryProcesses, celery_client: Any,
) -> None:
    argv = pingdom_job(configs, pingdom, backdrop)
    configs.write("queries/pingdom.json", {"entrypoint": "performanceplatform.collector.pingdom", "query": {}})
    celery_processes.worker("worker")

    result = celery_client.send_task(RUN_TASK, args=(argv,))
    failure = result.get(timeout=RESULT_LIMIT_SECONDS, propagate=False)

    assert result.state == "FAILURE"
    assert failure.exit_code == 2
    assert "key 'data-set': missing" in failure.message
    assert result.retries == 0
    assert pingdom.requests == []


def test_a_failed_collection_is_retried_a_bounded_number_of_times(
    configs: ConfigFiles, tmp_path: Path, backdrop: BackdropStandIn, pingdom: PingdomStandIn,
    celery_processes: CeleryProcesses, celery_client: Any,
) -> None:
    argv = pingdom_job(configs, pingdom, backdrop)
    pingdom.fail_next(401, times=100)
    celery_processes.worker("worker", env={"PP_COLLECTOR_TASK_ATTEMPTS": "3"})

    result = celery_client.send_task(RUN_TASK, args=(argv,))
    failure = result.get(timeout=RESULT_LIMIT_SECONDS, propagate=False)

    assert result.state == "FAILURE"
    assert failure.exit_code == 1
    assert result.retries == 2  # three runs in all
    runs = [line for line in json_log(tmp_path / "log") if line["@message"].endswith("logging started")]
    assert len(runs) == 3


def matomo_realtime_job(configs: ConfigFiles, matomo: MatomoStandIn, backdrop: BackdropStandIn) -> list[str]:
    query = configs.query("performanceplatform.collector.piwik.realtime",
                          {"site_id": "9", "api_method": "Live.getCounters", "minutes": "1"},
                          data_group=DATA_GROUP, data_type=DATA_TYPE, name="queries/realtime.json")
    return arguments(configs, query, backdrop, credentials=matomo.credentials(), name="matomo")


def test_a_failed_realtime_run_is_not_retried(
    configs: ConfigFiles, tmp_path: Path, backdrop: BackdropStandIn, matomo: MatomoStandIn,
    celery_processes: CeleryProcesses, celery_client: Any,
) -> None:
    argv = matomo_realtime_job(configs, matomo, backdrop)
    backdrop.fail_next(401, times=100)
    celery_processes.worker("worker")

    result = celery_client.send_task(RUN_TASK, args=(argv,))
    failure = result.get(timeout=RESULT_LIMIT_SECONDS, propagate=False)

    assert result.queue == REALTIME_QUEUE
    assert (result.state, failure.exit_code, result.retries) == ("FAILURE", 1, 0)


def test_a_realtime_message_that_expired_before_a_worker_took_it_is_not_run(
    configs: ConfigFiles, tmp_path: Path, backdrop: BackdropStandIn, matomo: MatomoStandIn,
    celery_processes: CeleryProcesses, celery_client: Any,
) -> None:
    argv = matomo_realtime_job(configs, matomo, backdrop)
    # Queued during an outage (no worker), due two minutes ago: its successor has been queued since.
    stale = celery_client.send_task(RUN_TASK, args=(argv,), expires=datetime.now(UTC) - timedelta(seconds=1))
    fresh = celery_client.send_task(RUN_TASK, args=(argv,), expires=120)
    celery_processes.worker("worker")

    assert fresh.get(timeout=RESULT_LIMIT_SECONDS)["exit_code"] == 0
    stale.get(timeout=RESULT_LIMIT_SECONDS, propagate=False)

    assert stale.state == "REVOKED"
    assert len(matomo.requests) == 1
    assert len(backdrop.records(DATA_GROUP, DATA_TYPE)) == 1


def test_a_worker_told_to_stop_lets_its_run_finish_and_a_run_stopped_by_sigterm_is_handed_back(
    configs: ConfigFiles, tmp_path: Path, backdrop: BackdropStandIn, pingdom: PingdomStandIn,
    celery_processes: CeleryProcesses, celery_client: Any, redis_server: RedisServer,
) -> None:
    argv = pingdom_job(configs, pingdom, backdrop)
    worker = celery_processes.worker("worker")
    # A pool process stopped by SIGTERM (systemd stopping every process of the service, say): its
    # run releases the lock on the way out and goes back to the queue, and runs again whole.
    first_push = backdrop.hold_next(when=lambda request: request.method == "POST")
    result = celery_client.send_task(RUN_TASK, args=(argv,))
    assert first_push.reached.wait(RESULT_LIMIT_SECONDS)
    with redis_server.client() as redis:
        [key] = redis.keys(QUERY_LOCK_PREFIX + "*")
        os.kill(json.loads(redis.get(key))["pid"], signal.SIGTERM)
    worker.wait_for_line(r"stopped by a signal \(exit 143\); handing it back to the queue")
    first_push.release()
    assert result.get(timeout=RESULT_LIMIT_SECONDS)["exit_code"] == 0
    messages = [line["@message"] for line in json_log(tmp_path / "log")]
    assert sum(message.endswith("logging started") for message in messages) == 2
    assert not any("earlier delivery" in message for message in messages)  # its lock was released

    # The worker itself told to stop (warm shutdown) mid-run: the run finishes first.
    second_push = backdrop.hold_next(when=lambda request: request.method == "POST")
    again = celery_client.send_task(RUN_TASK, args=(argv,))
    assert second_push.reached.wait(RESULT_LIMIT_SECONDS)
    worker.signal(signal.SIGTERM)
    worker.wait_for_line(r"worker: Warm shutdown")
    second_push.release()
    assert again.get(timeout=RESULT_LIMIT_SECONDS)["exit_code"] == 0
    assert worker.exit_code() == 0
    with redis_server.client() as redis:
        assert redis.keys(QUERY_LOCK_PREFIX + "*") == []
