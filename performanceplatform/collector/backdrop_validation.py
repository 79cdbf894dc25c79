"""Backdrop's record rules, checked on our side before anything is sent.

Backdrop refuses a whole request when one record in it is bad (400 with a list of messages, and
nothing of the request stored), so a push meeting a bad record in its tenth chunk would store nine
chunks and then fail. Checking here turns that into one clear error naming the record and the key,
raised before the chunk that holds it goes out.

The rules are production Backdrop's with the schemas Stagecraft attached to every data set
(`shared/reference/backdrop-write-api.md` §2 and §2.1), applied to each value as the client writes
it (`backdrop.encode_records`): a datetime as its ISO text with an offset (a naive one as UTC), a
date as `YYYY-MM-DD`, a Decimal as the JSON number it spells.

- Keys: once lower-cased, at least two of ASCII letters, digits and `_`, not starting with a digit;
  of the keys starting with `_`, only `_timestamp`, `_start_at`, `_end_at` and `_id`. A key that is
  not a string is refused (JSON would turn it into one silently).
- Values: strings, booleans, null, finite floats, and integers in the signed 64-bit range (Backdrop
  refuses larger ones: MongoDB's BSON has no wider integer). Objects and arrays are refused.
- `_timestamp` is required, and must be an RFC 3339 date-time (`2024-06-01T00:00:00+00:00`): the
  schema of every production data set says so. A date alone (so a Python `date`), a space for the
  `T`, or no offset is refused. It must also be a date Backdrop can convert to UTC.
- `_start_at` and `_end_at` (in no schema) must be strings Backdrop's lenient parser (dateutil)
  reads, which a date's `YYYY-MM-DD` is.
- `_id`: a non-empty string without ASCII whitespace (Backdrop's `\\s` is Python 2's byte-string
  one, so a no-break space is allowed); a date or datetime makes one of its ISO text.
- The data type's own schema (`DATA_TYPE_SCHEMAS`): every Pingdom data set (`monitoring`) requires
  integer `uptime` and `downtime`; every realtime one (`realtime`) a string `for_url` and an integer
  `unique_visitors`. An integral float (`3600.0`) is not an integer, nor is a boolean.

Stagecraft had schemas for five more data types (`appointments`, `customer-satisfaction`, `no-show`,
`transactions-by-channel`, `utilisation`) that no collector here writes; they are not checked.

The Backdrop stand-in (`standins/backdrop.py`) reads the same rules without sharing this code;
`tests/backdrop/test_validation.py` holds the two to the same verdict on generated records.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from operator import attrgetter, itemgetter
from types import MappingProxyType
from typing import Any

from performanceplatform.collector.errors import InvalidRecordError

# Applied to the lower-cased key, as Backdrop does: upper case is accepted and stored as sent.
KEY_PATTERN = re.compile(r"^[a-z_][a-z0-9_]+$")
INTERNAL_FIELDS = ("_timestamp", "_start_at", "_end_at", "_id")
TIMESTAMP_FIELDS = ("_timestamp", "_start_at", "_end_at")
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# The fields each data type's schema (Stagecraft's `schemas/data-types/<type>.json`) requires,
# with the JSON type their values must have. Only data types the collectors write are here.
DATA_TYPE_SCHEMAS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "monitoring": MappingProxyType({"uptime": "integer", "downtime": "integer"}),
    "realtime": MappingProxyType({"for_url": "string", "unique_visitors": "integer"}),
})
_NO_SCHEMA: Mapping[str, str] = MappingProxyType({})
# Keys whose values have rules beyond their type.
_VALUE_RULES = frozenset({*TIMESTAMP_FIELDS, "_id"})
# bool is an int, but listed for the reader. Dates, datetimes and Decimals are written as JSON
# strings and numbers (see the module docstring).
SCALAR_TYPES: tuple[type, ...] = (str, int, float, bool, Decimal, dt.datetime, dt.date)
# Python 2's byte-string `\s`, Backdrop's: ASCII whitespace only.
_WHITESPACE = re.compile(r"\s", re.ASCII)
# RFC 3339 §5.6 `date-time`, read strictly: upper-case `T` and `Z`, an offset required, ASCII digits.
_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:\.[0-9]+)?(?:Z|[+-](?P<offset_hour>[0-9]{2}):(?P<offset_minute>[0-9]{2}))"
)
# The ISO form collectors write (`2013-06-15T22:00:00+00:00`): `datetime.fromisoformat` reads it
# a hundred times faster than dateutil, and dateutil accepts every such string that it accepts.
_ISO_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?([+-]\d\d:\d\d|Z)?", re.ASCII)
# Keys already found valid whose values need no more than a type check (not `_id` or a
# timestamp): a million records have the same dozen keys, so each is checked once. Bounded, so
# records with ever new keys cannot grow it without end.
_PLAIN_KEYS: set[str] = set()
_MAX_PLAIN_KEYS = 10_000
_PLAIN_VALUE_TYPES = frozenset({str, int, bool, type(None), dt.datetime, dt.date})
# Records whose keys are all valid, with a `_timestamp`, one set of keys each (bounded likewise).
_GOOD_KEY_SETS: set[tuple[Any, ...]] = set()
_GLANCE_VALUE_TYPES = frozenset({*_PLAIN_VALUE_TYPES, float})
# Time zones whose datetimes are written with a whole-minute offset that never leaves the calendar
# when converted to UTC: the ones collectors use. Compared by identity (`id`), in C.
_SIMPLE_ZONE_IDS = frozenset({id(None), id(dt.UTC)})
_TIMESTAMP = itemgetter("_timestamp")
_ZONE = attrgetter("tzinfo")
_NUMBER_TYPES = frozenset({int, float})
_COLUMN_NUMBER_TYPES = frozenset({int, float, bool})


@dataclass(frozen=True)
class RecordProblem:
    """The first thing wrong with one record (Backdrop, too, reports only the first per record)."""

    index: int
    key: str | None
    message: str

    def describe(self) -> str:
        where = f"record {self.index} (counting from 0)"
        if self.key is not None:
            where += f": key {self.key!r}"
        return f"{where}: {self.message}"


def record_problem(record: object, data_type: str | None = None) -> tuple[str | None, str] | None:
    """`(key, message)` for the first rule `record` breaks in a data set of `data_type`, or None
    when production Backdrop would accept it."""
    if not isinstance(record, Mapping):
        return None, (
            f"is a {type(record).__name__}, not a dict; Backdrop stores JSON objects only"
        )
    schema = DATA_TYPE_SCHEMAS.get(data_type or "", _NO_SCHEMA)
    for key, value in record.items():
        if (
            key in _PLAIN_KEYS
            and type(value) in _PLAIN_VALUE_TYPES
            and key not in schema
            and (type(value) is not int or INT64_MIN <= value <= INT64_MAX)
        ):
            continue
        problem = _key_problem(key) or _schema_type_problem(key, value, schema, data_type) or _value_problem(key, value)
        if problem is not None:
            return (key if isinstance(key, str) else repr(key)), problem
        if type(key) is str and key not in _VALUE_RULES and len(_PLAIN_KEYS) < _MAX_PLAIN_KEYS:
            _PLAIN_KEYS.add(key)
    if "_timestamp" not in record:
        return "_timestamp", (
            "is missing; Backdrop's schema requires it on every data set and refuses the whole "
            "request without it"
        )
    for name, json_type in schema.items():
        if name not in record:
            return name, (
                f"is missing; every {data_type!r} data set requires {_with_article(json_type)} {name} "
                "(Backdrop's schema refuses the whole request without it)"
            )
    return None


def _with_article(json_type: str) -> str:
    return f"an {json_type}" if json_type[0] in "aeiou" else f"a {json_type}"


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str):
        return f"is a {type(key).__name__}; Backdrop keys are strings"
    return _string_key_problem(key)


@functools.lru_cache(maxsize=4096)
def _string_key_problem(key: str) -> str | None:
    if not KEY_PATTERN.match(key.lower()):
        return (
            "is not a valid key: Backdrop keys are at least 2 characters of letters, digits "
            "and '_', not starting with a digit"
        )
    if key.startswith("_") and key not in INTERNAL_FIELDS:
        return (
            "is not a recognised internal field: the only keys Backdrop accepts starting with "
            f"'_' are {', '.join(INTERNAL_FIELDS)}"
        )
    return None


def _value_problem(key: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, SCALAR_TYPES):
        return (
            f"has an invalid value of type {type(value).__name__}: Backdrop accepts only "
            "strings, numbers, booleans and null (datetimes and dates are sent as strings)"
        )
    if (isinstance(value, Decimal) and not value.is_finite()) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        # json.dumps would write NaN or Infinity, which is not JSON.
        return f"has the value {value}, which JSON cannot represent"
    if _written_as_integer(value) and not isinstance(value, bool) and not INT64_MIN <= int(value) <= INT64_MAX:
        return (
            f"has the value {value}, outside the signed 64-bit range ({INT64_MIN} to "
            f"{INT64_MAX}); Backdrop refuses the whole request for such an integer"
        )
    if key == "_timestamp":
        return _timestamp_problem(value)
    if key in TIMESTAMP_FIELDS:
        return _period_bound_problem(key, value)
    if key == "_id":
        # A date or datetime is written as its ISO text, which makes a good id.
        text = _written(value) if isinstance(value, dt.date) else value
        if not (isinstance(text, str) and text and not _WHITESPACE.search(text)):
            return f"has the value {value!r}: an _id must be a non-empty string without whitespace"
    return None


def _written_as_integer(value: Any) -> bool:
    """Whether `value` goes out as a JSON integer: an int, or a Decimal spelt without a point or
    an exponent (`12` is an integer, `12.0` and `1E+3` are not)."""
    if isinstance(value, int):
        return True
    return isinstance(value, Decimal) and value.is_finite() and not any(c in str(value) for c in ".Ee")


def _written_as_string(value: Any) -> bool:
    return isinstance(value, str | dt.date)  # datetimes are dates


def _schema_type_problem(key: str, value: Any, schema: Mapping[str, str], data_type: str | None) -> str | None:
    json_type = schema.get(key)
    if json_type is None:
        return None
    if json_type == "integer":
        fits = _written_as_integer(value) and not isinstance(value, bool)
    else:
        fits = _written_as_string(value)
    if fits:
        return None
    return (
        f"has the value {value!r}: every {data_type!r} data set requires {_with_article(json_type)} here "
        "(Backdrop's schema)"
    )


def _written(value: dt.date) -> str:
    """A date or datetime as `backdrop.encode_records` writes it."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def _timestamp_problem(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        text = _written(value)
        if not is_rfc3339_date_time(text):
            why = "gives no UTC offset" if value.utcoffset() is None else "has an offset in seconds"
            return (
                f"is a datetime written {text}, which is not an RFC 3339 date-time (its time zone "
                f"{why}): convert it to UTC first"
            )
    elif isinstance(value, dt.date):
        return (
            f"is the date {value.isoformat()}, not a date-time: Backdrop's schema requires an "
            f"RFC 3339 date-time such as {value.isoformat()}T00:00:00+00:00 (give a datetime; a naive "
            "one is taken as UTC)"
        )
    elif isinstance(value, str):
        text = value
        if not is_rfc3339_date_time(text):
            return (
                f"has the value {value!r}, which is not an RFC 3339 date-time such as "
                "2013-04-01T00:00:00+00:00: Backdrop's schema refuses it"
            )
    else:
        return (
            f"has the value {value!r}: it must be a datetime or an RFC 3339 date-time string "
            "such as 2013-04-01T00:00:00+00:00"
        )
    return _unreadable_date(text)


