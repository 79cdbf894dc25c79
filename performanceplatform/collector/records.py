"""Records from source rows: the original's DataParser (`utils/data_parser.py`).

A record is the merge, later sources winning, of {`_timestamp`, `dataType`} ← `additionalFields`
← the row's dimensions ← its fields (converted metrics and `timeSpan`); then `mappings` rename
keys; then `_id`/`humanId` are set, from `idMapping` or by default from the data type, period,
time span and dimension values; then `options.plugins` run.

Ids must equal the original's so that re-collection overwrites records in Backdrop, and they
depend on Python 2 dict order and `unicode()` (see `py2compat`). To that end each record keeps,
as its own key order, the order its keys went into the original's dict, so `py2_dict_order`
of a record is the order Python 2 iterated it in. That settles which of two keys mapped to one
name wins, and how AggregateKey sorts. (RemoveKey's deletions and AggregateKey's copies change
Python 2's table in ways a key order cannot carry; only a second AggregateKey after them could
see the difference.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from types import MappingProxyType
from typing import Any

from .errors import CollectorError, ConfigurationError
from .plugins import Plugin, Record, parse_plugins, run_plugins
from .py2compat import id_timestamp, py2_dict_order, py2_unicode, value_id

__all__ = [
    "Record",
    "Row",
    "apply_options",
    "build_records",
    "convert_duration",
    "convert_metric",
    "ga_fields",
    "ga_number",
    "gapy_dimensions",
    "period_start",
    "value_id",
]

# `\d` is ASCII-only here, as in Python 2's byte-string pattern.
_MULTI_VALUE = re.compile(r"^(.*)_(\d*)$", re.ASCII)


@dataclass(frozen=True)
class Row:
    """One source row.

    `dimensions` and `fields` must iterate in the order the original inserted them into its
    dicts, since that decides the default `_id`: for GA, `gapy_dimensions` and `ga_fields`
    build them so. `fields` are the collector's own fields (GA: metrics and `timeSpan`).
    """

    start_date: date
    dimensions: Mapping[str, Any] = field(default_factory=dict)
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimensions", MappingProxyType(dict(self.dimensions)))
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))


@dataclass(frozen=True)
class _MultiValue:
    mapping_key: str
    source: str
    position: int | None  # None: an index too long to ever exist
    target: str


@dataclass(frozen=True)
class _Options:
    data_type: Any
    mappings: Mapping[str, str]
    multi_values: tuple[_MultiValue, ...]
    id_mapping: tuple[str, ...] | None
    additional_fields: Mapping[str, Any]
    plugins: tuple[Plugin, ...]

    @classmethod
    def read(cls, options: Mapping[str, Any] | None, data_type: str | None) -> _Options:
        options = _as_mapping(options)
        chosen = options.get("dataType", data_type)
        if chosen is None:
            raise ConfigurationError(
                "no data type: the data-set has no data-type and options.dataType is not set",
                key="dataType",
            )
        mappings = _mappings(options.get("mappings"))
        return cls(
            data_type=chosen,
            mappings=mappings,
            multi_values=_multi_values(mappings),
            id_mapping=_id_mapping(options.get("idMapping")),
            additional_fields=_additional_fields(options),
            plugins=tuple(parse_plugins(options.get("plugins"))),
        )


def build_records(
    rows: Iterable[Row], options: Mapping[str, Any] | None, data_type: str | None
) -> list[Record]:
    """The records for `rows`, as the original's `DataParser(rows, options, data_type)` made
    them; `options` is the query's `options` (`dataType` overrides `data_type`)."""
    read = _Options.read(options, data_type)
    records = [_build_record(index, row, read) for index, row in enumerate(rows)]
    return run_plugins(read.plugins, records)


def apply_options(
    records: Iterable[Record], options: Mapping[str, Any] | None
) -> list[Record]:
    """`additionalFields` under each record's own fields, then the plugins, for collectors that
    build records themselves (Pingdom). The caller's records are not modified."""
    if not options:
        return list(records)
    options = _as_mapping(options)
    additional = _additional_fields(options)
    plugins = parse_plugins(options.get("plugins"))
    return run_plugins(plugins, [{**additional, **record} for record in records])


def period_start(start: date) -> datetime:
    """`_timestamp`: the period start as an aware UTC datetime (a date means its midnight).

    A naive datetime is taken to be UTC, as the original did. An aware one is converted; the
    original relabelled it as UTC instead, which only differs for non-UTC inputs it never got.
    """
    if isinstance(start, datetime):
        if start.tzinfo is None or start.utcoffset() is None:
            return start.replace(tzinfo=UTC)
        return start.astimezone(UTC)
    if isinstance(start, date):
        return datetime.combine(start, time(0), tzinfo=UTC)
    raise CollectorError(f"a row's start date must be a date or datetime, not {start!r}")


def _build_record(index: int, row: Row, options: _Options) -> Record:
    timestamp = period_start(row.start_date)
    merged: Record = {}
    base = {"_timestamp": timestamp, "dataType": options.data_type}
    for source in (base, options.additional_fields, row.dimensions, row.fields):
        for key in py2_dict_order(source):
            merged[key] = source[key]
    record = _apply_mappings(merged, options, index)
    human = _id_string(record, row, timestamp, options, index)
    record["humanId"] = human
    record["_id"] = value_id(human)[0]
    return record


def _apply_mappings(merged: Record, options: _Options, index: int) -> Record:
    # The original rebuilt the dict even without mappings, which reorders it in Python 2.
    renamed: Record = {}
    for key in py2_dict_order(merged):
        renamed[options.mappings.get(key, key)] = merged[key]
    split: Record = {}
    for multi in options.multi_values:
        value = merged.get(multi.source)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ConfigurationError(
                f"{multi.mapping_key!r} splits {multi.source!r} on ':', but record {index} "
                f"has a {type(value).__name__} there: {value!r}",
                key="mappings",
            )
        parts = value.split(":")
        if multi.position is not None and multi.position < len(parts):
            split[multi.target] = parts[multi.position]
    record: Record = {}
    for source in (renamed, split):  # split values win over renames
        for key in py2_dict_order(source):
            record[key] = source[key]
    return record


