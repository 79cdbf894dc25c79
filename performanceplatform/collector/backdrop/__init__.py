"""The Backdrop client: where a run's records end up.

- `client.DataSet`: one data set's requests (POST a chunk, PUT [] to empty it), with the token,
  timeouts, the one retry policy, and dry-run printing;
- `sink.BackdropSink`: the push, a chunk at a time, with the ledger of what landed, and
  `sink.push_records`, which feeds a sink from any iterable of records;
- `encoding`: records as the JSON body Backdrop reads;
- `pusher.Pusher`: the push as collectors written for the original call it.

Records are checked against Backdrop's rules before they are sent (`backdrop_validation`).
"""

from performanceplatform.collector.backdrop.client import DataSet
from performanceplatform.collector.backdrop.pusher import Pusher
from performanceplatform.collector.backdrop.sink import BackdropSink, PushReport, push_records

__all__ = ["BackdropSink", "DataSet", "PushReport", "Pusher", "push_records"]