def _period_bound_problem(key: str, value: Any) -> str | None:
    if isinstance(value, dt.date):  # datetimes too
        return _unreadable_date(_written(value))
    if isinstance(value, str):
        return _unreadable_date(value)
    return (
        f"has the value {value!r}: {key} must be a datetime, a date or a date string such as "
        "2013-04-01T00:00:00+00:00"
    )


@functools.lru_cache(maxsize=4096)
def is_rfc3339_date_time(text: str) -> bool:
    """Whether `text` is an RFC 3339 `date-time`, the JSON Schema format Backdrop's schemas give
    `_timestamp`: a real calendar date, hours to 23, minutes to 59, seconds to 60 (a leap second;
    Backdrop's date parser then refuses it), an offset of at most 23:59 or `Z`. Cached: a period's
    records share their timestamps."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return False
    try:
        dt.date.fromisoformat(match["date"])
    except ValueError:
        return False
    offset_fits = match["offset_hour"] is None or (
        int(match["offset_hour"]) <= 23 and int(match["offset_minute"]) <= 59
    )
    return int(match["hour"]) <= 23 and int(match["minute"]) <= 59 and int(match["second"]) <= 60 and offset_fits


def _unreadable_date(text: str) -> str | None:
    """Why Backdrop's lenient parser cannot read `text` as a date it can convert to UTC, or None."""
    try:
        parsed = _fast_iso_timestamp(text)
        if parsed is None:
            # Backdrop parses these leniently with dateutil, so the same parser decides here.
            from dateutil import parser as dateutil_parser

            parsed = dateutil_parser.parse(text)
        if parsed.tzinfo is not None:
            parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return f"is written {text!r}, which is not a date Backdrop can read"
    return None


