"""`pp-collector --check`: every problem with the four files, found without touching the network.

The files are loaded by the same loader a run uses (`context.check_context`), which carries on
past a problem to report every one; then the collector checks its query and credentials with the
same functions its run calls first (`check(context)`; a contributor's collector may leave it out).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from performanceplatform.collector.context import check_context
from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.runner import load_collector


def check_files(args: Any) -> list[str]:
    context, problems = check_context(args)
    if context is None:
        return problems
    try:
        collector = load_collector(context.entrypoint, context.query_source)
    except ConfigurationError as error:
        return [*problems, str(error)]
    if collector.check is not None:
        problems.extend(_prefixed(collector.check(context), context.query_source))
    return problems


def _prefixed(found: Iterable[str], query_source: str) -> list[str]:
    """Collector problems name the query or credentials file, as every other problem does."""
    return [
        problem if problem.startswith(("query file", "credentials file")) else f"{query_source}: {problem}"
        for problem in found
    ]
