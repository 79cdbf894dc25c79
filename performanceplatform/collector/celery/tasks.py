"""The one task: a `pp-collector` run, exactly as the CLI makes it, and what its exit code means here.

The task parses its command line with the CLI's parser and calls `main.run_command`, so a run on
Celery loads, checks, collects, pushes and logs (to `log/collector.log` and `collector.json.log` of
the worker's directory) as a cron run does, with Redis locks in place of lock files. Then:

- 0 (done, skipped, or disabled): success;
- 2, a configuration mistake: failed, never retried (the next attempt would fail the same way);
- 1, a failed collection: retried after a backoff, a bounded number of times, except realtime
  runs (the next one is two minutes away) and dry runs;
- 130/143, the run was stopped by a signal (the worker's processes were told to stop): handed back
  to the queue, so another worker runs it.

A worker process that dies mid-run (SIGKILL, out of memory) never gets to say anything: the message
was not acknowledged, so Redis gives it to another worker (`acks_late`, `reject_on_worker_lost`),
whose run waits for the dead run's lock to lapse and then runs the job whole.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Sequence
from functools import cache
from typing import Any

import redis
from celery import Task
from celery.exceptions import Reject

from performanceplatform.collector.arguments import build_parser
from performanceplatform.collector.celery.redis_lock import RedisLocks
from performanceplatform.collector.celery.routing import REALTIME_QUEUE
from performanceplatform.collector.celery.settings import CelerySettings, current_settings
from performanceplatform.collector.errors import EXIT_COLLECTION_FAILED, EXIT_OK, EXIT_USAGE
from performanceplatform.collector.main import run_command
from performanceplatform.collector.retry import RetryPolicy

log = logging.getLogger(__name__)


class RunFailed(Exception):
    """A run that exited 1 or 2: the task's failure, carrying the exit code and the run's error line."""

    def __init__(self, exit_code: int, message: str):
        super().__init__(exit_code, message)
        self.exit_code = exit_code
        self.message = message

    def __str__(self) -> str:
        return f"exit {self.exit_code}: {self.message}"


def retry_policy(settings: CelerySettings) -> RetryPolicy:
    """The project's retry policy, with a task's numbers: attempts are whole runs."""
    return RetryPolicy(max_attempts=settings.task_attempts, base_delay=settings.task_retry_delay,
                       max_delay=max(settings.task_retry_delay, 600.0))


@cache
def redis_client(url: str) -> Any:
    # One per worker process (redis-py opens new connections in a forked child by itself).
    return redis.Redis.from_url(url)


def parse_run_arguments(argv: Sequence[str]) -> Any:
    """The CLI's parse of `argv`; RunFailed (exit 2) with argparse's message for a bad command line."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            return build_parser().parse_args(list(argv))
    except SystemExit as exit_:
        message = stderr.getvalue().strip().splitlines()[-1:] or [f"exit {exit_.code}"]
        raise RunFailed(EXIT_USAGE, message[0]) from None


def run(task: Task, argv: list[str]) -> dict[str, Any]:
    """The body of the task `pp_collector.run` (registered with `bind=True` by the app)."""
    settings = current_settings()
    args = parse_run_arguments(argv)
    locks = RedisLocks(redis_client(settings.redis_url), wait_seconds=args.lock_wait,
                       ttl_seconds=settings.lock_ttl, task_id=task.request.id)
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            exit_code = run_command(args, locks=locks)
    finally:
        # What a cron run prints goes where the worker's own output goes, as well as into the result.
        sys.stdout.write(stdout.getvalue())
        sys.stderr.write(stderr.getvalue())
    if exit_code == EXIT_OK:
        return {"exit_code": exit_code, "stdout": stdout.getvalue()}
    error_line = stderr.getvalue().strip().splitlines()[-1:] or [f"exit {exit_code}"]
    failure = RunFailed(exit_code, error_line[0])
    if exit_code > 128:
        log.warning("run %s stopped by a signal (exit %d); handing it back to the queue", task.request.id, exit_code)
        raise Reject(failure, requeue=True)
    if exit_code == EXIT_COLLECTION_FAILED and retried(task, args):
        policy = retry_policy(settings)
        raise task.retry(exc=failure, countdown=policy.backoff(task.request.retries + 1),
                         max_retries=policy.max_attempts - 1)
    raise failure


def retried(task: Task, args: Any) -> bool:
    """Whether a failed collection is worth another run: not a realtime count, not a dry run."""
    queue = (task.request.delivery_info or {}).get("routing_key")
    return queue != REALTIME_QUEUE and not args.dry_run