def _fast_iso_timestamp(value: str) -> dt.datetime | None:
    if not _ISO_TIMESTAMP.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None  # dateutil decides, and says what is wrong


def _valid_at_a_glance(record: dict[Any, Any]) -> bool:
    """True only for a record `record_problem` accepts in a data set without a data-type schema,
    checked the quick way: its keys once per set of keys, its values by type. False means "look
    closer", not "invalid"."""
    keys = tuple(record)
    if keys not in _GOOD_KEY_SETS:
        if len(_GOOD_KEY_SETS) >= _MAX_PLAIN_KEYS or not _good_key_set(keys):
            return False
        _GOOD_KEY_SETS.add(keys)
    values = record.values()
    types = set(map(type, values))
    if not types <= _GLANCE_VALUE_TYPES or not _numbers_fit(values, types):
        return False
    timestamp = record["_timestamp"]
    if type(timestamp) is not dt.datetime or id(timestamp.tzinfo) not in _SIMPLE_ZONE_IDS:
        return False  # a string (its form decides), a date, or an offset to look at
    record_id = record.get("_id", "-")
    return type(record_id) is str and bool(record_id) and not _WHITESPACE.search(record_id)


def _numbers_fit(values: Collection[Any], types: set[type]) -> bool:
    """True when the ints among `values` (whose types are `types`) fit in 64 bits and its floats
    are finite, found in a few C loops; False means "look closer" (a float beyond the 64-bit range
    is fine, but rare enough to take the long way)."""
    if not types & _NUMBER_TYPES:
        return True
    # A column of one chunk's records is often all ints or all floats (bools compare as ints).
    numbers = values if types <= _COLUMN_NUMBER_TYPES else [value for value in values if type(value) in _NUMBER_TYPES]
    if min(numbers) < INT64_MIN or max(numbers) > INT64_MAX:
        return False
    # NaN slips through comparisons, not through a sum (nor does an infinity).
    return math.isfinite(sum(numbers))


