"""A `ga` query file's `query` object, read once, whichever Google source will answer it.

Query files keep the shape the original read (reference §2.1): `id`, `metrics`, `dimensions`,
`filters`, `sort` (each a list, or one name as a string), `maxResults` (0 means no limit), `segment`,
`frequency`. `GaQuery` checks those keys and keeps what they ask for, with names as written
(records use them as keys); the source then says what its API makes of them: Core Reporting v3
asks them as gapy did (`core_reporting.query`), the GA4 Data API translates them
(`data_api.query`). Problems name the query file and the key (`query.metrics`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.periods import DEFAULT_FREQUENCY, check_frequency

GA_PREFIX = "ga:"
T = TypeVar("T")


def prefix_ga(name: str) -> str:
    """`foo` → `ga:foo`, `-foo` → `-ga:foo`; already prefixed names are left alone (gapy's rule)."""
    sign = ""
    if name.startswith("-"):
        sign, name = "-", name[1:]
    if name.startswith(GA_PREFIX):
        return sign + name
    return sign + GA_PREFIX + name


def query_error(message: str, source: str | None, key: str) -> ConfigurationError:
    """A problem with the `query` object's `key`, naming the query file."""
    return ConfigurationError(message, source=source, key=f"query.{key}")


@dataclass(frozen=True)
class GaQuery:
    """What a `ga` (or content table) query asks for, before any source has translated it."""

    id: Any
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    sort: tuple[str, ...] = ()
    max_results: int | None = None
    segment: str | None = None
    frequency: str = DEFAULT_FREQUENCY

    @classmethod
    def from_config(cls, query: Mapping[str, Any], *, source: str | None) -> GaQuery:
        """The checked query; raises the first problem (`problems` lists them all)."""
        parsed, problems = _read(query, source)
        if problems:
            raise problems[0]
        assert parsed is not None
        return parsed

    @staticmethod
    def problems(query: Mapping[str, Any], *, source: str | None) -> list[ConfigurationError]:
        return _read(query, source)[1]


def _read(query: Mapping[str, Any], source: str | None) -> tuple[GaQuery | None, list[ConfigurationError]]:
    if not isinstance(query, Mapping):
        return None, [ConfigurationError(f"expected an object, got {query!r}", source=source, key="query")]
    problems: list[ConfigurationError] = []

    def read(key: str, parse: Callable[[], T], default: T) -> T:
        try:
            return parse()
        except ConfigurationError as error:
            problems.append(error)
            return default

    parsed = GaQuery(
        id=query.get("id"),
        metrics=read("metrics", lambda: names(query, "metrics", source, required=True), ()),
        dimensions=read("dimensions", lambda: names(query, "dimensions", source), ()),
        filters=read("filters", lambda: names(query, "filters", source, allow_empty_string=True), ()),
        sort=read("sort", lambda: names(query, "sort", source), ()),
        max_results=read("maxResults", lambda: _max_results(query.get("maxResults"), source), None),
        segment=read("segment", lambda: _segment(query.get("segment"), source), None),
        frequency=read("frequency", lambda: _frequency(query.get("frequency", DEFAULT_FREQUENCY), source),
                       DEFAULT_FREQUENCY),
    )
    return (None, problems) if problems else (parsed, [])


def names(
    query: Mapping[str, Any],
    key: str,
    source: str | None,
    *,
    required: bool = False,
    allow_empty_string: bool = False,
) -> tuple[str, ...]:
    """A list-or-string key as a tuple of non-empty strings (a string is a one-item list, as in gapy)."""
    value = query.get(key)
    if value is None or (allow_empty_string and value == ""):
        value = []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise query_error(f"expected a list of names (or one name as a string), got {value!r}", source, key)
    if required and not value:
        raise query_error("expected at least one name", source, key)
    return tuple(value)


def ga_list_parameter(values: Sequence[str]) -> str | None:
    """gapy's list parameter: each item prefixed, comma-joined; None when there are no items."""
    return ",".join(prefix_ga(value) for value in values) or None


def _max_results(value: Any, source: str | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise query_error(f"expected a whole number of rows (0 for no limit), got {value!r}", source, "maxResults")
    # The original treated 0 as "no limit", and four production files rely on it.
    return value or None


def _segment(value: Any, source: str | None) -> str | None:
    if value is not None and not isinstance(value, str):
        raise query_error(f"expected a segment string such as 'gaid::-1', got {value!r}", source, "segment")
    return value or None


def _frequency(value: Any, source: str | None) -> str:
    try:
        return check_frequency(value)
    except ConfigurationError as error:
        raise query_error(error.detail, source, "frequency") from None

