"""The run context: everything one run needs, loaded once, checked, and frozen.

The CLI loads the four files (query, credentials, token, Backdrop), the dates, the concurrency,
the department code table and the GA4 migration file into one `RunContext`, and a run and `--check` get it from the
same loader (`load_context` raises the first problem; `check_context` collects them all), so
both find the same problems in the same words. Collectors read their settings from the context
they are given: nothing travels through the environment or module globals.

What the environment may set (`PP_COLLECTOR_CONCURRENCY`, `PP_COLLECTOR_PUSH_CONCURRENCY`,
`PP_COLLECTOR_DEPARTMENT_CODES`, `PP_COLLECTOR_GA4_MAP`) is read here, once, and a flag given on
the command line wins over it. The GA4 migration file is read with the query's own `options.ga4`
over it (`ga4_map`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from performanceplatform.collector import config as config_files
from performanceplatform.collector.concurrency import (
    CONCURRENCY_VARIABLE,
    DEFAULT_CONCURRENCY,
    DEFAULT_PUSH_CONCURRENCY,
    PUSH_CONCURRENCY_VARIABLE,
    parse_concurrency,
)
from performanceplatform.collector.departments import ENV_VAR as DEPARTMENT_CODES_VARIABLE
from performanceplatform.collector.departments import NO_DEPARTMENTS, load_department_codes
from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.migration import path_from as ga4_map_path
from performanceplatform.collector.options import Options, options_problems, parse_options
from performanceplatform.collector.redaction import register_secret, register_secrets_in

if TYPE_CHECKING:
    from performanceplatform.collector.ga.migration.map_file import Ga4Map

T = TypeVar("T")
LEGACY_SOURCE = "collector arguments"
DATA_SET_CONFIG_SOURCE = "Backdrop data set config"


@dataclass(frozen=True)
class DataSetTarget:
    """The Backdrop data set a run writes to, and how: `push_concurrency` chunks on their way at once
    (1: one after another)."""

    url: str
    token: str | None = field(repr=False)
    data_group: str
    data_type: str
    dry_run: bool = False
    push_concurrency: int = 1

    @property
    def name(self) -> str:
        return f"{self.data_group}/{self.data_type}"

    @classmethod
    def from_collector_config(cls, config: Mapping[str, Any]) -> DataSetTarget:
        """From the `data_set_config` dict the original gave collectors (`url`, `token`, `data-group`,
        `data-type`, `dry_run`), for code written against it."""
        if not isinstance(config, Mapping):
            raise ConfigurationError(
                f"expected a mapping, got a {type(config).__name__}", source=DATA_SET_CONFIG_SOURCE
            )
        if "url" not in config:
            raise ConfigurationError("missing", source=DATA_SET_CONFIG_SOURCE, key="url")
        dry_run = config.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise ConfigurationError(
                f"expected true or false, got {dry_run!r}", source=DATA_SET_CONFIG_SOURCE, key="dry_run"
            )
        return cls(
            url=config["url"],
            token=config.get("token"),
            data_group=str(config.get("data-group") or ""),
            data_type=str(config.get("data-type") or ""),
            dry_run=dry_run,
        )

    def collector_config(self) -> dict[str, Any]:
        """The `data_set_config` dict a six-argument collector `main` receives, as the original built it."""
        return {
            "url": self.url,
            "token": self.token,
            "data-group": self.data_group,
            "data-type": self.data_type,
            "dry_run": self.dry_run,
        }


@dataclass(frozen=True)
class RunContext:
    """One run: which collector, what it asks for, with which credentials, into which data set.

    `query` and `credentials` are private copies of what the files hold (collectors must not
    change them); `query_source` and `credentials_source` name the files in error messages.
    `ga4_map` is the GA4 migration file with the query's `options.ga4` over it: which GA4
    property a UA view became, and what GA4 needs told (`ga.sources.source_for` reads it).
    """

    entrypoint: str
    query: Mapping[str, Any]
    options: Options
    credentials: Mapping[str, Any] = field(repr=False)
    data_set: DataSetTarget
    start_at: datetime | None = None
    end_at: datetime | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    department_codes: Mapping[str, str] = field(default_factory=lambda: NO_DEPARTMENTS, repr=False)
    query_source: str = "query"
    query_path: str | None = None
    credentials_source: str = "credentials file"
    credentials_path: Path | None = None
    # False only under `--check` when the credentials file itself could not be read (already
    # reported): checks of what it holds are then left out.
    credentials_loaded: bool = True
    # None: no migration file is named and the query has no `options.ga4` (`source_for` then asks
    # GA4 only for properties), and the reader is not imported.
    ga4_map: Ga4Map | None = None

    @property
    def dry_run(self) -> bool:
        return self.data_set.dry_run

    @property
    def backfill(self) -> bool:
        """Whether the command line gave dates (a backfill) rather than the collector's default period."""
        return self.start_at is not None or self.end_at is not None

    def with_query(self, query: Mapping[str, Any]) -> RunContext:
        """This context asking `query` instead (a content table's query per department)."""
        return replace(self, query=MappingProxyType(dict(query)))

    @classmethod
    def from_collector_arguments(
        cls,
        entrypoint: str,
        credentials: Mapping[str, Any],
        data_set_config: Mapping[str, Any],
        query: Mapping[str, Any],
        options: Mapping[str, Any] | None,
        start_at: datetime | None,
        end_at: datetime | None,
    ) -> RunContext:
        """The context for a collector called with the original's six arguments (see `runner.legacy_main`)."""
        target = DataSetTarget.from_collector_config(data_set_config)
        register_secret(target.token)
        register_secrets_in(credentials)
        # What the CLI would take from flags comes from the environment alone here.
        departments = department_codes_from(None, os.environ)
        ga4_map = None
        query_settings = options.get("ga4") if isinstance(options, Mapping) else None
        if ga4_map_path(None, os.environ) or query_settings is not None:
            from performanceplatform.collector.ga.migration import map_file

            ga4_map = map_file.load_ga4_map(ga4_map_path(None, os.environ)).with_query_settings(
                query_settings, source=LEGACY_SOURCE
            )
        return cls(
            entrypoint=entrypoint,
            query=_private_copy(query),
            options=parse_options(options, source=LEGACY_SOURCE, departments=departments),
            credentials=_private_copy(credentials),
            data_set=target,
            start_at=start_at,
            end_at=end_at,
            concurrency=concurrency_from(None, os.environ),
            department_codes=departments,
            ga4_map=ga4_map,
        )


