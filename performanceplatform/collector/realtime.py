"""The realtime record every realtime collector writes (GA and Matomo): one count, now.

`{_timestamp, _id, unique_visitors, for_url}`, with `_timestamp` and `_id` both the run's UTC time
to the second, as the original wrote it, so dashboards reading realtime data sets keep working.
A count of people on a site now cannot be backfilled: realtime collectors refuse dates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

NO_BACKFILL = "Cannot backfill realtime collectors"


def realtime_record(count: int, for_url: str, now: datetime) -> dict[str, Any]:
    timestamp = now.replace(microsecond=0).isoformat()
    return {"_timestamp": timestamp, "_id": timestamp, "unique_visitors": count, "for_url": for_url}
