"""From a collector's rows (or records) to Backdrop: build the records, apply the options, push.

A collector reads top to bottom: open the sink (a bad Backdrop URL fails before any request),
fetch rows period by period, turn them into records here, push. Records are built and pushed a
period at a time as the periods arrive, so memory stays flat however long the backfill, except
when the query needs every record before the first can go (`Options.whole_set_first`:
`empty-data-set`, or plugins that rank or group across records); those keep the original's
behaviour: fetch everything, build the list, check it all, push it.

`push` pulls the records and hands the sink one chunk at a time, so the source's failures and a
stop surface in the push's loop, not inside the sink, and the sink's exit says what had landed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from performanceplatform.collector.backdrop.client import DataSet
from performanceplatform.collector.backdrop.sink import BackdropSink
from performanceplatform.collector.backdrop.sink import push_records as push
from performanceplatform.collector.context import RunContext
from performanceplatform.collector.http import HttpClient
from performanceplatform.collector.options import Options

if TYPE_CHECKING:
    from performanceplatform.collector.records import Record, Row

__all__ = ["open_sink", "push", "records_from_rows", "records_with_options"]


def open_sink(
    context: RunContext,
    *,
    chunk_size: int | None = None,
    empty_first: bool | None = None,
    http: HttpClient | None = None,
    stdout: TextIO | None = None,
) -> BackdropSink:
    """The sink for the run's data set, with the query's `chunk-size` and `empty-data-set` unless given,
    and the run's push concurrency."""
    return BackdropSink(
        DataSet.from_target(context.data_set, http=http, stdout=stdout),
        chunk_size=context.options.chunk_size if chunk_size is None else chunk_size,
        empty_first=context.options.empty_data_set if empty_first is None else empty_first,
        concurrency=context.data_set.push_concurrency,
    )


def records_from_rows(
    batches: Iterable[Iterable[Row]], options: Options, data_type: str | None
) -> Iterable[Record]:
    """The records of each batch of rows (a period's), built with the one record builder."""
    from performanceplatform.collector.records import build_records, stream_records

    if options.whole_set_first:
        return build_records([row for batch in batches for row in batch], options, data_type)
    return stream_records(batches, options, data_type)


def records_with_options(batches: Iterable[Iterable[Record]], options: Options) -> Iterable[Record]:
    """The records a collector built itself, batch by batch, with `additionalFields` and plugins applied."""
    if not options.changes_records:
        if options.whole_set_first:
            return [record for batch in batches for record in batch]
        return (record for batch in batches for record in batch)
    # The record builder is imported only when there are options to apply: a realtime run every
    # two minutes, and most Pingdom runs, have none.
    from performanceplatform.collector.records import apply_options, stream_options

    if options.whole_set_first:
        return apply_options([record for batch in batches for record in batch], options)
    return stream_options(batches, options)
