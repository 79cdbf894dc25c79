"""Python 2.7 vectors, printed under CPython 2.7.18: py2_vectors.json (gen_py2_vectors.py) and
py2_matomo_vectors.json (gen_py2_matomo_vectors.py: the Matomo collectors' records)."""

from __future__ import annotations

import functools
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).with_name("py2_vectors.json")
MATOMO_VECTORS = Path(__file__).with_name("py2_matomo_vectors.json")


@functools.cache
def load_vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text(encoding="utf-8"))


@functools.cache
def load_matomo_vectors() -> dict[str, Any]:
    return json.loads(MATOMO_VECTORS.read_text(encoding="utf-8"))


def decode(tagged: dict[str, Any]) -> Any:
    """A value from its typed JSON form (see `enc` in the generator)."""
    kind, value = tagged["t"], tagged.get("v")
    if kind == "none":
        return None
    if kind in ("bool", "str"):
        return value
    if kind == "int":
        return int(value)
    if kind == "float":
        return float.fromhex(value)
    if kind == "datetime":
        offset = tagged["tz"]
        zone = None if offset is None else timezone(timedelta(minutes=offset))
        return datetime(*value, tzinfo=zone)
    if kind == "date":
        return date(*value)
    if kind == "list":
        return [decode(item) for item in value]
    if kind == "tuple":
        return tuple(decode(item) for item in value)
    if kind == "dict":
        # Filled pair by pair, as Python 2 filled it: a repeated key keeps its first place.
        result = {}
        for key, item in value:
            result[key] = decode(item)
        return result
    raise ValueError(f"unknown vector type {kind!r}")
