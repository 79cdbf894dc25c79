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
many rows of one shape can hand them over as a `RowBatch`, names once and values per row, so that
no dict is built per row before the record itself; or, as a `SourceBatch`, in the form the source
read them (a GA page's rows: the field values picked from the row's metrics, and a dimension derived
from another), so that the record is the first thing built from a row.
"""

from __future__ import annotations

import functools
from binascii import b2a_base64
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from .errors import CollectorError, ConfigurationError
from .options import MultiValueMapping, Options, parse_options
from .plugins import Plugin, Record, needs_whole_set, run_plugins
from .py2compat import id_timestamp, py2_dict_order, py2_unicode, value_id

__all__ = [
    "Record",
    "Row",
    "RowBatch",
    "SourceBatch",
    "apply_options",
    "build_records",
    "period_start",
    "stream_options",
    "stream_records",
    "value_id",
]

# What the builder accepts as options: typed, or a query file's `options` object, as the original's
# collectors passed it.
OptionsLike = Options | Mapping[str, Any] | None
# Row shapes remembered per run (`_Shape`); a query has one, or a few.
_MAX_SHAPES = 1024


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
class SourceBatch:
    """Rows of one shape as a source read them, for the builder to read without a `RowBatch` in
    between: per row `(start date, anything, dimension values, source values)` (a `GaRows` row:
    its end date, dimension texts and metric numbers).

    A row's dimensions are its dimension values and then, when `derive` is set, one more value,
    `derive(dimension values[derived_from])` (GA: gapy's `datetime` from `date`); `derive` is called
    once per run of equal inputs, for every row before any record is built, so its errors come
    first, as they did when the source built a `RowBatch`. A row's fields are picked by
    `field_sources`: a position in its source values, or `-1 - k` for `constants[k]` (GA: the
    `timeSpan`). Iterating gives the same rows as `Row`s.
    """

    dimension_names: tuple[str, ...]  # the derived dimension's name last, when there is one
    field_names: tuple[str, ...]
    field_sources: tuple[int, ...]
    constants: tuple[Any, ...]
    source_width: int  # source values per row
    rows: Sequence[tuple[date, Any, Sequence[Any], Sequence[Any]]]
    derive: Callable[[Any], Any] | None = None
    derived_from: int = -1

    def __post_init__(self) -> None:
        RowBatch(self.dimension_names, self.field_names, ())  # the same rule on names
        if len(self.field_sources) != len(self.field_names):
            raise ValueError("a SourceBatch needs a source for each field")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        for (start_date, _, dimension_values, source_values), derived in zip(
            self.rows, self.derived_values(), strict=True
        ):
            fields = [self._field(source_values, at) for at in self.field_sources]
            yield Row(
                start_date,
                dict(zip(self.dimension_names, [*dimension_values, *derived], strict=True)),
                dict(zip(self.field_names, fields, strict=True)),
            )

    def derived_values(self) -> list[tuple[Any, ...]]:
        """Each row's derived dimension value, as a tuple of one (none without `derive`)."""
        if self.derive is None:
            return [()] * len(self.rows)
        derive, at = self.derive, self.derived_from
        derived: list[tuple[Any, ...]] = []
        append = derived.append
        last_input: Any = _NOTHING
        value: tuple[Any, ...] = ()
        for row in self.rows:
            given = row[2][at]
            # Rows of a period mostly share the input (GA: the date); an equal input derives an equal value.
            if given is not last_input and given != last_input:
                value = (derive(given),)
                last_input = given
            append(value)
        return derived

    def source_at(self, field: int) -> int:
        """Where the `field`th field's value is among a row's source values followed by the constants."""
        at = self.field_sources[field]
        return at if at >= 0 else self.source_width - 1 - at

    def _field(self, source_values: Sequence[Any], at: int) -> Any:
        return source_values[at] if at >= 0 else self.constants[-1 - at]


@dataclass(frozen=True)
class _Build:
    """What building a run's records needs: its options, the records' `dataType`, and the key
    orders worked out per row shape (see `_Shape`), filled as shapes are met."""

    options: Options
    data_type: Any
    shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], _Shape] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, options: Options, data_type: str | None) -> _Build:
        chosen = options.data_type if options.data_type is not None else data_type
        if chosen is None:
            raise ConfigurationError(
                "no data type: the data-set has no data-type and options.dataType is not set",
                key="dataType",
            )
        return cls(options, chosen)

    @property
    def mappings(self) -> Mapping[str, str]:
        return self.options.mappings

    @property
    def multi_values(self) -> tuple[MultiValueMapping, ...]:
        return self.options.multi_values

    @property
    def id_mapping(self) -> tuple[str, ...] | None:
        return self.options.id_mapping

    @property
    def additional_fields(self) -> Mapping[str, Any]:
        return self.options.additional_fields