def load_context(args: Any, environ: Mapping[str, str] | None = None) -> RunContext:
    """The run's context from the parsed command line; raises the first problem found."""
    context = _Loader(args, os.environ if environ is None else environ, collect_problems=False).load()
    assert context is not None  # without collect_problems, a problem raises
    return context


def check_context(args: Any, environ: Mapping[str, str] | None = None) -> tuple[RunContext | None, list[str]]:
    """`--check`: the context, if it could be loaded, and every problem found on the way."""
    loader = _Loader(args, os.environ if environ is None else environ, collect_problems=True)
    return loader.load(), loader.problems


class _Loader:
    """Loads each part of the context in turn. A run stops at the first problem; `--check` carries
    on with whatever does not depend on the part that failed, and reports them all."""

    def __init__(self, args: Any, environ: Mapping[str, str], *, collect_problems: bool):
        self.args = args
        self.environ = environ
        self.collect_problems = collect_problems
        self.problems: list[str] = []

    def step(self, load: Callable[[], T]) -> T | None:
        try:
            return load()
        except ConfigurationError as error:
            if not self.collect_problems:
                raise
            self.problems.append(str(error))
            return None

    def load(self) -> RunContext | None:
        args = self.args
        backdrop = self.step(
            lambda: config_files.parse_backdrop_config(
                config_files.load_json_file(args.performanceplatform, "Backdrop file"),
                f"Backdrop file {args.performanceplatform}",
            )
        )
        token = self.step(
            lambda: config_files.parse_token(
                config_files.load_json_file(args.token, "token file"), f"token file {args.token}"
            )
        )
        register_secret(token)
        credentials = self.step(lambda: config_files.load_json_file(args.credentials, "credentials file"))
        register_secrets_in(credentials)
        if backdrop is not None:
            register_secret(backdrop.omniscient_api_token)
        self.step(lambda: config_files.check_date_order(args.start_at, args.end_at))
        departments = self.step(self._department_codes)
        concurrency = self.step(self._concurrency)
        ga4_map, ga4_map_read = self._ga4_map()
        push_concurrency = self.step(self._push_concurrency)
        query = self.step(lambda: self._query(backdrop))
        if query is None:
            return None
        if ga4_map_read:
            ga4_map, ga4_map_read = self._with_query_settings(ga4_map, query)
        departments = NO_DEPARTMENTS if departments is None else departments
        options: Options | None
        if self.collect_problems:
            found = options_problems(query.options, source=query.source, departments=departments)
            self.problems.extend(str(problem) for problem in found)
            options = None if found else parse_options(query.options, source=query.source, departments=departments)
        else:
            options = parse_options(query.options, source=query.source, departments=departments)
        if options is None or (
            not self.collect_problems
            and (None in (backdrop, token, credentials, concurrency, push_concurrency) or not ga4_map_read)
        ):
            return None
        # `--check` goes on to the collector's own checks with what could be loaded: a file that
        # failed has been reported, and the checks leave out what depends on it.
        return RunContext(
            entrypoint=query.entrypoint,
            query=MappingProxyType(query.query),
            options=options,
            credentials=MappingProxyType(credentials or {}),
            credentials_loaded=credentials is not None,
            data_set=DataSetTarget(
                url=backdrop.data_set_url(query.data_group, query.data_type) if backdrop else "",
                token=token,
                data_group=query.data_group,
                data_type=query.data_type,
                dry_run=bool(getattr(args, "dry_run", False)),
                push_concurrency=push_concurrency or DEFAULT_PUSH_CONCURRENCY,
            ),
            start_at=args.start_at,
            end_at=args.end_at,
            concurrency=concurrency or DEFAULT_CONCURRENCY,
            department_codes=departments,
            query_source=query.source,
            query_path=query.path,
            credentials_source=f"credentials file {args.credentials}",
            credentials_path=Path(args.credentials),
            ga4_map=ga4_map,
        )

    def _query(self, backdrop: config_files.BackdropConfig | None) -> config_files.QueryConfig:
        args = self.args
        if args.query is not None:
            source = f"query file {args.query}"
            document = config_files.load_json_file(args.query, "query file")
            if self.collect_problems:
                self.problems.extend(str(problem) for problem in config_files.unknown_key_problems(document, source))
            return config_files.parse_query_config(document, source, path=args.query)
        if self.collect_problems:
            raise ConfigurationError("--check reads a query file (-q); -l would fetch the query from Stagecraft")
        if backdrop is None:
            raise AssertionError("a run stops at a bad Backdrop file before it asks Stagecraft")
        from performanceplatform.collector.stagecraft import fetch_collector_query

        return fetch_collector_query(backdrop, args.collector_slug)

    def _ga4_map(self) -> tuple[Ga4Map | None, bool]:
        """The GA4 migration file `--ga4-map` (or `PP_COLLECTOR_GA4_MAP`) names (None when none is
        named), and whether it could be read; `--check` reports every problem in it, a run stops at
        the first."""
        path = ga4_map_path(getattr(self.args, "ga4_map", None), self.environ)
        if path is None:
            return None, True
        from performanceplatform.collector.ga.migration import map_file

        found, problems = map_file.ga4_map_and_problems(path)
        if problems and not self.collect_problems:
            raise problems[0]
        self.problems.extend(str(problem) for problem in problems)
        return (None, False) if problems else (found, True)

    def _with_query_settings(
        self, ga4_map: Ga4Map | None, query: config_files.QueryConfig
    ) -> tuple[Ga4Map | None, bool]:
        """The migration file with the query's `options.ga4` over it, and whether that could be read
        (a bad options object is reported with the options)."""
        raw = query.options.get("ga4") if isinstance(query.options, Mapping) else None
        if raw is None:
            return ga4_map, True
        from performanceplatform.collector.ga.migration import map_file

        settings, problems = map_file.read_query_settings(raw, source=query.source)
        if problems and not self.collect_problems:
            raise problems[0]
        self.problems.extend(str(problem) for problem in problems)
        if problems:
            return None, False
        return (ga4_map or map_file.NO_GA4_MAP).with_query(settings), True

    def _department_codes(self) -> Mapping[str, str]:
        return department_codes_from(getattr(self.args, "department_codes", None), self.environ)

    def _concurrency(self) -> int:
        return concurrency_from(getattr(self.args, "concurrency", None), self.environ)

    def _push_concurrency(self) -> int:
        return push_concurrency_from(getattr(self.args, "push_concurrency", None), self.environ)


