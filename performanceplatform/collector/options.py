"""A query file's `options`, read once into a typed `Options`.

Every option a built-in collector reads is checked here, when the run context is loaded, so that
`--check` and a run report the same problem in the same words (naming the file and the key), and
nothing fails half-way through a push for want of a whole number:

- `chunk-size`: records per Backdrop request (default 100);
- `empty-data-set`: empty the data set before the first chunk (and only if there is one);
- `dataType`: the records' `dataType` instead of the data set's data-type;
- `mappings`: field renames (`name_N` keys split a `:`-separated value, the original's rule);
- `idMapping`: the fields whose values make the `_id` instead of the default;
- `additionalFields`: constant fields under every record's own;
- `plugins`: the record plugins, parsed (never evaluated) with the run's department table.

`raw` keeps the whole object, as the user wrote it, for what only one collector reads
(`filtersets` for content tables; `ga4`, a query's own GA4 migration settings, which the run
context reads with the migration file) and for contributed collectors, which receive it unchanged.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from performanceplatform.collector.departments import NO_DEPARTMENTS
from performanceplatform.collector.errors import ConfigurationError, PluginError

if TYPE_CHECKING:
    from performanceplatform.collector.plugins import Plugin

DEFAULT_CHUNK_SIZE = 100
OPTION_KEYS = (
    "chunk-size",
    "empty-data-set",
    "dataType",
    "mappings",
    "idMapping",
    "additionalFields",
    "plugins",
    "filtersets",
    "ga4",
)
# Options whose null means "not given"; any other null is refused, as the original's client did.
_NULL_MEANS_ABSENT = frozenset({"mappings", "idMapping", "additionalFields", "plugins"})
# `\d` is ASCII-only here, as in Python 2's byte-string pattern.
_MULTI_VALUE = re.compile(r"^(.*)_(\d*)$", re.ASCII)


@dataclass(frozen=True)
class MultiValueMapping:
    """A `mappings` key `name_N`: the N-th `:`-separated part of `name` goes to `target`."""

    mapping_key: str
    source: str
    position: int | None  # None: an index too long to ever exist
    target: str


@dataclass(frozen=True)
class Options:
    chunk_size: int = DEFAULT_CHUNK_SIZE
    empty_data_set: bool = False
    data_type: Any = None
    mappings: Mapping[str, str] = field(default_factory=dict)
    multi_values: tuple[MultiValueMapping, ...] = ()
    id_mapping: tuple[str, ...] | None = None
    additional_fields: Mapping[str, Any] = field(default_factory=dict)
    plugins: tuple[Plugin, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def whole_set_first(self) -> bool:
        """Whether every record must be built before the first is pushed.

        `empty-data-set`: emptying Backdrop and then failing half-way would leave the data set half
        filled. Plugins that look across records (ComputeRank ranks, AggregateKey groups) need them
        all. Everything else is pushed a chunk at a time as the periods arrive.
        """
        return self.empty_data_set or any(plugin.whole_set for plugin in self.plugins)

    @property
    def changes_records(self) -> bool:
        """Whether records a collector built itself need `additionalFields` or plugins applied."""
        return bool(self.additional_fields or self.plugins)

    def with_additional_fields(self, **fields: Any) -> Options:
        """These options with more `additionalFields` (a content table's `department`), which win."""
        return replace(self, additional_fields=MappingProxyType({**self.additional_fields, **fields}))


def parse_options(
    raw: Mapping[str, Any] | None,
    *,
    source: str | None = None,
    departments: Mapping[str, str] = NO_DEPARTMENTS,
) -> Options:
    """The typed options; raises the first problem (`options_problems` lists them all)."""
    options, problems = _read(raw, source, departments)
    if problems:
        raise problems[0]
    return options


def options_problems(
    raw: Mapping[str, Any] | None, *, source: str | None = None, departments: Mapping[str, str] = NO_DEPARTMENTS
) -> list[ConfigurationError]:
    """Every problem with `raw`, each as the run would raise it."""
    return _read(raw, source, departments)[1]


def _read(
    raw: Mapping[str, Any] | None, source: str | None, departments: Mapping[str, str]
) -> tuple[Options, list[ConfigurationError]]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return Options(), [ConfigurationError(f"expected an object, got {raw!r}", source=source, key="options")]
    problems: list[ConfigurationError] = []

    def read(key: str, parse: Callable[[Any], Any], default: Any) -> Any:
        if key not in raw or (raw[key] is None and key in _NULL_MEANS_ABSENT):
            return default
        try:
            return parse(raw[key])
        except _Invalid as invalid:
            problems.append(invalid.error_type(str(invalid), source=source, key=f"options.{key}"))
            return default

    mappings = read("mappings", _mappings, {})
    try:
        multi_values = _multi_values(mappings)
    except _Invalid as invalid:
        problems.append(ConfigurationError(str(invalid), source=source, key="options.mappings"))
        multi_values = ()
    options = Options(
        chunk_size=read("chunk-size", _chunk_size, DEFAULT_CHUNK_SIZE),
        empty_data_set=read("empty-data-set", _boolean, False),
        data_type=raw.get("dataType"),
        mappings=MappingProxyType(mappings),
        multi_values=multi_values,
        id_mapping=read("idMapping", _id_mapping, None),
        additional_fields=MappingProxyType(read("additionalFields", _additional_fields, {})),
        plugins=tuple(read("plugins", lambda texts: _plugins(texts, departments), [])),
        raw=MappingProxyType(copy.deepcopy(dict(raw))),
    )
    return options, problems


class _Invalid(ValueError):
    """What is wrong with one option's value; the caller adds the file and the key."""

    def __init__(self, message: str, error_type: type[ConfigurationError] = ConfigurationError):
        super().__init__(message)
        self.error_type = error_type


def _chunk_size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Invalid(f"expected a positive whole number of records per request, got {value!r}")
    return value


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {value!r}")
    return value


def _mappings(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(target, str) for target in value.values()):
        raise _Invalid(f"expected an object of field name to new field name, got {value!r}")
    return dict(value)


def _multi_values(mappings: Mapping[str, str]) -> tuple[MultiValueMapping, ...]:
    if not mappings:
        return ()
    # The record builder's own Python 2 rules, imported only for a query that maps fields.
    from performanceplatform.collector.py2compat import py2_dict_order

    found = []
    for mapping_key in py2_dict_order(mappings):
        match = _MULTI_VALUE.search(mapping_key)
        if not match:
            continue
        source, digits = match.groups()
        if not digits:
            raise _Invalid(
                f"{mapping_key!r} ends in '_' with no index: write {source + '_0'!r} for the "
                f"first ':'-separated part of {source!r}, or rename the key"
            )
        significant = digits.lstrip("0")
        position = int(significant or "0") if len(significant) <= 18 else None
        found.append(MultiValueMapping(mapping_key, source, position, mappings[mapping_key]))
    return tuple(found)


def _id_mapping(value: object) -> tuple[str, ...]:
    keys = [value] if isinstance(value, str) else value
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise _Invalid(f"expected a field name or a list of field names, got {value!r}")
    if not keys:
        raise _Invalid("is empty, which would give every record an empty _id")
    return tuple(keys)


def _additional_fields(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Invalid(f"expected an object of field name to value, got {value!r}")
    return dict(value)


def _plugins(texts: object, departments: Mapping[str, str]) -> list[Plugin]:
    # Imported only for a query that has plugins: a realtime run every two minutes has none.
    from performanceplatform.collector.plugins import parse_plugins

    try:
        return parse_plugins(texts, departments=departments)
    except PluginError as error:
        raise _Invalid(error.detail, PluginError) from None