def build_records(rows: Iterable[Row], options: OptionsLike, data_type: str | None) -> list[Record]:
    """The records for `rows`, as the original's `DataParser(rows, options, data_type)` made
    them (`options.dataType` overrides `data_type`)."""
    options = as_options(options)
    build = _Build.of(options, data_type)
    return run_plugins(options.plugins, _build_batch(rows, build, 0))


def stream_records(
    batches: Iterable[Iterable[Row]], options: OptionsLike, data_type: str | None
) -> Iterator[Record]:
    """`build_records` of all the batches' rows, built and yielded a batch (a period) at a time.

    Only for options whose plugins work record by record (not `options.whole_set_first`'s).
    """
    options = as_options(options)
    build = _Build.of(options, data_type)
    _require_record_by_record(options.plugins)
    return _streamed_records(batches, build)


def apply_options(records: Iterable[Record], options: OptionsLike) -> list[Record]:
    """`additionalFields` under each record's own fields, then the plugins, for collectors that
    build records themselves (Pingdom, realtime). The caller's records are not modified."""
    options = as_options(options)
    if not options.changes_records:
        return list(records)
    additional = options.additional_fields
    return run_plugins(options.plugins, [{**additional, **record} for record in records])


def stream_options(batches: Iterable[Iterable[Record]], options: OptionsLike) -> Iterator[Record]:
    """`apply_options` of all the batches' records, a batch at a time (see `stream_records`)."""
    options = as_options(options)
    _require_record_by_record(options.plugins)
    return _streamed_options(batches, options)


def as_options(options: OptionsLike) -> Options:
    """Typed options, from a query file's `options` object (a contributed collector's) or as they are."""
    if isinstance(options, Options):
        return options
    return parse_options(options)


def _require_record_by_record(plugins: Sequence[Plugin]) -> None:
    if needs_whole_set(plugins):
        raise ValueError("a plugin needs the whole set of records: build them with build_records")


def _streamed_records(batches: Iterable[Iterable[Row]], build: _Build) -> Iterator[Record]:
    index = 0
    for batch in batches:
        records = _build_batch(batch, build, index)
        yield from run_plugins(build.options.plugins, records, index)
        index += len(records)


def _streamed_options(batches: Iterable[Iterable[Record]], options: Options) -> Iterator[Record]:
    index = 0
    additional = options.additional_fields
    for batch in batches:
        records = [{**additional, **record} for record in batch] if options.changes_records else list(batch)
        yield from run_plugins(options.plugins, records, index)
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
    positions: tuple[int, ...]  # where each key's value is in the flat tuple
    values: Callable[[tuple[Any, ...]], tuple[Any, ...]]  # the record's values from the flat tuple
    id_values: Callable[[Sequence[Any]], tuple[Any, ...]]  # the default id's, from the dimension values
    additional_values: tuple[Any, ...]

    @classmethod
    def of(cls, options: _Build, dimensions: tuple[str, ...], fields: tuple[str, ...]) -> _Shape:
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
            positions=tuple(positions),
            values=tuple_getter(positions),
            id_values=tuple_getter(id_positions),
            additional_values=tuple(options.additional_fields.values()),
        )

    def records(
        self, options: _Build, rows: Iterable[tuple[date, Sequence[Any], Sequence[Any]]], first_index: int
    ) -> list[Record]:
        """The records of `rows` (start date, dimension values, field values), numbered from `first_index`."""
        keys, values, id_values = self.keys, self.values, self.id_values
        base = (options.data_type, *self.additional_values)
        by_default_id = options.id_mapping is None
        data_type_text = py2_unicode(options.data_type) if by_default_id else ""
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
                human = self._default_id(id_prefix, record.get("timeSpan"), id_values(dimension_values))
            else:
                human = _mapped_id(record, options, index)
            record["humanId"] = human
            record["_id"] = _urlsafe_id(human)
            built.append(record)
        return built

    def source_records(self, options: _Build, batch: SourceBatch, first_index: int) -> list[Record]:
        """`records` of the rows of `batch`, read as the source read them: the same records,
        built by the same steps, with the shape's positions moved to where the batch has each value."""
        # The flat tuple here: `_timestamp`, `dataType` and the additionalFields' values, the
        # dimension values (the derived one last, as in the shape's), the source values, the constants.
        fields_at = 2 + len(self.additional_values) + len(batch.dimension_names)
        moved = [at if at < fields_at else fields_at + batch.source_at(at - fields_at) for at in self.positions]
        values, keys, id_values = tuple_getter(moved), self.keys, self.id_values
        base = (options.data_type, *self.additional_values)
        constants = batch.constants
        by_default_id = options.id_mapping is None
        data_type_text = py2_unicode(options.data_type) if by_default_id else ""
        # The derived values first (their errors before any record's, as a RowBatch had them).
        derived_values = batch.derived_values()
        built = []
        append = built.append
        last_start: Any = _NOTHING
        last_derived: Any = _NOTHING
        timestamp, id_prefix, derived_text = None, "", ()
        for index, (start_date, _, dimension_values, source_values), derived in zip(
            range(first_index, first_index + len(batch.rows)), batch.rows, derived_values, strict=True
        ):
            if start_date is not last_start:
                timestamp = _timestamp_of(start_date)
                id_prefix = f"{data_type_text}_{_cached_id_timestamp(timestamp)}" if by_default_id else ""
                last_start = start_date
            flat = (timestamp, *base, *dimension_values, *derived, *source_values, *constants)
            record = dict(zip(keys, values(flat)))  # noqa: B905
            if by_default_id:
                time_span = record.get("timeSpan")
                if derived is not last_derived:
                    # What the id writes for the derived value: a period's rows share a few.
                    try:
                        derived_text = tuple(text if type(text) is str else _id_text(text) for text in derived)
                    except CollectorError:  # said below, after what the id writes before it
                        derived_text = derived
                    last_derived = derived
                try:
                    dimension_texts = id_values((*dimension_values, *derived_text))
                    human = "_".join(
                        (id_prefix, *dimension_texts) if time_span is None
                        else (id_prefix, time_span, *dimension_texts) if type(time_span) is str
                        else (id_prefix, py2_unicode(time_span), *dimension_texts)
                    )
                except TypeError:  # a dimension value that is not text: `records` writes it, or says why not
                    human = self._default_id(id_prefix, time_span, id_values((*dimension_values, *derived)))
            else:
                human = _mapped_id(record, options, index)
            record["humanId"] = human
            record["_id"] = _urlsafe_id(human)
            append(record)
        return built

    @staticmethod
    def _default_id(id_prefix: str, time_span: Any, dimension_values: Sequence[Any]) -> str:
        parts = [id_prefix]
        if time_span is not None:
            parts.append(time_span if type(time_span) is str else py2_unicode(time_span))
        parts.extend([text if type(text) is str else _id_text(text) for text in dimension_values])
        return "_".join(parts)


