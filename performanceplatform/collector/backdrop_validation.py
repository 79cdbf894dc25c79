"""Backdrop's record rules, checked on our side before anything is sent.

Backdrop rejects a whole request when one record in it is bad (all-or-nothing, 400 with a list of
messages), and a record without `_timestamp` is stored *and then* answered with a 500, which a
client retries. Checking here turns both into one clear error naming the record and the key, raised
before the chunk that holds it goes out.

The rules follow `backdrop/core/validation.py` and `records.py` (see
`shared/reference/backdrop-write-api.md` §2) as they apply to the Python values a collector builds:
datetimes, dates and Decimals are accepted because the client encodes them (see `backdrop.py`).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from typing import Any

from performanceplatform.collector.errors import InvalidRecordError

# Applied to the lower-cased key, as Backdrop does: upper case is accepted and stored as sent.
KEY_PATTERN = re.compile(r"^[a-z_][a-z0-9_]+$")
INTERNAL_FIELDS = ("_timestamp", "_start_at", "_end_at", "_id")
TIMESTAMP_FIELDS = ("_timestamp", "_start_at", "_end_at")
# Keys whose values have rules beyond their type.
_VALUE_RULES = frozenset({*TIMESTAMP_FIELDS, "_id"})
# bool is an int, but listed for the reader. Backdrop stores these as JSON scalars.
SCALAR_TYPES: tuple[type, ...] = (str, int, float, bool, Decimal, dt.datetime, dt.date)
_WHITESPACE = re.compile(r"\s")
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
_DATE_TYPES = frozenset({dt.datetime, dt.date})
_TIMESTAMP = itemgetter("_timestamp")


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


def record_problem(record: object) -> tuple[str | None, str] | None:
    """`(key, message)` for the first rule `record` breaks, or None when Backdrop would accept it."""
    if not isinstance(record, Mapping):
        return None, (
            f"is a {type(record).__name__}, not a dict; Backdrop stores JSON objects only"
        )
    for key, value in record.items():
        if key in _PLAIN_KEYS and type(value) in _PLAIN_VALUE_TYPES:
            continue
        problem = _key_problem(key) or _value_problem(key, value)
        if problem is not None:
            return (key if isinstance(key, str) else repr(key)), problem
        if type(key) is str and key not in _VALUE_RULES and len(_PLAIN_KEYS) < _MAX_PLAIN_KEYS:
            _PLAIN_KEYS.add(key)
    if "_timestamp" not in record:
        # Backdrop's POST /data/<group>/<type> computes the batch's date range from `_timestamp`
        # after storing it: without one, the records are stored and the answer is a 500, which
        # would be retried and (for records without `_id`) stored twice.
        return "_timestamp", (
            "is missing; Backdrop stores such a record and then fails the request with a 500"
        )
    return None


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
            "strings, numbers, booleans, null, datetimes and dates"
        )
    if (isinstance(value, Decimal) and not value.is_finite()) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        # json.dumps would write NaN or Infinity, which is not JSON.
        return f"has the value {value}, which JSON cannot represent"
    if key in TIMESTAMP_FIELDS:
        return _timestamp_problem(value)
    if key == "_id" and not (isinstance(value, str) and value and not _WHITESPACE.search(value)):
        return f"has the value {value!r}: an _id must be a non-empty string without whitespace"
    return None


def _timestamp_problem(value: Any) -> str | None:
    if isinstance(value, dt.date):  # datetime is a date too
        return None
    if not isinstance(value, str):
        return (
            f"has the value {value!r}: it must be a datetime, a date or a date-time string "
            "such as 2013-04-01T00:00:00+00:00"
        )
    try:
        parsed = _fast_iso_timestamp(value)
        if parsed is None:
            # Backdrop parses these leniently with dateutil, so the same parser decides here.
            from dateutil import parser as dateutil_parser

            parsed = dateutil_parser.parse(value)
        if parsed.tzinfo is not None:
            parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return f"has the value {value!r}, which is not a date Backdrop can parse"
    return None


def _valid_at_a_glance(record: dict[Any, Any]) -> bool:
    """True only for a record `record_problem` accepts, checked the quick way: its keys once per
    set of keys, its values by type. False means "look closer", not "invalid"."""
    keys = tuple(record)
    if keys not in _GOOD_KEY_SETS:
        if len(_GOOD_KEY_SETS) >= _MAX_PLAIN_KEYS or not _good_key_set(keys):
            return False
        _GOOD_KEY_SETS.add(keys)
    types = set(map(type, record.values()))
    if not types <= _GLANCE_VALUE_TYPES:
        return False
    if float in types and not all(math.isfinite(value) for value in record.values() if type(value) is float):
        return False
    if type(record["_timestamp"]) not in (dt.datetime, dt.date):
        return False  # a string: dateutil decides
    record_id = record.get("_id", "-")
    return type(record_id) is str and bool(record_id) and not _WHITESPACE.search(record_id)


def _good_key_set(keys: tuple[Any, ...]) -> bool:
    # `_start_at` and `_end_at` have value rules the glance does not apply.
    return (
        "_timestamp" in keys
        and "_start_at" not in keys
        and "_end_at" not in keys
        and all(_key_problem(key) is None for key in keys)
    )


def _fast_iso_timestamp(value: str) -> dt.datetime | None:
    if not _ISO_TIMESTAMP.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None  # dateutil decides, and says what is wrong


def _chunk_valid_at_a_glance(records: list[Any]) -> bool:
    """`_valid_at_a_glance` for a whole chunk at once, most of it in C: each set of keys checked
    once, all values' types in one pass, then `_timestamp` and `_id` field by field. A million
    records of one shape pass here at a fraction of the per-record glance's cost."""
    if set(map(type, records)) != {dict}:
        return False
    for keys in {tuple(record) for record in records}:
        if keys not in _GOOD_KEY_SETS:
            if len(_GOOD_KEY_SETS) >= _MAX_PLAIN_KEYS or not _good_key_set(keys):
                return False
            _GOOD_KEY_SETS.add(keys)
    values = list(chain.from_iterable(map(dict.values, records)))
    types = set(map(type, values))
    if not types <= _GLANCE_VALUE_TYPES:
        return False
    if float in types and not all(math.isfinite(value) for value in values if type(value) is float):
        return False
    if not set(map(type, map(_TIMESTAMP, records))) <= _DATE_TYPES:
        return False  # a string: dateutil decides
    ids = [record["_id"] for record in records if "_id" in record]
    # Whitespace in one of the ids is whitespace in them all run together.
    return set(map(type, ids)) <= {str} and all(ids) and not _WHITESPACE.search("".join(ids))


def find_problems(records: Iterable[object], start_index: int = 0) -> list[RecordProblem]:
    """Every invalid record among `records`, numbered from `start_index`."""
    if isinstance(records, list) and _chunk_valid_at_a_glance(records):
        return []
    problems = []
    for offset, record in enumerate(records):
        if type(record) is dict and _valid_at_a_glance(record):
            continue
        found = record_problem(record)
        if found is not None:
            key, message = found
            problems.append(RecordProblem(start_index + offset, key, message))
    return problems


def check_records(records: Iterable[object], start_index: int = 0) -> None:
    """Raise `InvalidRecordError` for the first invalid record, counting the others."""
    problems = find_problems(records, start_index)
    if not problems:
        return
    first = problems[0]
    message = first.describe()
    if len(problems) > 1:
        others = ", ".join(str(problem.index) for problem in problems[1:6])
        more = "…" if len(problems) > 6 else ""
        message += f" (and {len(problems) - 1} more invalid records: {others}{more})"
    raise InvalidRecordError(message, index=first.index, key=first.key)
