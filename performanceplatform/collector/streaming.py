"""Pushing a backfill's records as its periods arrive, or all at once when the query needs the whole set.

Collectors hand over their rows (or records) a period at a time; records are built and pushed in
chunks as each period comes in, so memory stays flat however long the backfill. Some queries need
every record before the first can go (`whole_set_first`, the one place that decides):

- `empty-data-set`: emptying Backdrop and then failing half-way would leave the data set half
  filled, so nothing is emptied or pushed until every period has been fetched and built;
- plugins that look across records (`ComputeRank` ranks, `AggregateKey` groups).

Those keep the original's behaviour: fetch everything, build the list, push it. (`ga.trending`
computes over its whole fortnight anyway and does not come through here.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from performanceplatform.collector.backdrop import Pusher, PushReport
    from performanceplatform.collector.records import Record, Row


def whole_set_first(options: Mapping[str, Any] | None) -> bool:
    """Whether the query's records must all be built before any is pushed (see the module)."""
    options = options or {}
    if options.get("empty-data-set") is True:
        return True
    if not options.get("plugins"):
        return False
    from performanceplatform.collector.records import plugins_need_whole_set

    return plugins_need_whole_set(options)


def push_rows(
    pusher: Pusher, batches: Iterable[Iterable[Row]], options: Mapping[str, Any] | None, data_type: str | None
) -> PushReport:
    """Build the records of each batch of rows (a period's) with the one record builder, and push them."""
    from performanceplatform.collector.records import build_records, stream_records

    if whole_set_first(options):
        return pusher.push(build_records([row for batch in batches for row in batch], options, data_type))
    return pusher.push(stream_records(batches, options, data_type))


def push_records(pusher: Pusher, batches: Iterable[Iterable[Record]], options: Mapping[str, Any] | None) -> PushReport:
    """Apply the options (`additionalFields`, plugins) to each batch of records a collector built, and push them."""
    if not options or ("additionalFields" not in options and "plugins" not in options):
        # Nothing to apply: the records go as they are (and `records` need not be imported).
        if whole_set_first(options):
            return pusher.push([record for batch in batches for record in batch])
        return pusher.push(record for batch in batches for record in batch)
    from performanceplatform.collector.records import apply_options, stream_options

    if whole_set_first(options):
        return pusher.push(apply_options([record for batch in batches for record in batch], options))
    return pusher.push(stream_options(batches, options))
