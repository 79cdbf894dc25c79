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

A backfill's records can be built a period at a time as the periods arrive (`stream_records`,
`stream_options`): the same records in the same order, with each plugin run on each period's
records, which is only right when no plugin needs the whole set (`plugins.needs_whole_set`).

Rows of one shape (the same dimension and field names) all go through the same key orders, so
those are worked out once per shape (`_Shape`) and each row only fills in its values: a million
rows would otherwise recompute the same Python 2 hash tables a million times. A source that reads
many rows of one shape (a GA page) can hand them over as a `RowBatch`, names once and values per
row, so that no dict is built per row before the record itself.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from .errors import CollectorError, ConfigurationError
from .plugins import Plugin, Record, needs_whole_set, parse_plugins, run_plugins
from .py2compat import id_timestamp, py2_dict_order, py2_unicode, value_id

__all__ = [
    "Record",
    "Row",
    "RowBatch",
    "apply_options",
    "build_records",
    "convert_duration",
    "convert_metric",
    "ga_field_order",
    "ga_fields",
    "ga_number",
    "gapy_datetime",
    "gapy_dimensions",
    "period_start",
    "plugins_need_whole_set",
    "stream_options",
    "stream_records",
    "value_id",
]

# Row shapes remembered per run (`_Shape`); a query has one, or a few.
_MAX_SHAPES = 1024
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
class RowBatch:
    """Rows that share their dimension and field names: the names once, then per row its start
    date and its dimension and field values, in the names' order.

    Iterating gives the same rows as `Row`s; the record builder reads the values directly.
    Names must be unique within each tuple (a dict could not hold two of one name).
    """

    dimension_names: tuple[str, ...]
    field_names: tuple[str, ...]
    rows: Sequence[tuple[date, Sequence[Any], Sequence[Any]]]

    def __post_init__(self) -> None:
        for names in (self.dimension_names, self.field_names):
            if len(set(names)) != len(names):
                raise ValueError(f"a RowBatch's names must be unique, not {names!r}")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        for start_date, dimension_values, field_values in self.rows:
            yield Row(
                start_date,
                dict(zip(self.dimension_names, dimension_values, strict=True)),
                dict(zip(self.field_names, field_values, strict=True)),
            )


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
    # Key orders worked out per row shape (see `_Shape`); filled as shapes are met.
    shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], _Shape] = field(
        default_factory=dict, compare=False, repr=False
    )

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
    return run_plugins(read.plugins, _build_batch(rows, read, 0))


def stream_records(
    batches: Iterable[Iterable[Row]], options: Mapping[str, Any] | None, data_type: str | None
) -> Iterator[Record]:
    """`build_records` of all the batches' rows, built and yielded a batch (a period) at a time.

    The options are read at once, so a mistake in them fails before any batch is fetched. Only
    for options whose plugins work record by record (`plugins_need_whole_set` is false).
    """
    read = _Options.read(options, data_type)
    _require_record_by_record(read.plugins)
    return _streamed_records(batches, read)


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


def stream_options(batches: Iterable[Iterable[Record]], options: Mapping[str, Any] | None) -> Iterator[Record]:
    """`apply_options` of all the batches' records, a batch at a time (see `stream_records`)."""
    options = _as_mapping(options)
    additional = _additional_fields(options)
    plugins = parse_plugins(options.get("plugins"))
    _require_record_by_record(plugins)
    return _streamed_options(batches, additional, plugins)


def plugins_need_whole_set(options: Mapping[str, Any] | None) -> bool:
    """Whether the plugins of `options` must see every record at once (ComputeRank, AggregateKey)."""
    return needs_whole_set(parse_plugins(_as_mapping(options).get("plugins")))


def _require_record_by_record(plugins: Iterable[Plugin]) -> None:
    if needs_whole_set(list(plugins)):
        raise ValueError("a plugin needs the whole set of records: build them with build_records")


def _streamed_records(batches: Iterable[Iterable[Row]], read: _Options) -> Iterator[Record]:
    index = 0
    for batch in batches:
        records = _build_batch(batch, read, index)
        yield from run_plugins(read.plugins, records, index)
        index += len(records)


def _streamed_options(
    batches: Iterable[Iterable[Record]], additional: Mapping[str, Any], plugins: list[Plugin]
) -> Iterator[Record]:
    index = 0
    for batch in batches:
        records = [{**additional, **record} for record in batch] if additional or plugins else list(batch)
        yield from run_plugins(plugins, records, index)
        index += len(records)


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


@functools.lru_cache(maxsize=1024)
def _cached_period_start(start: date) -> datetime:
    return period_start(start)


@functools.lru_cache(maxsize=1024)
def _cached_id_timestamp(moment: datetime) -> str:
    return id_timestamp(moment)


