"""Finds a query's collector and runs it with the run context.

An entrypoint is any importable module. A built-in collector (and any contributed one that
wants it) offers `collect(context)`, marked with `@takes_run_context`, `check(context)` returning
the problems `--check` reports, `probe(context)`, for `--check --online`, which makes the
smallest request the source answers and says what it proved, and optionally `notes(context)`:
what `--check` should say that is not a problem (a GA4 migration's approximations). A
contributed module may instead keep the original's `main(credentials, data_set_config, query,
options, start_at, end_at)` and, optionally, `check(credentials, query, options, start_at,
end_at)`: the runner calls those with private copies of the context's parts, so a contributor's
package written for the original works as it is.
Built-in collectors also expose such a `main` (`legacy_main`), for code that calls them directly.
"""

from __future__ import annotations

import copy
import gc
import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any, TypeVar

from performanceplatform.collector.context import RunContext
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
RUN_CONTEXT_MARK = "takes_run_context"
# Allocations between collections of the youngest generation while a collector runs (see
# `_long_lived_objects_left_alone`); CPython's default is 700.
YOUNG_GENERATION_THRESHOLD = 10_000

Collect = Callable[[RunContext], Any]
F = TypeVar("F", bound=Callable[..., Any])


def takes_run_context(function: F) -> F:
    """Mark a collector's `collect` (or `check`) as taking the `RunContext`."""
    setattr(function, RUN_CONTEXT_MARK, True)
    return function


def legacy_main(entrypoint: str, collect: Collect) -> Callable[..., None]:
    """The original's six-argument `main` for a collector that takes the run context."""

    def main(
        credentials: Any,
        data_set_config: Any,
        query: Any,
        options: Any,
        start_at: datetime | None,
        end_at: datetime | None,
    ) -> None:
        collect(
            RunContext.from_collector_arguments(
                entrypoint, credentials, data_set_config, query, options, start_at, end_at
            )
        )

    main.__doc__ = f"`{entrypoint}` called as the original called collectors (see `runner`)."
    return main


@dataclass(frozen=True)
class Collector:
    """A loaded entrypoint: how to run it and how to check a query for it, both with the context."""

    entrypoint: str
    collect: Collect
    check: Callable[[RunContext], list[str]] | None
    # `--check --online`: the smallest request the source answers, proving the credentials.
    probe: Callable[[RunContext], str] | None = None
    notes: Callable[[RunContext], list[str]] | None = None


def load_collector(entrypoint: str, source: str) -> Collector:
    """Import `entrypoint` and wrap what it offers, or explain why it cannot be run."""
    module = _import(entrypoint, source)
    collect = getattr(module, "collect", None)
    check = getattr(module, "check", None)
    if callable(collect) and getattr(collect, RUN_CONTEXT_MARK, False):
        probe = getattr(module, "probe", None)
        notes = getattr(module, "notes", None)
        return Collector(
            entrypoint,
            collect,
            check if callable(check) else None,
            probe if callable(probe) else None,
            notes if callable(notes) else None,
        )
    main = getattr(module, "main", None)
    if not callable(main):
        raise ConfigurationError(
            f"{entrypoint!r} has no main(credentials, data_set_config, query, options, start_at, "
            f"end_at) function; known entrypoints: {', '.join(KNOWN_ENTRYPOINTS)}",
            source=source,
            key="entrypoint",
        )
    return Collector(entrypoint, _six_argument_collect(main), _five_argument_check(check) if callable(check) else None)


def run(collector: Collector, context: RunContext) -> Any:
    log.info("Running collection into %s", context.data_set.name)
    with _long_lived_objects_left_alone():
        return collector.collect(context)


def _import(entrypoint: str, source: str) -> ModuleType:
    try:
        return importlib.import_module(entrypoint)
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
            f"{entrypoint!r} cannot be imported: it needs the module {missing!r}, which is not installed",
            source=source,
            key="entrypoint",
        ) from None


def _six_argument_collect(main: Callable[..., Any]) -> Collect:
    def collect(context: RunContext) -> Any:
        # Private copies: whatever a collector does to them, the loaded configs stay as written.
        return main(
            copy.deepcopy(dict(context.credentials)),
            context.data_set.collector_config(),
            copy.deepcopy(dict(context.query)),
            copy.deepcopy(dict(context.options.raw)),
            context.start_at,
            context.end_at,
        )

    return collect


def _five_argument_check(check: Callable[..., list[str]]) -> Callable[[RunContext], list[str]]:
    def check_context(context: RunContext) -> list[str]:
        return check(
            copy.deepcopy(dict(context.credentials)),
            copy.deepcopy(dict(context.query)),
            copy.deepcopy(dict(context.options.raw)),
            context.start_at,
            context.end_at,
        )

    return check_context


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