def _id_string(
    record: Record, row: Row, timestamp: datetime, options: _Options, index: int
) -> str:
    if options.id_mapping is not None:
        human = "".join(py2_unicode(record.get(key, "")) for key in options.id_mapping)
        if not human:
            missing = [key for key in options.id_mapping if key not in record]
            raise (ConfigurationError if len(missing) == len(options.id_mapping) else
                   CollectorError)(
                f"idMapping {list(options.id_mapping)!r} gives record {index} an empty _id "
                f"(missing: {missing or 'none'}; record fields: {sorted(record)})"
            )
        return human
    parts = [py2_unicode(options.data_type), id_timestamp(timestamp)]
    # Looked up after mapping, so a renamed timeSpan drops out of the id, as it did.
    time_span = record.get("timeSpan")
    if time_span is not None:
        parts.append(py2_unicode(time_span))
    parts.extend(py2_unicode(row.dimensions[key]) for key in py2_dict_order(row.dimensions))
    return "_".join(parts)


def _as_mapping(options: object) -> Mapping[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ConfigurationError(f"options must be an object, not {options!r}", key="options")
    return options


def _mappings(value: object) -> Mapping[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(target, str) for target in value.values()
    ):
        raise ConfigurationError(
            f"must be an object of field name to new field name, not {value!r}", key="mappings"
        )
    return dict(value)


def _multi_values(mappings: Mapping[str, str]) -> tuple[_MultiValue, ...]:
    found = []
    for mapping_key in py2_dict_order(mappings):
        match = _MULTI_VALUE.search(mapping_key)
        if not match:
            continue
        source, digits = match.groups()
        if not digits:
            raise ConfigurationError(
                f"{mapping_key!r} ends in '_' with no index: write {source + '_0'!r} for the "
                f"first ':'-separated part of {source!r}, or rename the key",
                key="mappings",
            )
        significant = digits.lstrip("0")
        position = int(significant or "0") if len(significant) <= 18 else None
        found.append(_MultiValue(mapping_key, source, position, mappings[mapping_key]))
    return tuple(found)


def _id_mapping(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    keys = [value] if isinstance(value, str) else value
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise ConfigurationError(
            f"must be a field name or a list of field names, not {value!r}", key="idMapping"
        )
    if not keys:
        raise ConfigurationError("is empty, which would give every record an empty _id",
                                 key="idMapping")
    return tuple(keys)


def _additional_fields(options: Mapping[str, Any]) -> Mapping[str, Any]:
    value = options.get("additionalFields")
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"must be an object, not {value!r}", key="additionalFields")
    return value


# --- Google Analytics rows (`ga/core.py`, gapy) ---------------------------------------------


def ga_number(raw: object) -> int | float:
    """The original's `try_number`: `int(raw)`, else `float(raw)`; numbers too (400.0 → 400)."""
    if isinstance(raw, str) and "_" in raw:
        # Python 3 reads "1_000" as a number; Python 2 did not.
        raise CollectorError(f"Google Analytics sent a metric value that is not a number: {raw!r}")
    for cast in (int, float):
        try:
            return cast(raw)  # type: ignore[call-overload,no-any-return]
        except ValueError:
            continue
        except (TypeError, OverflowError):
            break
    raise CollectorError(f"Google Analytics sent a metric value that is not a number: {raw!r}")


def convert_duration(name: str, value: Any) -> Any:
    """`avgSessionDuration` from seconds to milliseconds (times 1000) when truthy; exactly that key."""
    if name == "avgSessionDuration" and value:
        return value * 1000
    return value


def convert_metric(name: str, raw: object) -> int | float:
    """A GA metric value as the original stored it: `ga_number`, then `convert_duration`."""
    return convert_duration(name, ga_number(raw))  # type: ignore[no-any-return]


def ga_fields(metrics: Mapping[str, object], time_span: str) -> dict[str, Any]:
    """A GA row's `Row.fields`: its metrics converted, then `timeSpan` (day/week/month).

    `metrics` maps the names as written in the query, in query order, to the raw values. The
    result iterates in the order the original built its dict in: it copied gapy's metrics dict
    (itself filled in query order) twice before adding `timeSpan`.
    """
    converted = {name: convert_metric(name, metrics[name]) for name in py2_dict_order(metrics)}
    fields: dict[str, Any] = {name: converted[name] for name in py2_dict_order(converted)}
    fields["timeSpan"] = time_span
    return fields


def gapy_dimensions(names: Iterable[str], values: Iterable[str]) -> dict[str, Any]:
    """A GA row's `Row.dimensions`, as gapy built them: names (as written in the query) zipped
    with the row's values, plus a naive `datetime` from `date` (and `hour`) when there is a
    dimension called exactly `date`."""
    dimensions: dict[str, Any] = dict(zip(names, values, strict=False))
    if "date" in dimensions:
        has_hour = "hour" in dimensions
        try:
            text = dimensions["date"] + dimensions["hour"] if has_hour else dimensions["date"]
            dimensions["datetime"] = datetime.strptime(
                text, "%Y%m%d%H" if has_hour else "%Y%m%d"
            )
        except (TypeError, ValueError):
            raise CollectorError(
                "Google Analytics sent a date dimension that is not YYYYMMDD(+HH): "
                f"{dimensions.get('date')!r} {dimensions.get('hour', '')!r}"
            ) from None
    return dimensions
