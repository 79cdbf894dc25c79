"""A stand-in for Backdrop's write API (plus a raw read of what landed).

It reproduces the contract in `shared/reference/backdrop-write-api.md` §1-2: the order of checks
(data set, then token, then body), per-data-set bearer tokens, the exact status codes and error
bodies (including their two shapes, `message` and `messages`), gzip bodies with the limit of
exactly 10,485,760 decompressed bytes (one more is 413), Backdrop's record rules with their exact
messages, errors collected across all the records of a request, all-or-nothing batches, upsert by
`_id`, and lenient timestamps stored as UTC ISO strings.

Every data set has, by default, the schema Stagecraft attached to every production data set (§2.1):
`_timestamp` required, a string in JSON Schema's `date-time` format (RFC 3339, read strictly:
`2024-06-01T00:00:00+00:00`, upper-case `T` and `Z`, an offset required); plus, for data types
`monitoring` and `realtime`, their own (required integer `uptime` and `downtime`; required string
`for_url` and integer `unique_visitors`). Its messages are jsonschema's under Python 2, with
Python 2's reprs: `"u'_timestamp' is a required property"`, `"'2024-06-01' is not a u'date-time'"`,
`"3600.0 is not of type u'integer'"` (a record's schema messages come in the order of the schema's
properties, then its required names; real Backdrop's followed Python 2's dict order). A data set
added with `production_schema=False` has none, and keeps the observed quirk of that case: a batch
with a record lacking `_timestamp` is stored and then answered with a 500.

Beyond the schema, as observed on production Backdrop: an integer outside the signed 64-bit range
is `"<key> has an invalid value"` (Python 2 reads it as a `long`, which Backdrop's value check does
not list), and `_id`'s "no whitespace" is Python 2's byte-string `\\s`: ASCII whitespace only, so a
no-break space is accepted.

It deliberately does not share code with the client's own validation (`backdrop_validation`): the
two are independent readings of the same rules, so tests of one against the other can catch a
mistake in either.

Not reproduced: the schemas of the data types no collector writes (`appointments`,
`customer-satisfaction`, `no-show`, `transactions-by-channel`, `utilisation`), `auto_ids`,
transforms, DELETE/PATCH of single records, the deprecated `/<data_set_name>` routes and the read
API's query parameters.

For offline work (`python -m performanceplatform.collector.standins`) two things real Backdrop
does not do: `database` keeps the data sets and records in a SQLite file, so what a contributor
collected survives a restart; and `open_tokens` creates a data set on its first write when the
request carries one of those tokens, so a new query file needs no set-up (Stagecraft's job).
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import functools
import itertools
import json
import re
import sqlite3
import uuid
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dateutil import parser as dateutil_parser

from performanceplatform.collector import exact_json
from performanceplatform.collector.standins.server import (
    Fault,
    RecordedRequest,
    Response,
    StandIn,
    route,
)

MAX_DECOMPRESSED_BODY = 10 * 1024 * 1024
VALID_KEY = re.compile(r"^[a-z_][a-z0-9_]+$")
RESERVED_KEYWORDS = ("_timestamp", "_start_at", "_end_at", "_id")
TIMESTAMP_FIELDS = ("_timestamp", "_start_at", "_end_at")
ISO_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?([+-]\d\d:\d\d|Z)?", re.ASCII)
# What Python 2 (on 64 bits) reads a JSON integer into: an `int` within this range, a `long` beyond.
PY2_INT_RANGE = range(-(2**63), 2**63)
# RFC 3339 §5.6 `date-time`; the numbers' ranges are checked by `_is_date_time`.
DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(?:Z|[+-]([0-9]{2}):([0-9]{2}))"
)
# Added by Backdrop to every stored record; not part of what the client sent.
PERIOD_FIELDS = (
    "_hour_start_at",
    "_day_start_at",
    "_week_start_at",
    "_month_start_at",
    "_quarter_start_at",
    "_year_start_at",
)
ADDED_FIELDS = ("_updated_at", *PERIOD_FIELDS)

DATA_PATH = r"/data/(?P<group>[^/]+)/(?P<data_type>[^/]+)"
NO_CACHE = {"Cache-Control": "no-cache"}
MISSING_HEADER_MESSAGE = "Expected header of form: Authorization: Bearer <token>"
CONTENT_TYPE_MESSAGE = "ValidationError('Expected header: Content-type: application/json',)"
ZERO_BYTES_MESSAGE = "Expected JSON request body but received zero bytes."
PUT_NOT_EMPTY_MESSAGE = "Not implemented: you can only pass an empty JSON list"
# Werkzeug's page: Backdrop registers no JSON handler for 413.
REQUEST_TOO_LARGE_PAGE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
    "<title>413 Request Entity Too Large</title>\n"
    "<h1>Request Entity Too Large</h1>\n"
    "<p>The data value transmitted exceeds the capacity limit.</p>\n"
)


@dataclass(frozen=True)
class SchemaPart:
    """One of the JSON schemas a data set's schema combines (`allOf`), as far as they go: typed
    properties (name, JSON type, format or None) and required names."""

    properties: tuple[tuple[str, str, str | None], ...]
    required: tuple[str, ...]


# Stagecraft's `schemas/timestamp.json`, in every data set's schema.
TIMESTAMP_SCHEMA = SchemaPart((("_timestamp", "string", "date-time"),), ("_timestamp",))
# Stagecraft's `schemas/data-types/<type>.json` for the data types collectors write.
DATA_TYPE_SCHEMAS: Mapping[str, SchemaPart] = {
    "monitoring": SchemaPart((("downtime", "integer", None), ("uptime", "integer", None)), ("uptime", "downtime")),
    "realtime": SchemaPart(
        (("for_url", "string", None), ("unique_visitors", "integer", None)), ("for_url", "unique_visitors")
    ),
}


@dataclass
class DataSetState:
    group: str
    data_type: str
    name: str
    # None reproduces a Stagecraft config with no `bearer_token` key (Backdrop answers 500).
    token: str | None
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every production data set had one; False gives a data set without a schema.
    production_schema: bool = True

    def schema(self) -> tuple[SchemaPart, ...]:
        """The parts of the data set's schema, in the order its `allOf` lists them (none without one)."""
        if not self.production_schema:
            return ()
        own = DATA_TYPE_SCHEMAS.get(self.data_type)
        return (TIMESTAMP_SCHEMA,) if own is None else (TIMESTAMP_SCHEMA, own)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"status": "error", "message": message}, {**NO_CACHE, **(headers or {})})


