"""Records as the JSON body Backdrop reads: datetimes in ISO form (naive ones as UTC), Decimals
digit for digit, everything else as JSON has it.

orjson writes a whole chunk (a tenth of the stdlib encoder's time, which a million-record push
notices), calling `_encode_default` for datetimes and dates so that they read exactly as
`encode_value` writes them (orjson's own datetime format rounds odd UTC offsets). What orjson
refuses (a Decimal, an int beyond 64 bits, a lone surrogate) goes through the stdlib encoder, and a
chunk holding a Decimal is written record by record with `encode_value`. Every path gives JSON
that reads back as the same records; orjson leaves non-ASCII characters as UTF-8 where the stdlib
escapes them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

Record = Mapping[str, Any]


def encode_value(value: Any) -> str:
    """One record value as JSON text.

    A naive datetime is taken to be UTC, as in the original client; an aware one keeps its own
    offset (Backdrop converts it to UTC). A Decimal is written as the number it is, digit for
    digit, rather than through a float.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return json.dumps(value.isoformat())
    if isinstance(value, dt.date):
        return json.dumps(value.isoformat())
    # Imported here: only a record holding a Decimal comes this way, and most runs have none.
    from decimal import Decimal

    if isinstance(value, Decimal):
        # str() of a finite Decimal ("12.50", "1E+3", "-0") is always a valid JSON number.
        return str(value)
    return json.dumps(value, allow_nan=False)


def encode_records(records: Sequence[Record]) -> bytes:
    """A list of validated (flat) records as the JSON body Backdrop expects (see the module)."""
    chunk = records if isinstance(records, list) else list(records)
    try:
        return orjson.dumps(chunk, default=_encode_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    except (orjson.JSONEncodeError, _NeedsExactNumber):
        pass
    try:
        return _ENCODER.encode(chunk).encode("ascii")
    except _NeedsExactNumber:
        pass
    parts = []
    for record in chunk:
        fields = ",".join(f"{json.dumps(key)}:{encode_value(value)}" for key, value in record.items())
        parts.append("{" + fields + "}")
    return ("[" + ",".join(parts) + "]").encode("ascii")


class _NeedsExactNumber(Exception):
    """A Decimal, which the C encoder cannot write digit for digit: the record-by-record path can."""


def _encode_default(value: Any) -> Any:
    # Called by the encoders for what JSON has no type for; the result must read as `encode_value`
    # writes it.
    if isinstance(value, dt.date):  # datetimes too
        return _iso_text(value, getattr(value, "tzinfo", None))
    if isinstance(value, Mapping):
        return dict(value)
    raise _NeedsExactNumber


@functools.lru_cache(maxsize=4096)
def _iso_text(value: dt.date, tzinfo: dt.tzinfo | None) -> str:
    # A period's records share a few timestamps. `tzinfo` is part of the key because equal
    # instants in different zones compare equal but are written differently.
    if isinstance(value, dt.datetime) and tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_encode_default)
