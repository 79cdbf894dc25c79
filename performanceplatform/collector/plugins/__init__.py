"""Record plugins named in a query's `options.plugins` (the original's `ga/plugins`).

`parse_plugins` reads the strings (parsing, never evaluating them); `run_plugins` applies the
plugins in order. Unlike the original, a list need not end in `ComputeIdFrom`: without it, the
ids computed before the plugins stand.
"""

from __future__ import annotations

from collections.abc import Sequence

from .builtin import (
    AggregateKey,
    Aggregation,
    Comment,
    ComputeDepartmentKey,
    ComputeIdFrom,
    ComputeRank,
    Plugin,
    Record,
    RemoveKey,
    SetDepartment,
)
from .parser import MAX_PLUGIN_LENGTH, parse_plugin, parse_plugins

__all__ = [
    "MAX_PLUGIN_LENGTH",
    "AggregateKey",
    "Aggregation",
    "Comment",
    "ComputeDepartmentKey",
    "ComputeIdFrom",
    "ComputeRank",
    "Plugin",
    "Record",
    "RemoveKey",
    "SetDepartment",
    "parse_plugin",
    "parse_plugins",
    "run_plugins",
]


def run_plugins(plugins: Sequence[Plugin], records: list[Record]) -> list[Record]:
    """Apply each plugin in turn to the whole list, as the original did."""
    for plugin in plugins:
        records = plugin(records)
    return records
