"""GA4: the same `ga` entrypoints and query files, collected from the Google Analytics Data API.

A query whose `id` (`ids` for `ga.realtime`) is `properties/<number>` is read from GA4 with
`runReport` / `runRealtimeReport` instead of Core Reporting v3. The query file keeps its v3 shape:
`query` translates names, filters, sort and maxResults into a Data API request (`names` holds the
UA → GA4 name table, `filters` the v3 filter parser), `fetch` pages through each period, `rows`
turns each answer into gapy-shaped rows, so that `records.build_records` gives the records the
v3 collectors gave: the same field names, `_timestamp`, `timeSpan` and `_id`s. `client` speaks
`analyticsdata` v1beta through the v3 client's transport, retries and error mapping; `collect`,
`trending` and `realtime` are the entrypoints' GA4 halves (`main` and `check` each), which the
entrypoints call for a property id; `schema` lists the fields GA4 has.

This module is imported by the entrypoints to decide which API a query is for, so it imports
nothing heavy; the rest of the package is imported only when a GA4 query runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROPERTY_PREFIX = "properties/"


def is_property_id(value: Any) -> bool:
    """Whether a query's `id` names a GA4 property (`properties/<n>`) rather than a UA view."""
    return isinstance(value, str) and value.strip().startswith(PROPERTY_PREFIX)


def uses_data_api(query: Any, key: str = "id") -> bool:
    """Whether a query file's `query` object is for GA4 (its `key`, `id` or `ids`, is a property)."""
    return isinstance(query, Mapping) and is_property_id(query.get(key))