@dataclass(frozen=True)
class _Shape:
    """What every row with the same dimension and field names shares: its record's keys, in
    order, each with where its value comes from, and where the default `_id`'s dimension values
    are.

    Worked out by running the general algorithm (`_merge`, `_apply_mappings`) on the sources'
    keys rather than on values, so the orders are the general algorithm's by construction. A
    row's values are then read from one flat tuple: `_timestamp` and `dataType`, the
    additionalFields' values, the dimension values, the field values.
    """

    keys: tuple[str, ...]
    values: Callable[[tuple[Any, ...]], tuple[Any, ...]]  # the record's values from the flat tuple
    id_values: Callable[[Sequence[Any]], tuple[Any, ...]]  # the default id's, from the dimension values
    additional_values: tuple[Any, ...]

    @classmethod
    def of(cls, options: _Options, dimensions: tuple[str, ...], fields: tuple[str, ...]) -> _Shape:
        names = [("_timestamp", "dataType"), tuple(options.additional_fields), dimensions, fields]
        symbolic = [{key: (number, key) for key in keys} for number, keys in enumerate(names)]
        record = _apply_mappings(_merge(symbolic), options, 0)
        # Where each source's values start in the flat tuple.
        starts = [0]
        for keys in names[:-1]:
            starts.append(starts[-1] + len(keys))
        positions = [starts[number] + names[number].index(key) for number, key in record.values()]
        id_positions = [dimensions.index(key) for key in py2_dict_order(dimensions)]
        return cls(
            keys=tuple(record),
            values=_tuple_getter(positions),
            id_values=_tuple_getter(id_positions),
            additional_values=tuple(options.additional_fields.values()),
        )

    def records(
        self, options: _Options, rows: Iterable[tuple[date, Sequence[Any], Sequence[Any]]], first_index: int
    ) -> list[Record]:
        """The records of `rows` (start date, dimension values, field values), numbered from `first_index`."""
        keys, values, id_values = self.keys, self.values, self.id_values
        base = (options.data_type, *self.additional_values)
        by_default_id = options.id_mapping is None
        data_type_text = py2_unicode(options.data_type) if by_default_id else ""
        encode_id = base64.urlsafe_b64encode
        built = []
        # A period's rows share their start date: its timestamp and id prefix are worked out once in a row.
        last_start: Any = _NOTHING
        timestamp, id_prefix = None, ""
        for index, (start_date, dimension_values, field_values) in enumerate(rows, start=first_index):
            if start_date is not last_start:
                timestamp = _timestamp_of(start_date)
                id_prefix = f"{data_type_text}_{_cached_id_timestamp(timestamp)}" if by_default_id else ""
                last_start = start_date
            record = dict(zip(keys, values((timestamp, *base, *dimension_values, *field_values))))  # noqa: B905
            if by_default_id:
                parts = [id_prefix]
                time_span = record.get("timeSpan")
                if time_span is not None:
                    parts.append(time_span if type(time_span) is str else py2_unicode(time_span))
                parts.extend([text if type(text) is str else _id_text(text) for text in id_values(dimension_values)])
                human = "_".join(parts)
            else:
                human = _mapped_id(record, options, index)
            record["humanId"] = human
            # `value_id`, inlined: this line runs once per record of a backfill.
            record["_id"] = encode_id(human.encode("utf-8", "surrogatepass")).decode("ascii")
            built.append(record)
        return built


_NOTHING: Any = object()


