"""`Pusher`: the push as collectors written for the original call it.

A contributor's collector keeps the original's `main(credentials, data_set_config, query, options,
start_at, end_at)` and pushes with `Pusher(data_set_config, options).push(records)`: the query
file's `chunk-size` and `empty-data-set`, through the one sink (`sink.BackdropSink`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from performanceplatform.collector.backdrop.client import DataSet
from performanceplatform.collector.backdrop.sink import BackdropSink, PushReport, Record, push_records
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
    ):
        # Checked now, so that a bad chunk-size or Backdrop URL fails before any collecting.
        options_read = parse_options(options, source=source)
        self.chunk_size = options_read.chunk_size
        self.empty_data_set = options_read.empty_data_set
        self.data_set = DataSet.from_config(data_set_config, http=http, stdout=stdout)

    def push(self, records: Iterable[Record]) -> PushReport:
        return push_records(
            BackdropSink(self.data_set, chunk_size=self.chunk_size, empty_first=self.empty_data_set), records
        )