def _urlsafe_id(human: str) -> str:
    """`value_id` of a humanId, without base64's two Python calls: this runs once per record."""
    return b2a_base64(human.encode("utf-8", "surrogatepass"), newline=False).translate(_URLSAFE).decode("ascii")


_NOTHING: Any = object()
# What `base64.urlsafe_b64encode` changes in standard base64.
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def tuple_getter(positions: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The values at `positions`, as a tuple, read in C where it can be.

    itemgetter gives a bare value for one position and fails for none; shapes need tuples.
    """
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


def _build_batch(rows: Iterable[Row], options: _Build, first_index: int) -> list[Record]:
    """The records of `rows` (a `RowBatch`, a `SourceBatch`, or any `Row`s), numbered from `first_index`."""
    if isinstance(rows, RowBatch | SourceBatch) and not options.multi_values:
        shape = _shape(options, rows.dimension_names, rows.field_names)
        if shape is not None:
            if isinstance(rows, SourceBatch):
                return shape.source_records(options, rows, first_index)
            return shape.records(options, rows.rows, first_index)
    return [_build_record(index, row, options) for index, row in enumerate(rows, start=first_index)]


def _shape(options: _Build, dimensions: tuple[str, ...], fields: tuple[str, ...]) -> _Shape | None:
    """The shape of rows with these names; None when too many shapes have been met already."""
    signature = (dimensions, fields)
    shape = options.shapes.get(signature)
    if shape is None:
        if len(options.shapes) >= _MAX_SHAPES:
            # Rows whose keys keep changing gain nothing from shapes, and must not fill memory.
            return None
        shape = options.shapes[signature] = _Shape.of(options, dimensions, fields)
    return shape


def _build_record(index: int, row: Row, options: _Build) -> Record:
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


def _build_record_generally(index: int, row: Row, options: _Build, timestamp: datetime) -> Record:
    base = {"_timestamp": timestamp, "dataType": options.data_type}
    merged = _merge((base, options.additional_fields, row.dimensions, row.fields))
    record = _apply_mappings(merged, options, index)
    human = _id_string(record, row, timestamp, options, index)
    record["humanId"] = human
    record["_id"] = value_id(human)[0]
    return record


def _apply_mappings(merged: Record, options: _Build, index: int) -> Record:
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
    record: Record, row: Row, timestamp: datetime, options: _Build, index: int
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


def _mapped_id(record: Record, options: _Build, index: int) -> str:
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
