"""`pp-collector --check`: every problem with the four files, found without touching the network.

The files are loaded by the same loader a run uses (`context.check_context`), which carries on
past a problem to report every one; then the collector checks its query and credentials with the
same functions its run calls first (`check(context)`; a contributor's collector may leave it out).

`--check --online`, once the files pass, proves what only the network can: the collector's
`probe(context)` gets a token and makes the smallest request its source answers, and Backdrop is
sent an empty push (which it answers once the data set and the token check out, storing nothing).

What a collector says that is not a problem (`notes(context)`: a GA4 migration's derived metrics
and accepted approximations, which a run logs once) is printed on stderr as `note:` lines.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from performanceplatform.collector.backdrop.client import DataSet
from performanceplatform.collector.context import RunContext, check_context
from performanceplatform.collector.errors import CollectorError, ConfigurationError
from performanceplatform.collector.redaction import redact
from performanceplatform.collector.runner import Collector, load_collector


def check_files(args: Any) -> tuple[list[str], list[str]]:
    """The problems found, and (with `--online`, when there are none) what the network proved."""
    context, problems = check_context(args)
    if context is None:
        return problems, []
    try:
        collector = load_collector(context.entrypoint, context.query_source)
    except ConfigurationError as error:
        return [*problems, str(error)], []
    if collector.check is not None:
        problems.extend(_prefixed(collector.check(context), context.query_source))
    if collector.notes is not None and not problems:
        for note in collector.notes(context):
            print(redact(f"pp-collector: check: note: {context.query_source}: {note}"), file=sys.stderr)
    if problems or not getattr(args, "online", False):
        return problems, []
    return _online(collector, context)


def _online(collector: Collector, context: RunContext) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    proven: list[str] = []
    if collector.probe is None:
        proven.append(f"{collector.entrypoint} has no online check of its own")
    else:
        try:
            proven.append(collector.probe(context))
        except CollectorError as error:
            problems.append(f"online: {error}")
    try:
        status = DataSet.from_target(context.data_set).probe()
        proven.append(f"Backdrop {context.data_set.name} answered {status} with the token")
    except CollectorError as error:
        problems.append(f"online: {error}")
    return problems, proven


def _prefixed(found: Iterable[str], query_source: str) -> list[str]:
    """Collector problems name the query or credentials file, as every other problem does."""
    return [
        problem if problem.startswith(("query file", "credentials file")) else f"{query_source}: {problem}"
        for problem in found
    ]
