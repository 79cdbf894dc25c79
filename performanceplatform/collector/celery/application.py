"""The Celery app: Redis as broker and result store, the run task, its queues, and the settings that
make delivery at-least-once without running anything twice at the same time.

- `task_acks_late` and `task_reject_on_worker_lost`: a message is acknowledged when its run ends, so
  a worker process that dies mid-run has its run given to another worker.
- `worker_prefetch_multiplier = 1`: a busy worker process holds no message that another could run.
- `visibility_timeout` (PP_COLLECTOR_VISIBILITY_TIMEOUT, 6 h): how long Redis waits for an
  acknowledgement before handing a message to another worker (how a run on a host that vanished
  is run again). It must be longer than the longest run, or a long backfill is run twice (one after
  the other: the query lock keeps them apart).
- Runs use the prefork pool, one run per process at a time: a run sets up logging and signal
  handling for its process, as a cron run does (threads, gevent and eventlet pools are refused).
- `worker_redirect_stdouts = False`: what a run prints goes to the worker's stdout and stderr, as
  a cron run's goes to out.log and error.log, rather than into the worker's log as warnings.
"""

from __future__ import annotations

import sys
from typing import Any

from celery import Celery, Task, signals
from kombu import Queue

from performanceplatform.collector.celery import tasks
from performanceplatform.collector.celery.routing import OTHER_QUEUE, QUEUES, RUN_TASK, route_run
from performanceplatform.collector.celery.settings import CelerySettings, current_settings
from performanceplatform.collector.errors import EXIT_USAGE, ConfigurationError

SUPPORTED_POOLS = ("prefork", "solo")


def create_app(settings: CelerySettings) -> Celery:
    app = Celery("pp-collector", broker=settings.redis_url, backend=settings.redis_url, set_as_current=False)
    app.conf.update(
        timezone=settings.timezone,
        enable_utc=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_queues=[Queue(name, routing_key=name) for name in QUEUES],
        task_default_queue=OTHER_QUEUE,
        task_routes=(route_run,),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A run's process is used for many runs; a fresh one now and then bounds what any leak costs.
        worker_max_tasks_per_child=100,
        worker_redirect_stdouts=False,
        # A run whose broker connection dropped goes on to its end (its message is delivered again
        # later, and that run overwrites the same records) rather than being cut short.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        result_expires=24 * 3600,
        result_extended=True,
        beat_scheduler="performanceplatform.collector.celery.beat:JobsScheduler",
    )

    @app.task(name=RUN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
    def run(self: Task, argv: list[str]) -> dict[str, Any]:
        return tasks.run(self, argv)

    return app


def _settings_or_exit() -> CelerySettings:
    try:
        return current_settings()
    except ConfigurationError as error:
        print(f"pp-collector celery: error: {error}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


app = create_app(_settings_or_exit())


@signals.worker_init.connect
def _refuse_pools_without_processes(sender: Any = None, **_: Any) -> None:
    pool = getattr(getattr(sender, "pool_cls", None), "__module__", "")
    if pool and not pool.endswith(SUPPORTED_POOLS):
        print(f"pp-collector celery: error: the {pool.rsplit('.', 1)[-1]} pool runs several runs in one process; "
              f"expected --pool prefork (the default) or solo", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