def department_codes_from(flag: str | None, environ: Mapping[str, str]) -> Mapping[str, str]:
    """The department table `--department-codes` names, else `PP_COLLECTOR_DEPARTMENT_CODES`; none without."""
    path = flag or environ.get(DEPARTMENT_CODES_VARIABLE)
    return load_department_codes(path) if path else NO_DEPARTMENTS


def concurrency_from(flag: int | None, environ: Mapping[str, str]) -> int:
    """`--concurrency`, else `PP_COLLECTOR_CONCURRENCY`, else the default."""
    if flag is not None:
        return int(flag)
    raw = environ.get(CONCURRENCY_VARIABLE, "")
    if not raw.strip():
        return DEFAULT_CONCURRENCY
    return parse_concurrency(raw, source=f"environment variable {CONCURRENCY_VARIABLE}")


def push_concurrency_from(flag: int | None, environ: Mapping[str, str]) -> int:
    """`--push-concurrency`, else `PP_COLLECTOR_PUSH_CONCURRENCY`, else the default."""
    if flag is not None:
        return int(flag)
    raw = environ.get(PUSH_CONCURRENCY_VARIABLE, "")
    if not raw.strip():
        return DEFAULT_PUSH_CONCURRENCY
    return parse_concurrency(raw, source=f"environment variable {PUSH_CONCURRENCY_VARIABLE}")


def _private_copy(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(copy.deepcopy(dict(value or {})))
