"""A GA4 property id as the Data API takes it, `properties/<n>`, checked before any request.

Its own module, so that a realtime query (`realtime`) checks its id without the report query
module (`query`); which source answers an id is `ga.sources`' to say.
"""

from __future__ import annotations

import re
from typing import Any

PROPERTY = re.compile(r"properties/\d+")


def property_from(value: Any, *, source: str | None, key: str = "id") -> str:
    """`properties/<n>`, checked: the numeric property id, not a measurement id (`G-...`)."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not PROPERTY.fullmatch(text):
        from performanceplatform.collector.ga.query import query_error

        raise query_error(
            f"expected a GA4 property such as 'properties/123456789' (the numeric property id, "
            f"not a 'G-' measurement id), got {value!r}",
            source,
            key,
        )
    return text