def _tuple_getter(positions: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    # itemgetter gives a bare value for one position and fails for none; the shape needs tuples.
    if len(positions) > 1:
        return itemgetter(*positions)  # type: ignore[return-value]
    if len(positions) == 1:
        position = positions[0]
        return lambda values: (values[position],)
    return lambda values: ()


def _timestamp_of(start_date: date) -> datetime:
    try:
        return _cached_period_start(start_date)
    except TypeError:  # not hashable: period_start says what is wrong with it
        return period_start(start_date)


def _id_text(value: object) -> str:
    """`py2_unicode` of a dimension value, remembering datetimes (a period's rows share a few)."""
    if type(value) is datetime:
        return _cached_datetime_text(value, value.tzinfo, value.fold)
    return py2_unicode(value)


@functools.lru_cache(maxsize=4096)
def _cached_datetime_text(value: datetime, tzinfo: Any, fold: int) -> str:
    # The zone and fold are in the key: equal datetimes can be written with different offsets.
    return py2_unicode(value)


def _build_batch(rows: Iterable[Row], options: _Options, first_index: int) -> list[Record]:
    """The records of `rows` (a `RowBatch`, or any `Row`s), numbered from `first_index`."""
    if isinstance(rows, RowBatch) and not options.multi_values:
        shape = _shape(options, rows.dimension_names, rows.field_names)
        if shape is not None:
            return shape.records(options, rows.rows, first_index)
    return [_build_record(index, row, options) for index, row in enumerate(rows, start=first_index)]


def _shape(options: _Options, dimensions: tuple[str, ...], fields: tuple[str, ...]) -> _Shape | None:
    """The shape of rows with these names; None when too many shapes have been met already."""
    signature = (dimensions, fields)
    shape = options.shapes.get(signature)
    if shape is None:
        if len(options.shapes) >= _MAX_SHAPES:
            # Rows whose keys keep changing gain nothing from shapes, and must not fill memory.
            return None
        shape = options.shapes[signature] = _Shape.of(options, dimensions, fields)
    return shape


def _build_record(index: int, row: Row, options: _Options) -> Record:
    if not options.multi_values:
        dimensions, fields = row.dimensions, row.fields
        shape = _shape(options, tuple(dimensions), tuple(fields))
        if shape is not None:
            values = (row.start_date, tuple(dimensions.values()), tuple(fields.values()))
            return shape.records(options, [values], index)[0]
    # Split values depend on the values themselves, not just on the keys.
    return _build_record_generally(index, row, options, _timestamp_of(row.start_date))


def _merge(sources: Iterable[Mapping[str, Any]]) -> Record:
    """The sources' keys, each in Python 2's order, later sources' values winning."""
    merged: Record = {}
    for source in sources:
        for key in py2_dict_order(source):
            merged[key] = source[key]
    return merged


def _build_record_generally(index: int, row: Row, options: _Options, timestamp: datetime) -> Record:
    base = {"_timestamp": timestamp, "dataType": options.data_type}
    merged = _merge((base, options.additional_fields, row.dimensions, row.fields))
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
        return _mapped_id(record, options, index)
    parts = [py2_unicode(options.data_type), id_timestamp(timestamp)]
    # Looked up after mapping, so a renamed timeSpan drops out of the id, as it did.
    time_span = record.get("timeSpan")
    if time_span is not None:
        parts.append(py2_unicode(time_span))
    parts.extend(py2_unicode(row.dimensions[key]) for key in py2_dict_order(row.dimensions))
    return "_".join(parts)


def _mapped_id(record: Record, options: _Options, index: int) -> str:
    """The id string `idMapping` makes: the named fields' values, run together."""
    assert options.id_mapping is not None
    human = "".join(py2_unicode(record.get(key, "")) for key in options.id_mapping)
    if not human:
        missing = [key for key in options.id_mapping if key not in record]
        raise (ConfigurationError if len(missing) == len(options.id_mapping) else CollectorError)(
            f"idMapping {list(options.id_mapping)!r} gives record {index} an empty _id "
            f"(missing: {missing or 'none'}; record fields: {sorted(record)})"
        )
    return human


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
    if type(raw) is str and raw.isascii() and raw.isdigit():
        return int(raw)  # what GA sends nearly always: ASCII digits, which int() always reads
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
    conversion_order, field_order = _ga_field_orders(tuple(metrics))
    converted = {name: convert_metric(name, metrics[name]) for name in conversion_order}
    fields: dict[str, Any] = {name: converted[name] for name in field_order}
    fields["timeSpan"] = time_span
    return fields


def ga_field_order(names: tuple[str, ...]) -> tuple[str, ...]:
    """The order of a GA row's metrics in its `Row.fields` (before `timeSpan`), as `ga_fields` has it."""
    return _ga_field_orders(names)[1]


@functools.lru_cache(maxsize=1024)
def _ga_field_orders(names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # The two orders `ga_fields` copies the metrics in: the same for every row of a query.
    conversion_order = tuple(py2_dict_order(names))
    return conversion_order, tuple(py2_dict_order(conversion_order))


def gapy_dimensions(names: Iterable[str], values: Iterable[str]) -> dict[str, Any]:
    """A GA row's `Row.dimensions`, as gapy built them: names (as written in the query) zipped
    with the row's values, plus a naive `datetime` from `date` (and `hour`) when there is a
    dimension called exactly `date`."""
    dimensions: dict[str, Any] = dict(zip(names, values, strict=False))
    if "date" in dimensions:
        dimensions["datetime"] = gapy_datetime(dimensions["date"], dimensions.get("hour", _NO_HOUR))
    return dimensions


_NO_HOUR = object()


def gapy_datetime(date_value: Any, hour_value: Any = _NO_HOUR) -> datetime:
    """gapy's naive `datetime` dimension: from `YYYYMMDD`, or `YYYYMMDDHH` with an `hour` dimension."""
    try:
        if hour_value is _NO_HOUR:
            return _parse_gapy_datetime(date_value, "%Y%m%d")
        return _parse_gapy_datetime(date_value + hour_value, "%Y%m%d%H")
    except (TypeError, ValueError):
        hour = "" if hour_value is _NO_HOUR else hour_value
        raise CollectorError(
            f"Google Analytics sent a date dimension that is not YYYYMMDD(+HH): {date_value!r} {hour!r}"
        ) from None


@functools.lru_cache(maxsize=4096)
def _parse_gapy_datetime(text: str, pattern: str) -> datetime:
    # A period's rows share a handful of dates; strptime is slow enough to matter at a million rows.
    return datetime.strptime(text, pattern)
