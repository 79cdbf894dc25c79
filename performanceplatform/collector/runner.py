"""Finds a query's collector and runs it.

An entrypoint is any importable module with a `main(credentials, data_set_config, query, options,
start_at, end_at)`, so a contributor's collector can live in a package of its own.
"""

from __future__ import annotations

import copy
import gc
import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from performanceplatform.collector.config import QueryConfig
from performanceplatform.collector.errors import ConfigurationError

log = logging.getLogger(__name__)

KNOWN_ENTRYPOINTS = (
    "performanceplatform.collector.ga",
    "performanceplatform.collector.ga.trending",
    "performanceplatform.collector.ga.realtime",
    "performanceplatform.collector.ga.contrib.content.table",
    "performanceplatform.collector.pingdom",
    "performanceplatform.collector.piwik.core",
    "performanceplatform.collector.piwik.realtime",
)

CollectorMain = Callable[..., Any]
# Allocations between collections of the youngest generation while a collector runs (see
# `_long_lived_objects_left_alone`); CPython's default is 700.
YOUNG_GENERATION_THRESHOLD = 10_000


def load_entrypoint(entrypoint: str, source: str) -> CollectorMain:
    """Import `entrypoint` and return its `main`, or explain why it cannot be run."""
    try:
        module = importlib.import_module(entrypoint)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if entrypoint == missing or entrypoint.startswith(missing + "."):
            raise ConfigurationError(
                f"no module named {entrypoint!r}; known entrypoints: {', '.join(KNOWN_ENTRYPOINTS)} "
                "(or any installed module with a main function)",
                source=source,
                key="entrypoint",
            ) from None
        raise ConfigurationError(
            f"{entrypoint!r} cannot be imported: it needs the module {missing!r}, which is not "
            "installed",
            source=source,
            key="entrypoint",
        ) from None
    collector_main = getattr(module, "main", None)
    if not callable(collector_main):
        raise ConfigurationError(
            f"{entrypoint!r} has no main(credentials, data_set_config, query, options, start_at, "
            f"end_at) function; known entrypoints: {', '.join(KNOWN_ENTRYPOINTS)}",
            source=source,
            key="entrypoint",
        )
    return collector_main


def run_collector(
    collector_main: CollectorMain,
    *,
    credentials: dict[str, Any],
    data_set_config: dict[str, Any],
    query: QueryConfig,
    start_at: datetime | None,
    end_at: datetime | None,
) -> Any:
    log.info("Running collection into %s/%s", query.data_group, query.data_type)
    # Collectors get their own copies: whatever they do, the loaded configs stay as the user wrote them.
    with _long_lived_objects_left_alone():
        return collector_main(
            copy.deepcopy(credentials),
            dict(data_set_config),
            copy.deepcopy(query.query),
            copy.deepcopy(query.options),
            start_at,
            end_at,
        )


@contextmanager
def _long_lived_objects_left_alone() -> Iterator[None]:
    """Keep the garbage collector off the objects start-up made (modules, Google's discovery
    documents: hundreds of thousands) while the collector runs.

    A backfill makes millions of short-lived objects, and each collection of the oldest
    generation would walk every start-up object again: a third of a million-row backfill's time.
    Frozen objects are still freed normally once unfrozen, after the run.

    The youngest generation is collected every `YOUNG_GENERATION_THRESHOLD` allocations rather
    than every 700: a page of 500 GA4 rows is some 5,000 containers, which would otherwise be
    scanned several times over while they are decoded (15% of a backfill's CPU, measured).
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], YOUNG_GENERATION_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
