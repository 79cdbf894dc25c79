"""The Python 2.7 behaviour that record ids depend on, reproduced exactly.

The original ran on 64-bit CPython 2.7 with wide unicode and no hash randomisation. Its default
`_id` lists dimension values in dict iteration order, and its ids render values with Python 2's
`unicode()`. Re-collection has to produce the same ids byte for byte, or Backdrop keeps a second
copy of every record instead of overwriting it. So this module reproduces:

- the string hash and the dict/set hash tables (probing and growth), which fix iteration order;
- `unicode()` and `repr()` of the value types records hold (floats to 12 significant digits);
- the id encoding: urlsafe base64 of the UTF-8 bytes.

It is checked against vectors printed by CPython 2.7.18 (tests/vectors/gen_py2_vectors.py).
"""

from __future__ import annotations

import base64
import functools
import math
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime, time

from .errors import CollectorError

_MASK64 = (1 << 64) - 1
_PERTURB_SHIFT = 5
_MINSIZE = 8


def py2_str_hash(text: str) -> int:
    """`hash(text)` for a unicode object in 64-bit, wide-unicode CPython 2.7.

    ASCII `str` objects hash the same, which is why dicts mixing the two order alike.
    """
    if not text:
        return 0
    x = (ord(text[0]) << 7) & _MASK64
    for char in text:
        x = ((1000003 * x) ^ ord(char)) & _MASK64
    x ^= len(text)
    if x >= 1 << 63:
        x -= 1 << 64
    return -2 if x == -1 else x


class _HashTable:
    """The slots of a CPython 2.7 dict or set; both probe and grow the same way.

    Only insertion is modelled: the records' dicts are built, never pruned, before their order
    is read.
    """

    def __init__(self) -> None:
        self._slots: list[tuple[int, str] | None] = [None] * _MINSIZE
        self._members: set[str] = set()

    def presize(self, minused: int) -> None:
        self._resize(minused)

    def add(self, key: str) -> None:
        if key in self._members:
            return
        self._members.add(key)
        self._place(py2_str_hash(key) & _MASK64, key)
        used = len(self._members)
        # With no deletions the fill equals the number of keys: grow at 2/3 full.
        if used * 3 >= len(self._slots) * 2:
            self._resize((2 if used > 50000 else 4) * used)

    def order(self) -> list[str]:
        return [slot[1] for slot in self._slots if slot is not None]

    def _place(self, hashed: int, key: str) -> None:
        slots = self._slots
        mask = len(slots) - 1
        i = hashed & mask
        perturb = hashed
        while slots[i & mask] is not None:
            i = (5 * i + perturb + 1) & _MASK64
            perturb >>= _PERTURB_SHIFT
        slots[i & mask] = (hashed, key)

    def _resize(self, minused: int) -> None:
        size = _MINSIZE
        while size <= minused:
            size <<= 1
        old = [slot for slot in self._slots if slot is not None]
        self._slots = [None] * size
        for hashed, key in old:
            self._place(hashed, key)


@functools.lru_cache(maxsize=4096)
def _dict_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    # Checked here, once per distinct tuple, rather than on every call: an error is not cached.
    for key in keys:
        if not isinstance(key, str):
            raise CollectorError(f"cannot reproduce Python 2 dict order for the key {key!r}")
    table = _HashTable()
    for key in keys:
        table.add(key)
    return tuple(table.order())


def py2_dict_order(keys: Iterable[str]) -> list[str]:
    """The order Python 2 iterates a dict whose keys were inserted in this order.

    A repeated key keeps its first place, as in a dict. Keys must be strings: records only
    have string keys, and other types hash differently.
    """
    return list(_dict_order(tuple(keys)))


def py2_set_order_of_dict(dict_order: Sequence[str]) -> list[str]:
    """The iteration order of `set(d)`, given `d`'s own Python 2 iteration order.

    `set(d)` sizes its table for all of `d` first, so collisions can resolve differently from
    a dict filled key by key.
    """
    table = _HashTable()
    if len(dict_order) * 3 >= _MINSIZE * 2:
        table.presize(2 * len(dict_order))
    for key in dict_order:
        table.add(key)
    return table.order()


def py2_set_difference_order(set_order: Sequence[str], removed: Collection[str]) -> list[str]:
    """The iteration order of `a - b`, given `a`'s iteration order: a new set, filled key by key."""
    table = _HashTable()
    for key in set_order:
        if key not in removed:
            table.add(key)
    return table.order()


