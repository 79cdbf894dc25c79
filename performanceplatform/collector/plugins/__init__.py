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
    "needs_whole_set",
    "parse_plugin",
    "parse_plugins",
    "run_plugins",
]


def run_plugins(plugins: Sequence[Plugin], records: list[Record], first_index: int = 0) -> list[Record]:
    """Apply each plugin in turn to the list, as the original did to the whole list.

    `records` may be one period of a backfill whose first record is number `first_index` of the
    whole; error messages count from there. Plugins with `whole_set` need the whole list.
    """
    for plugin in plugins:
        records = plugin(records, first_index)
    return records


def needs_whole_set(plugins: Sequence[Plugin]) -> bool:
    """Whether any of `plugins` must see every record of the run at once (ComputeRank, AggregateKey)."""
    return any(plugin.whole_set for plugin in plugins)
