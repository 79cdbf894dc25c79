"""Python 2's `<` for the values AggregateKey sorts its groups by.

Python 2 ordered any two values: None first, then numbers, then other types by type name. Python
3 raises TypeError instead, so a faithful sort needs these rules back. The pairs Python 2 itself
refused to order (a datetime against anything but a datetime, naive against aware) raise a
`CollectorError`; dicts do too, since Python 2's dict ordering is not worth reproducing for a
plugin that no production config uses.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ..errors import CollectorError

# Python 2 compared unlike types by these type names (numbers sorted before all of them).
_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (str, "unicode"),
    (list, "list"),
    (tuple, "tuple"),
    (dict, "dict"),
    (datetime, "datetime.datetime"),
    (date, "datetime.date"),
)


class Py2Ordered:
    """Wraps a value so that `sorted()` and `==` compare it as Python 2 did."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: Py2Ordered) -> bool:
        return py2_less(self.value, other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Py2Ordered) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


def py2_less(left: Any, right: Any) -> bool:
    """Python 2's `left < right`."""
    if left is None or right is None:
        return left is None and right is not None
    left_number, right_number = _is_number(left), _is_number(right)
    if left_number and right_number:
        return bool(left < right)
    if left_number or right_number:
        return left_number
    left_name, right_name = _type_name(left), _type_name(right)
    if left_name != right_name:
        if "datetime" in left_name or "datetime" in right_name:
            raise _unorderable(left, right)
        return left_name < right_name
    if isinstance(left, list | tuple):
        return _sequence_less(left, right)
    if isinstance(left, dict):
        raise _unorderable(left, right)
    try:
        return bool(left < right)
    except TypeError:
        raise _unorderable(left, right) from None


def _sequence_less(left: list[Any] | tuple[Any, ...], right: list[Any] | tuple[Any, ...]) -> bool:
    for left_item, right_item in zip(left, right, strict=False):
        if left_item != right_item:
            return py2_less(left_item, right_item)
    return len(left) < len(right)


def _is_number(value: Any) -> bool:
    return isinstance(value, bool | int | float)


def _type_name(value: Any) -> str:
    for kind, name in _TYPE_NAMES:
        if isinstance(value, kind):
            return name
    raise CollectorError(f"plugin AggregateKey cannot order a {type(value).__name__}: {value!r}")


def _unorderable(left: Any, right: Any) -> CollectorError:
    return CollectorError(
        f"plugin AggregateKey cannot sort records: {left!r} and {right!r} cannot be ordered "
        "(Python 2 refused this too)"
    )
