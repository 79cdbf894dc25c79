"""`Pusher`: the push as collectors written for the original call it.

A contributor's collector keeps the original's `main(credentials, data_set_config, query, options,
start_at, end_at)` and pushes with `Pusher(data_set_config, options).push(records)`: the query
file's `chunk-size` and `empty-data-set`, through the one sink (`sink.BackdropSink`), one chunk at a
time as the original client sent them, or `push_concurrency` chunks at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, TextIO

from performanceplatform.collector.backdrop.client import DataSet
from performanceplatform.collector.backdrop.sink import BackdropSink, PushReport, Record, push_records
from performanceplatform.collector.context import DataSetTarget
from performanceplatform.collector.http import HttpClient
from performanceplatform.collector.options import parse_options


class Pusher:
    def __init__(
        self,
        data_set_config: Mapping[str, Any],
        options: Mapping[str, Any] | None = None,
        *,
        source: str | None = None,
        http: HttpClient | None = None,
        stdout: TextIO | None = None,
        push_concurrency: int = 1,
    ):
        # Checked now, so that a bad chunk-size or Backdrop URL fails before any collecting.
        options_read = parse_options(options, source=source)
        self.chunk_size = options_read.chunk_size
        self.empty_data_set = options_read.empty_data_set
        target = replace(DataSetTarget.from_collector_config(data_set_config), push_concurrency=push_concurrency)
        self.push_concurrency = push_concurrency
        self.data_set = DataSet.from_target(target, http=http, stdout=stdout)

    def push(self, records: Iterable[Record]) -> PushReport:
        sink = BackdropSink(
            self.data_set,
            chunk_size=self.chunk_size,
            empty_first=self.empty_data_set,
            concurrency=self.push_concurrency,
        )
        return push_records(sink, records)