def py2_float_str(value: float) -> str:
    """Python 2's `str(float)`: 12 significant digits, exponent form beyond 11 integer digits."""
    text = format(value, ".12g")
    if "e" in text or "n" in text:  # exponent form, inf or nan
        if _py2_keeps_trailing_zeros(value):
            return _twelve_digit_exponent_form(value)
        return text
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    if "." in digits:
        return text
    if len(digits) == 12:
        # Twelve integer digits: Python 2 switched to exponent form one digit earlier than
        # "%.12g", to leave room for the ".0" it appends to whole numbers.
        mantissa = digits.rstrip("0")
        fraction = f".{mantissa[1:]}" if len(mantissa) > 1 else ""
        return f"{sign}{mantissa[0]}{fraction}e+11"
    return f"{text}.0"


def _py2_keeps_trailing_zeros(value: float) -> bool:
    """Whether Python 2.7's dtoa returned 12 digits with trailing zeros for this float.

    For a whole number of 13 to 15 digits it first tries a quick floating-point conversion;
    when that cannot decide the rounding (a tie or near tie at the 13th digit) it falls back
    to an integer loop that, rounding down, keeps the zeros it has already written. Python 3's
    dtoa strips them, so this replays the quick attempt with the same double arithmetic.
    """
    magnitude = abs(value)
    if not 1e12 <= magnitude < 1e15 or magnitude != math.floor(magnitude):
        return False
    whole = int(magnitude)
    power = len(str(whole)) - 1
    scale = 10 ** (power - 11)
    kept, rest = divmod(whole, scale)
    rounds_up = 2 * rest > scale or (2 * rest == scale and kept % 2 == 1)
    if rest == 0 or rounds_up or kept % 10 != 0:
        return False
    return not _quick_conversion_decides(magnitude / 10.0**power)


def _quick_conversion_decides(scaled: float) -> bool:
    """Replay dtoa's quick path (mode 2, 12 digits) on `value / 10**k`; True if it succeeds."""
    eps = (2 * scaled + 7.0) * 2.0**-52
    eps *= 1e11
    remainder = scaled
    last = 12
    for position in range(1, 13):
        digit = int(remainder)
        remainder -= digit
        if remainder == 0:
            last = position
        if position == last:
            return remainder > 0.5 + eps or remainder < 0.5 - eps
        remainder *= 10.0
    return True


def _twelve_digit_exponent_form(value: float) -> str:
    whole = int(abs(value))
    power = len(str(whole)) - 1
    digits = str(whole // 10 ** (power - 11))
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:]}e+{power:02d}"


def py2_unicode(value: object) -> str:
    """Python 2's `unicode(value)` (and `u"{0!s}".format(value)`, which agrees with it)."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool | int):
        return str(value)
    if isinstance(value, float):
        return py2_float_str(value)
    if isinstance(value, datetime | date | time):
        return _py2_datetime_str(value)
    if isinstance(value, list | tuple | dict):
        return py2_repr(value)
    raise CollectorError(f"cannot render a {type(value).__name__} the way Python 2 did: {value!r}")


def py2_repr(value: object) -> str:
    """Python 2's `repr(value)` for JSON-like values, as `unicode()` shows containers."""
    if isinstance(value, str):
        # Python 2's unicode repr escapes exactly what Python 3's ascii() does.
        return "u" + ascii(value)
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        # Python 2 made these a `long`, whose repr carries an L.
        return f"{value}L" if not -(1 << 63) <= value < 1 << 63 else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(py2_repr(item) for item in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(py2_repr(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        order = py2_dict_order(value)
        return "{" + ", ".join(f"{py2_repr(key)}: {py2_repr(value[key])}" for key in order) + "}"
    if isinstance(value, datetime | date) and getattr(value, "tzinfo", None) is None:
        return repr(value)
    raise CollectorError(f"cannot render a {type(value).__name__} the way Python 2 did: {value!r}")


def _py2_datetime_str(value: datetime | date | time) -> str:
    offset = value.utcoffset() if isinstance(value, datetime | time) else None
    if offset is not None and offset.seconds % 60:
        raise CollectorError(f"Python 2 could not represent the UTC offset of {value!r}")
    return str(value)


def id_timestamp(moment: datetime) -> str:
    """`%Y%m%d%H%M%S` of an aware datetime in UTC, as the original's ids spell a timestamp.

    Python 2 raised ValueError for a naive datetime here (`astimezone`); so does this, clearly.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CollectorError(
            f"cannot put the naive datetime {moment.isoformat()} into an id: "
            "its time zone is unknown (the original failed here too)"
        )
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}{utc.month:02d}{utc.day:02d}"
        f"{utc.hour:02d}{utc.minute:02d}{utc.second:02d}"
    )


def value_id(text: str) -> tuple[str, str]:
    """(`_id`, `humanId`) for an id string: urlsafe base64 of its UTF-8 bytes, and the string.

    Python 2 encoded lone surrogates too, hence surrogatepass.
    """
    encoded = base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
    return encoded, text
