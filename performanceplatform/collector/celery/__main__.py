"""Queue one run by hand: a backfill, a dry run, a job out of schedule.

    python -m performanceplatform.collector.celery [--wait] -q QUERY.json -c C.json -t T.json -b B.json [-s S -e E]

Takes exactly `pp-collector`'s arguments (checked by its parser before anything is queued: a usage
mistake is one line and exit 2) and queues them for a worker, on the queue of the query's source.
The paths are read by the worker, in its working directory (the app's, as cron's lines `cd` to):
give absolute paths, or run this from that directory. It prints the task's id; with `--wait` it
waits for the run (and any retries) to end, prints what the run printed (a dry run's requests) and
exits with the run's exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from performanceplatform.collector.arguments import build_parser
from performanceplatform.collector.errors import EXIT_COLLECTION_FAILED, EXIT_OK


def build_queue_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m performanceplatform.collector.celery",
        description="Queue one pp-collector run for the Celery workers. Every other argument is pp-collector's.",
    )
    parser.add_argument("--wait", action="store_true",
                        help="wait for the run to end; print its output and exit with its exit code")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="with --wait: give up waiting after SECONDS (the run goes on); exit 1")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    own, run_argv = build_queue_parser().parse_known_args(argv)
    build_parser().parse_args(run_argv)  # a usage mistake stops here: argparse's line, exit 2

    from celery.exceptions import TimeoutError as WaitTimedOut

    from performanceplatform.collector.celery import app
    from performanceplatform.collector.celery.routing import RUN_TASK, queue_for

    queue = queue_for(run_argv)
    result = app.send_task(RUN_TASK, args=(list(run_argv),), queue=queue)
    print(f"queued {result.id} on {queue}", file=sys.stderr)
    if not own.wait:
        print(result.id)
        return EXIT_OK
    try:
        outcome = result.get(timeout=own.timeout, propagate=False, disable_sync_subtasks=False)
    except WaitTimedOut:
        print(f"pp-collector celery: error: {result.id} had not ended after {own.timeout:g} s", file=sys.stderr)
        return EXIT_COLLECTION_FAILED
    if result.successful():
        sys.stdout.write(outcome.get("stdout", ""))
        return int(outcome.get("exit_code", EXIT_OK))
    exit_code = getattr(outcome, "exit_code", EXIT_COLLECTION_FAILED)
    print(f"pp-collector celery: error: {getattr(outcome, 'message', outcome)}", file=sys.stderr)
    return int(exit_code)


if __name__ == "__main__":
    raise SystemExit(main())
