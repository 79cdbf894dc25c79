"""GOV.UK organisation codes (`<D1>`, `<EA570>` …) and the department slugs they stand for.

The table is deployment data, not code: it is read from the JSON file (an object of code →
slug) named by `--department-codes` or the environment variable `PP_COLLECTOR_DEPARTMENT_CODES`,
once, by the run context loader, which hands it to the plugins and collectors that need it.
Without a table, codes pass through unchanged, as unknown codes always did.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from .errors import ConfigurationError

ENV_VAR = "PP_COLLECTOR_DEPARTMENT_CODES"

# The original's pattern, kept as it was: a code must open the value (`re.match`).
_FIRST_CODE = re.compile(r"^(<[^>]+>).*$")

NO_DEPARTMENTS: Mapping[str, str] = MappingProxyType({})


def load_department_codes(path: str | os.PathLike[str]) -> Mapping[str, str]:
    """The code → slug table in the JSON file at `path`, read once per path."""
    return _load(os.fspath(path))


@functools.lru_cache(maxsize=8)
def _load(path: str) -> Mapping[str, str]:
    where = f"{path} (the department code table, {ENV_VAR} / --department-codes)"
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a byte-order mark is not JSON
    except OSError as error:
        raise ConfigurationError(f"cannot read it: {error.strerror}", source=where) from None
    except UnicodeDecodeError:
        raise ConfigurationError("it is not UTF-8 text", source=where) from None
    try:
        table = json.loads(text)
    except ValueError as error:
        raise ConfigurationError(f"it is not valid JSON: {error}", source=where) from None
    if not isinstance(table, dict) or not all(
        isinstance(code, str) and isinstance(slug, str) for code, slug in table.items()
    ):
        raise ConfigurationError(
            'it must be one JSON object of code to slug strings, like {"<D1>": '
            '"attorney-generals-office"}',
            source=where,
        )
    return MappingProxyType(table)


def first_department_code(value: str) -> str | None:
    """The `<…>` code that opens `value` (`<D10><D9>` → `<D10>`), or None."""
    match = _FIRST_CODE.match(value)
    return match.group(1) if match else None


def lookup_department(code: str, table: Mapping[str, str]) -> str:
    """The slug for a code, or the code itself when the table does not know it."""
    return table.get(code, code)


def department_for(value: str, table: Mapping[str, str]) -> str:
    """The original's `try_get_department`: the first code of `value` if it opens with one,
    else the whole value; then its slug, if the table has one.

    Used by SetDepartment and the GA content.table collector (`dimension9=~^<D1>` → `<D1>` →
    `attorney-generals-office`).
    """
    code = first_department_code(value)
    return lookup_department(value if code is None else code, table)
