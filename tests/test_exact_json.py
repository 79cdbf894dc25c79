"""`exact_json.loads` reads every text as `json.loads` does, and fails where it fails, as it fails."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from performanceplatform.collector import exact_json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(min_value=-(10**30), max_value=10**30) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


def same(a: Any, b: Any) -> bool:
    # NaN is not equal to itself; its type and spelling are what must agree.
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@settings(max_examples=500, deadline=None)
@given(JSON_VALUES, st.booleans(), st.booleans())
def test_any_text_json_writes_is_read_as_json_reads_it(value: Any, ascii_only: bool, as_bytes: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    given_text: bytes | str = text.encode("utf-8", "surrogatepass") if as_bytes else text
    if as_bytes and not ascii_only and any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return  # not UTF-8: json.loads cannot read those bytes either
    assert same(exact_json.loads(given_text), json.loads(given_text))


@pytest.mark.parametrize(
    "text",
    [
        b'{"n": 12345678901234567890123}',  # orjson would give a float
        b'{"n": -9223372036854775809}',
        b'[NaN, Infinity, -Infinity]',
        b'"\\ud800"',  # a lone surrogate
        b'{"a": 1, "a": 2}',
        '{"text": "\u00e9"}'.encode("utf-16"),
        b"\xef\xbb\xbf{}",
        b"1e400",
    ],
)
def test_texts_orjson_reads_differently_or_not_at_all_are_read_as_json_reads_them(text: bytes) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError as error:
        with pytest.raises(type(error), match=str(error).replace("(", r"\(").replace(")", r"\)")):
            exact_json.loads(text)
        return
    assert same(exact_json.loads(text), expected)


@pytest.mark.parametrize("text", [b"", b"not json", b'{"a": }', b"[1, 2", "{'single': 'quotes'}"])
def test_what_json_refuses_fails_with_its_own_error(text: bytes | str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as raised:
        exact_json.loads(text)
    assert str(raised.value) == str(expected.value)


def test_a_callers_own_stdlib_reading_is_used_where_orjson_could_differ() -> None:
    def library(text: bytes | str) -> Any:
        return ("library", text)

    assert exact_json.loads(b'{"n": 1}', stdlib=library) == {"n": 1}
    assert exact_json.loads(b"not json", stdlib=library) == ("library", b"not json")
    assert exact_json.loads(b"[NaN]", stdlib=library) == ("library", b"[NaN]")
