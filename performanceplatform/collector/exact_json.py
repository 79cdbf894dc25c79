"""`json.loads`, faster: orjson reads the text when it would read it exactly as the stdlib does.

A backfill decodes a page of thousands of GA rows at a time, and orjson does that in half the
stdlib's time. Where the two differ, the stdlib's reading wins: orjson refuses NaN and Infinity,
lone surrogates and text that is not UTF-8 (the stdlib then reads it, or raises its own error),
and it turns integers beyond 64 bits into floats, so text with 19 digits in a row goes to the
stdlib at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

# Every digit turned into "0", then 19 zeros looked for: a tenth of a regular expression's time.
_DIGITS_AS_ZEROS = bytes.maketrans(b"0123456789", b"0" * 10)
_NINETEEN_DIGITS = b"0" * 19


def loads(text: bytes | str, stdlib: Callable[[bytes | str], Any] = json.loads) -> Any:
    """What `json.loads(text)` gives (and raises); or what `stdlib`, a caller's own way of reading
    text with the stdlib, gives wherever orjson's reading could differ."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if _NINETEEN_DIGITS not in raw.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return stdlib(text)