def _good_key_set(keys: tuple[Any, ...]) -> bool:
    # `_start_at` and `_end_at` have value rules the glance does not apply.
    return (
        "_timestamp" in keys
        and "_start_at" not in keys
        and "_end_at" not in keys
        and all(_key_problem(key) is None for key in keys)
    )


def _chunk_valid_at_a_glance(records: list[Any]) -> bool:
    """`_valid_at_a_glance` for a whole chunk at once, most of it in C: each set of keys checked
    once, all values' types in one pass, then `_timestamp` and `_id` field by field. A million
    records of one shape pass here at a fraction of the per-record glance's cost."""
    if set(map(type, records)) != {dict}:
        return False
    key_sets = set(map(tuple, records))
    for keys in key_sets:
        if keys not in _GOOD_KEY_SETS:
            if len(_GOOD_KEY_SETS) >= _MAX_PLAIN_KEYS or not _good_key_set(keys):
                return False
            _GOOD_KEY_SETS.add(keys)
    values = list(chain.from_iterable(map(dict.values, records)))
    # Records of one set of keys (the usual chunk) have their values in the same order: each key's
    # column is a slice, mostly of one type, checked in C.
    keys = next(iter(key_sets)) if len(key_sets) == 1 else ()
    width = len(keys)
    columns = [values[start::width] for start in range(width)] if width else [values]
    for column in columns:
        types = set(map(type, column))
        if not types <= _GLANCE_VALUE_TYPES or not _numbers_fit(column, types):
            return False
    timestamps = columns[keys.index("_timestamp")] if width else list(map(_TIMESTAMP, records))
    if set(map(type, timestamps)) != {dt.datetime} or not _SIMPLE_ZONE_IDS.issuperset(map(id, map(_ZONE, timestamps))):
        return False  # strings (their form decides), dates, or offsets to look at
    if width:
        ids = columns[keys.index("_id")] if "_id" in keys else []
    else:
        ids = [record["_id"] for record in records if "_id" in record]
    # Whitespace in one of the ids is whitespace in them all run together.
    return set(map(type, ids)) <= {str} and all(ids) and not _WHITESPACE.search("".join(ids))


def find_problems(
    records: Iterable[object], start_index: int = 0, data_type: str | None = None
) -> list[RecordProblem]:
    """Every invalid record among `records` for a data set of `data_type`, numbered from `start_index`."""
    # A data type with a schema of its own (Pingdom's, realtime's: few records) takes the long way.
    glance = data_type not in DATA_TYPE_SCHEMAS
    if glance and isinstance(records, list) and _chunk_valid_at_a_glance(records):
        return []
    problems = []
    for offset, record in enumerate(records):
        if glance and type(record) is dict and _valid_at_a_glance(record):
            continue
        found = record_problem(record, data_type)
        if found is not None:
            key, message = found
            problems.append(RecordProblem(start_index + offset, key, message))
    return problems


def check_records(records: Iterable[object], start_index: int = 0, *, data_type: str | None = None) -> None:
    """Raise `InvalidRecordError` for the first record a data set of `data_type` would refuse,
    counting the others."""
    problems = find_problems(records, start_index, data_type)
    if not problems:
        return
    first = problems[0]
    message = first.describe()
    if len(problems) > 1:
        others = ", ".join(str(problem.index) for problem in problems[1:6])
        more = "…" if len(problems) > 6 else ""
        message += f" (and {len(problems) - 1} more invalid records: {others}{more})"
    raise InvalidRecordError(message, index=first.index, key=first.key)
