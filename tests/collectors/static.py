"""A contributor-style collector for CLI tests: its query carries the rows it "fetched".

It is what a new collector looks like: rows in, records built by the shared record builder
(options, mappings, ids, plugins), pushed through the shared Backdrop client.
"""

import time
from datetime import date

from performanceplatform.collector.backdrop import Pusher
from performanceplatform.collector.records import Row, build_records


def main(credentials, data_set_config, query, options, start_at, end_at):
    rows = [
        Row(date.fromisoformat(row["date"]), row.get("dimensions", {}), row.get("fields", {}))
        for row in query["rows"]
    ]
    records = build_records(rows, options, data_set_config["data-type"])

    def slowly():
        # For interruption tests: a collector still producing records while the push goes on.
        for record in records:
            time.sleep(query.get("seconds_per_record", 0))
            yield record

    Pusher(data_set_config, options).push(slowly() if query.get("seconds_per_record") else records)
