"""Pingdom hours → Backdrop records, identical to the original's (reference §5)."""

from __future__ import annotations

from typing import Any

from performanceplatform.collector.pingdom.client import HourlySummary


def record_for_hour(hour: HourlySummary, check_name: str) -> dict[str, Any]:
    """`{_id, _timestamp, avgresponse, uptime, downtime, unmonitored, check}` for one hour.

    `_timestamp` is the hour's start as an ISO string with `+00:00` (not a datetime), and `_id` is
    `<check name with spaces as underscores>.<that string>`, so records written by the original and
    by this collector upsert onto each other.
    """
    timestamp = hour.start.isoformat()
    return {
        "_id": f"{check_name.replace(' ', '_')}.{timestamp}",
        "_timestamp": timestamp,
        "avgresponse": hour.avgresponse,
        "uptime": hour.uptime,
        "downtime": hour.downtime,
        "unmonitored": hour.unmonitored,
        "check": check_name,
    }
