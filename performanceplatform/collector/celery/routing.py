"""Which queue a job's runs go to: one per source, so that each source's limits can be kept.

Workers take a queue's runs as fast as their concurrency allows, so the runs of a source at once
across the whole deployment are at most the concurrency of the workers that consume its queue
(`celery worker -Q collector.ga -c 2`): that is how GA4's limit of 10 concurrent requests per
property and Matomo Cloud's requests a minute hold however many workers there are. Realtime runs
have a queue of their own, so that a count due every two minutes never waits behind a backfill;
they are never retried (the next run is two minutes away).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from performanceplatform.collector.config import load_json_file, parse_query_config
from performanceplatform.collector.errors import ConfigurationError

RUN_TASK = "pp_collector.run"
PREFIX = "performanceplatform.collector."

GA_QUEUE = "collector.ga"
REALTIME_QUEUE = "collector.realtime"
PINGDOM_QUEUE = "collector.pingdom"
MATOMO_QUEUE = "collector.matomo"
# Stagecraft slugs (whose entrypoint is only known once fetched), contributed collectors, and
# query files that do not load (the run reports why).
OTHER_QUEUE = "collector.other"
QUEUES = (GA_QUEUE, REALTIME_QUEUE, PINGDOM_QUEUE, MATOMO_QUEUE, OTHER_QUEUE)

QUEUE_OF_ENTRYPOINT = {
    PREFIX + "ga": GA_QUEUE,
    PREFIX + "ga.trending": GA_QUEUE,
    PREFIX + "ga.contrib.content.table": GA_QUEUE,
    PREFIX + "ga.realtime": REALTIME_QUEUE,
    PREFIX + "piwik.realtime": REALTIME_QUEUE,
    PREFIX + "pingdom": PINGDOM_QUEUE,
    PREFIX + "piwik.core": MATOMO_QUEUE,
}


def query_path_of(argv: Sequence[str]) -> str | None:
    """The query file a `pp-collector` command line names (`-q`/`--query`), if any."""
    for index, argument in enumerate(argv):
        if argument in ("-q", "--query") and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith("--query="):
            return argument.removeprefix("--query=")
    return None


def queue_for(argv: Sequence[str]) -> str:
    """The queue of a run of `argv`, from its query file's entrypoint."""
    path = query_path_of(argv)
    if path is None:
        return OTHER_QUEUE
    try:
        entrypoint = parse_query_config(load_json_file(path, "query file"), f"query file {path}").entrypoint
    except ConfigurationError:
        return OTHER_QUEUE
    return QUEUE_OF_ENTRYPOINT.get(entrypoint, OTHER_QUEUE)


def route_run(name: str, args: Sequence[Any], kwargs: dict[str, Any], options: dict[str, Any],
              task: Any = None, **extra: Any) -> dict[str, str] | None:
    """Celery's `task_routes` hook: runs go to their source's queue, whoever sends them (beat, the
    queueing command, `celery call`)."""
    if name != RUN_TASK:
        return None
    argv = kwargs.get("argv") if kwargs else None
    if argv is None and args:
        argv = args[0]
    return {"queue": queue_for(argv or [])}
