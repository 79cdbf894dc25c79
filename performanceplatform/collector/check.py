"""`pp-collector --check`: every problem with the four files, found without touching the network.

Each file is loaded and checked as a run would; then the collector itself checks its query and
credentials, if its module offers `check(credentials, query, options, start_at, end_at)` returning
a list of problems (a contributor's collector may leave it out). All problems are reported, not
only the first.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from performanceplatform.collector import config as config_files
from performanceplatform.collector.errors import ConfigurationError

T = TypeVar("T")


def check_files(args: Any) -> list[str]:
    problems: list[str] = []

    def attempt(step: Callable[[], T]) -> T | None:
        try:
            return step()
        except ConfigurationError as error:
            problems.append(str(error))
            return None

    attempt(lambda: config_files.parse_backdrop_config(
        config_files.load_json_file(args.performanceplatform, "Backdrop file"),
        f"Backdrop file {args.performanceplatform}",
    ))
    attempt(lambda: config_files.parse_token(
        config_files.load_json_file(args.token, "token file"), f"token file {args.token}"
    ))
    credentials = attempt(lambda: config_files.load_json_file(args.credentials, "credentials file"))
    attempt(lambda: config_files.check_date_order(args.start_at, args.end_at))
    if args.department_codes:
        os.environ["PP_COLLECTOR_DEPARTMENT_CODES"] = args.department_codes
        from performanceplatform.collector.departments import load_department_codes

        attempt(lambda: load_department_codes(args.department_codes))
    if args.query is None:
        problems.append("--check reads a query file (-q); -l would fetch the query from Stagecraft")
        return problems

    query = attempt(lambda: config_files.parse_query_config(
        config_files.load_json_file(args.query, "query file"), f"query file {args.query}", path=args.query
    ))
    if query is None:
        return problems
    plugins = query.options.get("plugins")
    if plugins:
        from performanceplatform.collector.plugins import parse_plugins

        attempt(lambda: parse_plugins(plugins))

    from performanceplatform.collector.runner import load_entrypoint

    if attempt(lambda: load_entrypoint(query.entrypoint, query.source)) is None:
        return problems
    collector_check = getattr(importlib.import_module(query.entrypoint), "check", None)
    if callable(collector_check):
        with config_files.credentials_file_named(args.credentials):
            found = attempt(lambda: collector_check(
                credentials, query.query, query.options, args.start_at, args.end_at
            ))
        problems.extend(_prefixed(found or [], query.source))
    return problems


def problems_of(*steps: Callable[[], object]) -> list[str]:
    """Run each step; the message of each `ConfigurationError` raised is a problem.

    For collectors' `check` hooks: each step is one thing a run would check before any request.
    """
    problems = []
    for step in steps:
        try:
            step()
        except ConfigurationError as error:
            problems.append(str(error))
    return problems


def _prefixed(found: Iterable[str], query_source: str) -> list[str]:
    """Collector problems name the query or credentials file, as every other problem does."""
    return [
        problem if problem.startswith(("query file", "credentials file")) else f"{query_source}: {problem}"
        for problem in found
    ]