def _internal_error(exception: BaseException) -> Response:
    return _error(500, f"Internal Server Error: {exception!r}")


class _Rejected(Exception):
    """A request answered before its records are looked at; carries the answer."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


class _Database:
    """The data sets and records in a SQLite file, written through on every change.

    Memory stays the stand-in's working copy (the checks read it); the file only makes it last.
    Records keep the order they were first stored in (the row id survives an upsert).
    """

    def __init__(self, path: str | Path):
        # Requests are served from several threads; the stand-in's lock serialises every use.
        self.connection = sqlite3.connect(str(path), check_same_thread=False)
        with self.connection:
            self.connection.executescript(
                """
                CREATE TABLE IF NOT EXISTS data_sets (
                    data_group TEXT NOT NULL, data_type TEXT NOT NULL, name TEXT NOT NULL, token TEXT,
                    PRIMARY KEY (data_group, data_type));
                CREATE TABLE IF NOT EXISTS records (
                    data_group TEXT NOT NULL, data_type TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL,
                    PRIMARY KEY (data_group, data_type, id));
                """
            )
            columns = {row[1] for row in self.connection.execute("PRAGMA table_info(data_sets)")}
            if "production_schema" not in columns:
                # A file written before data sets had schemas: theirs are on, as production's were.
                self.connection.execute(
                    "ALTER TABLE data_sets ADD COLUMN production_schema INTEGER NOT NULL DEFAULT 1"
                )

    def load(self) -> list[DataSetState]:
        states = {}
        for group, data_type, name, token, production_schema in self.connection.execute(
            "SELECT data_group, data_type, name, token, production_schema FROM data_sets"
        ):
            states[(group, data_type)] = DataSetState(
                group, data_type, name, token, production_schema=bool(production_schema)
            )
        for group, data_type, record_id, text in self.connection.execute(
            "SELECT data_group, data_type, id, record FROM records ORDER BY rowid"
        ):
            state = states.get((group, data_type))
            if state is not None:
                state.records[record_id] = json.loads(text)
        return list(states.values())

    def save_data_set(self, state: DataSetState) -> None:
        with self.connection:
            self.connection.execute(
                "INSERT INTO data_sets (data_group, data_type, name, token, production_schema) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (data_group, data_type) DO UPDATE SET "
                "name = excluded.name, token = excluded.token, production_schema = excluded.production_schema",
                (state.group, state.data_type, state.name, state.token, int(state.production_schema)),
            )
            # A data set configured again starts empty, as the in-memory one does.
            self.connection.execute(
                "DELETE FROM records WHERE data_group = ? AND data_type = ?", (state.group, state.data_type)
            )

    def save_records(self, state: DataSetState, records: Iterable[dict[str, Any]]) -> None:
        with self.connection:
            self.connection.executemany(
                "INSERT INTO records VALUES (?, ?, ?, ?) ON CONFLICT (data_group, data_type, id) "
                "DO UPDATE SET record = excluded.record",
                [
                    (state.group, state.data_type, record["_id"], json.dumps(record, default=str))
                    for record in records
                ],
            )

    def empty(self, state: DataSetState) -> None:
        with self.connection:
            self.connection.execute(
                "DELETE FROM records WHERE data_group = ? AND data_type = ?", (state.group, state.data_type)
            )

    def clear(self) -> None:
        with self.connection:
            self.connection.execute("DELETE FROM records")
            self.connection.execute("DELETE FROM data_sets")

    def close(self) -> None:
        self.connection.close()


class BackdropStandIn(StandIn):
    name = "backdrop"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        database: str | Path | None = None,
        open_tokens: Iterable[str] = (),
    ):
        """`database`: a SQLite file to keep data sets and records in (loaded if it exists).
        `open_tokens`: a write to a data set nobody configured creates it, with the request's
        bearer token, when that token is one of these."""
        super().__init__(host, port)
        self._data_sets: dict[tuple[str, str], DataSetState] = {}
        # Benchmarks push a million records: with `store_records` off they are checked as
        # Backdrop checks them and counted (`received_records`), but not kept.
        self.store_records = True
        self.received_records = 0
        # A benchmark comparing two million-record pushes turns this on (a dict): what each `_id`
        # would hold, as a hash of the record, the last record with an `_id` winning, as stored.
        self.record_digests: dict[str, int] | None = None
        self.open_tokens = frozenset(open_tokens)
        self.database_path = Path(database) if database is not None else None
        self._database = _Database(self.database_path) if self.database_path is not None else None
        if self._database is not None:
            for state in self._database.load():
                self._data_sets[(state.group, state.data_type)] = state

    def start(self) -> BackdropStandIn:
        with self._lock:
            if self.database_path is not None and self._database is None:
                # Stopped and started again: memory still holds everything; reconnect to keep writing.
                self._database = _Database(self.database_path)
        super().start()
        return self

    def stop(self) -> None:
        super().stop()
        with self._lock:
            if self._database is not None:
                self._database.close()
                self._database = None

    # Set-up and inspection -----------------------------------------------------------------------

    def add_data_set(
        self,
        group: str,
        data_type: str,
        token: str | None,
        *,
        name: str | None = None,
        production_schema: bool = True,
    ) -> DataSetState:
        """Configure a data set, as Stagecraft would; `name` defaults to `<group>_<type>`.

        `production_schema`: the schema every production data set had (see the module docstring);
        False for a data set without one.
        """
        state = DataSetState(
            group,
            data_type,
            name or f"{group}_{data_type}".replace("-", "_"),
            token,
            production_schema=production_schema,
        )
        with self._lock:
            self._data_sets[(group, data_type)] = state
            if self._database is not None:
                self._database.save_data_set(state)
        return state

    def data_sets(self) -> list[tuple[str, str]]:
        """(group, type) of every configured data set, in the order they were added."""
        with self._lock:
            return list(self._data_sets)

    def reset(self) -> None:
        """Forget every data set, stored record, recorded request and pending fault.

        Lets one running server serve many tests: starting and stopping one costs half a second.
        """
        with self._lock:
            self._data_sets.clear()
            self.requests.clear()
            self.latency = 0.0
            self.store_records = True
            self.received_records = 0
            self.record_digests = None
            # The most requests seen at once is a test's to read: one test's must not reach the next.
            self.max_in_flight = 0
            if self._database is not None:
                self._database.clear()
        self.clear_faults()

    def data_url(self, group: str, data_type: str) -> str:
        """The URL a client posts to: `<base>/data/<group>/<type>`."""
        return f"{self.url}/data/{group}/{data_type}"

    def records(
        self, group: str, data_type: str, *, with_added_fields: bool = False
    ) -> list[dict[str, Any]]:
        """Copies of the stored records, in the order first stored.

        Timestamps are as Backdrop stores them (UTC ISO strings) and every record has an `_id`.
        The fields Backdrop adds itself (`_updated_at`, `_day_start_at`, …) are left out unless
        `with_added_fields` is set.
        """
        with self._lock:
            stored = list(self._state(group, data_type).records.values())
            result = copy.deepcopy(stored)
        if not with_added_fields:
            for record in result:
                for name in ADDED_FIELDS:
                    record.pop(name, None)
        return result

    def record(self, group: str, data_type: str, record_id: str) -> dict[str, Any] | None:
        """The stored record with `_id` `record_id` (without added fields), or None."""
        for record in self.records(group, data_type):
            if record["_id"] == record_id:
                return record
        return None

    def store(self, group: str, data_type: str, records: list[dict[str, Any]]) -> None:
        """Put records straight into a data set (test set-up), bypassing validation."""
        with self._lock:
            state = self._state(group, data_type)
            stored = []
            for record in records:
                record = dict(record)
                record_id = record.setdefault("_id", str(uuid.uuid4()))
                state.records[record_id] = record
                stored.append(record)
            if self._database is not None:
                self._database.save_records(state, stored)

    def _state(self, group: str, data_type: str) -> DataSetState:
        try:
            return self._data_sets[(group, data_type)]
        except KeyError:
            raise KeyError(f"no data set {group}/{data_type} configured") from None

    # Routes --------------------------------------------------------------------------------------

    @route("GET", "/_status")
    def status(self, request: RecordedRequest) -> Response:
        return Response(200, {"status": "ok", "message": "app is up"})

    @route("POST", DATA_PATH)
    def post_records(self, request: RecordedRequest, group: str, data_type: str) -> Response:
        try:
            state = self._authorised(request, group, data_type)
            data = self._json_body(request)
        except _Rejected as rejected:
            return rejected.response
        if isinstance(data, dict):
            data = [data]
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item, dict):
                # Backdrop calls .iteritems() on each record and fails with an uncaught error.
                return _internal_error(
                    AttributeError(f"'{type(item).__name__}' object has no attribute 'iteritems'")
                )
        # json.loads made these dicts and nothing else holds them: they are parsed in place.
        records: list[dict[str, Any]] = data
        schema = state.schema()
        # The quick checks look at each set of keys once (a batch mostly has one).
        key_sets = {tuple(record) for record in records}
        # In Backdrop's order: the schema (on the values as sent), then timestamps, then the rules.
        errors = _schema_messages(records, schema, key_sets) if schema else []
        errors += self._parse_timestamps(records)
        if not _plainly_valid(records, key_sets):
            errors.extend(problem for record in records if (problem := _record_problem(record)) is not None)
        if errors:
            # All or nothing: one bad record and none of the request is stored.
            return Response(400, {"messages": errors}, dict(NO_CACHE))
        now = dt.datetime.now(dt.UTC).isoformat()
        with self._lock:
            self.received_records += len(records)
            if self.record_digests is not None:
                for record in records:
                    if "_id" in record:
                        self.record_digests[record["_id"]] = hash(frozenset(record.items()))
            landed = []
            for record in records if self.store_records else []:
                record_id = record.setdefault("_id", str(uuid.uuid4()))
                record["_updated_at"] = now
                if isinstance(record.get("_timestamp"), dt.datetime):
                    record.update(_period_fields(record["_timestamp"]))
                stored = {
                    key: value.isoformat() if isinstance(value, dt.datetime) else value
                    for key, value in record.items()
                }
                # Upsert: the whole record is replaced; in a batch the last one with an _id wins.
                state.records[record_id] = stored
                landed.append(stored)
            if self._database is not None:
                self._database.save_records(state, landed)
        if records and any("_timestamp" not in record for record in records):
            # Observed quirk of a data set without a schema (a schema refuses such a record first):
            # the records are stored, then the batch's date range (for the transforms) fails on
            # the missing key.
            return _internal_error(KeyError("_timestamp"))
        return Response(200, {"status": "ok"}, dict(NO_CACHE))

    @route("PUT", DATA_PATH)
    def put_records(self, request: RecordedRequest, group: str, data_type: str) -> Response:
        try:
            state = self._authorised(request, group, data_type)
            data = self._json_body(request)
        except _Rejected as rejected:
            return rejected.response
        if data != []:
            return _error(400, PUT_NOT_EMPTY_MESSAGE)
        with self._lock:
            state.records.clear()
            if self._database is not None:
                self._database.empty(state)
        return Response(
            200, {"status": "ok", "message": f"{state.name} now contains 0 records"}, dict(NO_CACHE)
        )

    @route("GET", DATA_PATH)
    def get_records(self, request: RecordedRequest, group: str, data_type: str) -> Response:
        # The read API's raw query (no parameters): everything stored, with the added fields.
        with self._lock:
            state = self._data_sets.get((group, data_type))
            if state is None:
                return Response(404, {"status": "error", "message": "data_set not found"})
            data = copy.deepcopy(list(state.records.values()))
        return Response(
            200,
            {"data": data},
            {"Cache-Control": "max-age=1800", "Access-Control-Allow-Origin": "*"},
        )

    def fault_response(self, fault: Fault, request: RecordedRequest) -> Response:
        response = super().fault_response(fault, request)
        headers = {**NO_CACHE, **response.headers}
        if fault.status == 401:
            headers.setdefault("WWW-Authenticate", "bearer")
        return Response(response.status, response.body, headers)

    # Checks, in Backdrop's order ----------------------------------------------------------------

    def _authorised(self, request: RecordedRequest, group: str, data_type: str) -> DataSetState:
        header = request.header("Authorization")
        with self._lock:
            state = self._data_sets.get((group, data_type))
            offered = header[len("Bearer ") :] if header and header.startswith("Bearer ") else None
            if state is None and offered in self.open_tokens:
                state = self.add_data_set(group, data_type, offered)
        if state is None:
            # Looked up before the token is checked: an unknown data set is 404 even without one.
            raise _Rejected(_error(404, "Could not find data_set_config"))
        if header is None:
            raise _Rejected(_error(401, MISSING_HEADER_MESSAGE, {"WWW-Authenticate": "bearer"}))
        if state.token is None:
            raise _Rejected(_internal_error(KeyError("bearer_token")))
        # Exactly "Bearer <token>": case-sensitive prefix, one space, plain string equality.
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        if token != state.token:
            raise _Rejected(
                _error(
                    401,
                    f"Unauthorized: Invalid bearer token '{token}' for '{state.name}'",
                    {"WWW-Authenticate": "bearer"},
                )
            )
        return state

    def _json_body(self, request: RecordedRequest) -> Any:
        body = self._decompressed(request)
        if not body:
            raise _Rejected(_error(400, ZERO_BYTES_MESSAGE))
        content_type = request.header("Content-Type") or ""
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise _Rejected(Response(400, {"messages": [CONTENT_TYPE_MESSAGE]}, dict(NO_CACHE)))
        try:
            return exact_json.loads(body)
        except ValueError as error:
            raise _Rejected(_error(400, f'Error parsing JSON: "{error}"')) from None

    @staticmethod
    def _decompressed(request: RecordedRequest) -> bytes:
        # Only gzip is understood, found anywhere in the lower-cased header; anything else (deflate)
        # reaches the JSON parser as it is. Decompressed here from the raw bytes, with Backdrop's
        # limit, rather than taken from the framework's unbounded `.body`.
        if "gzip" not in (request.header("Content-Encoding") or "").lower():
            return request.raw_body
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = decompressor.decompress(request.raw_body, MAX_DECOMPRESSED_BODY + 1)
        except zlib.error as error:
            raise _Rejected(_internal_error(OSError(f"Not a gzipped file ({error})"))) from None
        if len(body) > MAX_DECOMPRESSED_BODY:
            raise _Rejected(
                Response(413, REQUEST_TOO_LARGE_PAGE, {"Content-Type": "text/html; charset=utf-8"})
            )
        return body

    @staticmethod
    def _parse_timestamps(records: list[dict[str, Any]]) -> list[str]:
        """Parse timestamp fields in place, leniently, to UTC; the errors, across all records."""
        errors = []
        for record in records:
            for name in TIMESTAMP_FIELDS:
                if name not in record:
                    continue
                value = record[name]
                try:
                    if not isinstance(value, str):
                        raise TypeError(f"cannot parse a {type(value).__name__}")
                    parsed = _utc_iso_timestamp(value)
                    if parsed is None:
                        parsed = dateutil_parser.parse(value)
                        if parsed.tzinfo is None:
                            parsed = parsed.replace(tzinfo=dt.UTC)
                        parsed = parsed.astimezone(dt.UTC)
                    record[name] = parsed
                except TypeError:
                    errors.append(f"the {name} must be a date in the format yyyy-MM-ddT00:00:00Z")
                except (ValueError, OverflowError):
                    errors.append(f"{value} in the {name} field is not a valid date")
        return errors


@functools.lru_cache(maxsize=4096)
def _utc_iso_timestamp(value: str) -> dt.datetime | None:
    """`value` in the common ISO form, in UTC (no zone read as UTC); None for any other form.

    Cached: the records of a batch mostly share their timestamps, and a datetime is immutable.
    (dateutil's answers are not cached: one without a date is on the day it is parsed.)
    """
    parsed = _iso_timestamp(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _iso_timestamp(value: str) -> dt.datetime | None:
    """The common ISO form read without dateutil (a hundred times faster, the same answer); None
    for anything else, which dateutil reads as Backdrop does."""
    if not ISO_TIMESTAMP.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _record_problem(record: dict[str, Any]) -> str | None:
    """Backdrop's `validate_record_data`: the first rule the record breaks, in key order."""
    for key, value in record.items():
        problem = _key_problem(key)
        if problem is not None:
            return problem
        if (value is not None and not isinstance(value, _VALUE_TYPES)) or (
            type(value) is int and value not in PY2_INT_RANGE
        ):
            return f"{key} has an invalid value"
        if key in TIMESTAMP_FIELDS and not isinstance(value, dt.datetime):
            return f"{key} is not a valid datetime object"
        if key == "_id" and not _valid_id(value):
            return f'_id "{value}" is not a valid id'
    return None


_VALUE_TYPES = (int, float, str, bool, dt.datetime)
# The exact types of values that break no rule anywhere but in the fields checked by name (and
# the range of ints).
_PLAIN_TYPES = frozenset({int, float, str, bool, dt.datetime, type(None)})
# Python 2's `\s` on the UTF-8 bytes Backdrop searched: ASCII whitespace.
_WHITESPACE = re.compile(r"\s", re.ASCII)


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not _WHITESPACE.search(value)


def _plainly_valid(records: list[dict[str, Any]], key_sets: set[tuple[str, ...]]) -> bool:
    """True when no record breaks a rule of `_record_problem`, found the quick way, for the whole
    batch at once: each set of keys checked once, values by their exact types, and the fields with
    rules of their own (`_id`, timestamps) field by field. False only means "look closer".

    A benchmark sends a million records of the same dozen keys and plain values; checking each
    value of each one against each rule cost the stand-in more than reading them.
    """
    named: set[str] = set()
    for keys in key_sets:
        fields = _fields_to_check(keys)
        if fields is None:
            return False
        named.update(fields)
    values = list(itertools.chain.from_iterable(map(dict.values, records)))
    # With one set of keys, a key's values are every n-th value: checked column by column, most
    # columns hold one type, and a column of ints is in range if its least and greatest are.
    step = len(next(iter(key_sets))) if len(key_sets) == 1 else 0
    for column in [values[offset::step] for offset in range(step)] if step else [values]:
        types = set(map(type, column))
        if not _PLAIN_TYPES.issuperset(types):
            return False
        if int in types:
            ints = column if types == {int} else [value for value in column if type(value) is int]
            if min(ints) not in PY2_INT_RANGE or max(ints) not in PY2_INT_RANGE:
                return False
    for name in named:
        values = [record[name] for record in records if name in record]
        types = set(map(type, values))
        if name == "_id":
            # Whitespace in one of the ids is whitespace in them all joined.
            if types != {str} or not all(values) or _WHITESPACE.search("".join(values)):
                return False
        elif types != {dt.datetime}:
            return False
    return True


@functools.lru_cache(maxsize=4096)
def _fields_to_check(keys: tuple[str, ...]) -> tuple[str, ...] | None:
    """None if one of `keys` is a problem in itself; else those whose values have rules of their own."""
    if any(_key_problem(key) is not None for key in keys):
        return None
    return tuple(key for key in keys if key in TIMESTAMP_FIELDS or key == "_id")


@functools.lru_cache(maxsize=4096)
def _key_problem(key: str) -> str | None:
    # Cached: a benchmark sends a million records with the same dozen keys.
    if not VALID_KEY.match(key.lower()):
        return f"{key} is not a valid key"
    if key.startswith("_") and key not in RESERVED_KEYWORDS:
        return f"{key} is not a recognised internal field"
    return None


def _period_fields(timestamp: dt.datetime) -> dict[str, dt.datetime]:
    hour = timestamp.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    month = day.replace(day=1)
    return {
        "_hour_start_at": hour,
        "_day_start_at": day,
        "_week_start_at": day - dt.timedelta(days=day.weekday()),
        "_month_start_at": month,
        "_quarter_start_at": month.replace(month=3 * ((month.month - 1) // 3) + 1),
        "_year_start_at": month.replace(month=1),
    }


# The schema ---------------------------------------------------------------------------------------


def _schema_messages(
    records: list[dict[str, Any]], schema: tuple[SchemaPart, ...], key_sets: set[tuple[str, ...]]
) -> list[str]:
    """jsonschema's messages (Draft 4, with its format checker) for every record, in order;
    `key_sets`: the records' sets of keys."""
    if _schema_plainly_met(records, schema, key_sets):
        return []
    return [message for record in records for message in _record_schema_messages(record, schema)]


def _record_schema_messages(record: dict[str, Any], schema: tuple[SchemaPart, ...]) -> list[str]:
    messages = []
    for part in schema:
        for name, json_type, format_name in part.properties:
            if name not in record:
                continue
            value = record[name]
            if not _is_json_type(value, json_type):
                messages.append(f"{_python2_repr(value)} is not of type u'{json_type}'")
            # jsonschema's format checker looks only at strings.
            elif format_name == "date-time" and not _is_date_time(value):
                messages.append(f"{_python2_repr(value)} is not a u'{format_name}'")
        messages.extend(f"u'{name}' is a required property" for name in part.required if name not in record)
    return messages


def _is_json_type(value: Any, json_type: str) -> bool:
    if json_type == "integer":
        # Draft 4: a boolean is no integer, nor is a float with nothing after its point.
        return type(value) is int
    return isinstance(value, str)


@functools.lru_cache(maxsize=4096)
def _is_date_time(text: str) -> bool:
    """RFC 3339's `date-time`: the form, a date on the calendar, a time of day (a leap second
    allowed), an offset under a day. Cached: the records of a batch mostly share their timestamps."""
    match = DATE_TIME.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    if not (year >= 1 and 1 <= month <= 12 and hour <= 23 and minute <= 59 and second <= 60):
        return False
    if day < 1 or day > calendar.monthrange(year, month)[1]:
        return False
    offset_hours, offset_minutes = match.group(7), match.group(8)
    return offset_hours is None or (int(offset_hours) <= 23 and int(offset_minutes) <= 59)


def _schema_plainly_met(
    records: list[dict[str, Any]], schema: tuple[SchemaPart, ...], key_sets: set[tuple[str, ...]]
) -> bool:
    """True when no record breaks the schema, found the quick way: each set of keys checked once,
    each typed field's values by their exact types, each distinct timestamp once. False only means
    "look closer"."""
    required = {name for part in schema for name in part.required}
    if any(not required.issubset(keys) for keys in key_sets):
        return False
    for part in schema:
        for name, json_type, format_name in part.properties:
            values = [record[name] for record in records if name in record]
            if not set(map(type, values)) <= {int if json_type == "integer" else str}:
                return False
            if format_name == "date-time" and not all(map(_is_date_time, set(values))):
                return False
    return True


def _python2_repr(value: Any, *, nested: bool = False) -> str:
    """`repr` of a JSON value as Backdrop held it under Python 2: a record's string values
    re-encoded to UTF-8 byte strings (no `u`), strings inside objects and arrays still unicode
    (`u'...'`), integers beyond 64 bits `long`s (`...L`)."""
    if isinstance(value, str):
        if nested:
            return "u" + ascii(value)
        # Python 3's bytes repr is Python 2's str repr, once its `b` is dropped.
        return repr(value.encode("utf-8", "surrogatepass"))[1:]
    if type(value) is int and value not in PY2_INT_RANGE:
        return f"{value}L"
    if isinstance(value, list):
        return "[" + ", ".join(_python2_repr(item, nested=True) for item in value) + "]"
    if isinstance(value, dict):
        # In insertion order: Python 2's dict order (by hash) is not reproduced.
        pairs = (
            f"{_python2_repr(key, nested=True)}: {_python2_repr(item, nested=True)}" for key, item in value.items()
        )
        return "{" + ", ".join(pairs) + "}"
    return repr(value)  # None, booleans, ints and floats read the same in both
