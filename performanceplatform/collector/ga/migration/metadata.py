"""A GA4 property's own names (`getMetadata`), checked before the first report request of a run.

GA4's standard fields are known offline (`data_api.schema`); custom dimensions and metrics
(`customEvent:<parameter>`) and key events (`keyEvents:<event>`) exist only in the property that
defines them, and a migration maps UA goals and event fields onto exactly those. So before a
migrated query's first `runReport` (or one naming such fields), the property's metadata is asked
for once, cached for the run (every period and every content-table department waits for that one
answer), and every name the request would send, filters included, must be in it. A missing name
fails the run (exit 2) before any report request, naming the file and key that mapped it (the
migration file's line, or the query's key) and the property's nearest names.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from performanceplatform.collector.errors import ConfigurationError, FatalUpstreamError
from performanceplatform.collector.ga.google_errors import SERVICE

if TYPE_CHECKING:
    from performanceplatform.collector.ga.data_api.query import ReportQuery

NEAREST = 3
HINTS = {
    "customEvent:": "register the event parameter as a custom definition (Admin → Custom definitions)",
    "customUser:": "register the user property as a custom definition (Admin → Custom definitions)",
    "keyEvents:": "mark the event as a key event (Admin → Events)",
    "sessionKeyEventRate:": "mark the event as a key event (Admin → Events)",
}


class MetadataClient(Protocol):
    def get_metadata(self, property_: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class PropertyNames:
    """The dimension and metric names a property accepts (deprecated names included)."""

    dimensions: frozenset[str]
    metrics: frozenset[str]

    @classmethod
    def from_response(cls, response: Mapping[str, Any]) -> PropertyNames:
        return cls(_names(response, "dimensions"), _names(response, "metrics"))


class PropertyMetadata:
    """The metadata of each property a run reports on, asked for once; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[str, PropertyNames] = {}

    def check(self, client: MetadataClient, report: ReportQuery) -> None:
        """Raise the first name of `report` the property does not have (nothing to do for a report
        that names only standard fields and is not migrated)."""
        if not report.check_metadata:
            return
        # Periods fetched at once wait here for the first to ask: one request a property a run.
        with self._lock:
            names = self._names.get(report.property)
            if names is None:
                names = self._names[report.property] = PropertyNames.from_response(
                    client.get_metadata(report.property)
                )
        problems = metadata_problems(report, names)
        if problems:
            raise problems[0]


def metadata_problems(report: ReportQuery, names: PropertyNames) -> list[ConfigurationError]:
    """A problem for each name `report` would send that the property does not have."""
    dimensions, metrics = report.field_names()
    problems = []
    for kind, asked, known, other in (
        ("dimension", dimensions, names.dimensions, names.metrics),
        ("metric", metrics, names.metrics, names.dimensions),
    ):
        for name in sorted(asked - known):
            problems.append(_missing(report, name, kind, known, other))
    return problems


def _missing(
    report: ReportQuery, name: str, kind: str, known: frozenset[str], other: frozenset[str]
) -> ConfigurationError:
    message = f"{name!r} is not a {kind} of {report.property} (getMetadata lists no such {kind})"
    if name in other:
        message += f": it is a {'metric' if kind == 'dimension' else 'dimension'} there"
    else:
        nearest = difflib.get_close_matches(name, sorted(known), n=NEAREST, cutoff=0.6)
        message += f"; nearest: {', '.join(map(repr, nearest))}" if nearest else "; it has nothing close"
        hint = next((text for prefix, text in HINTS.items() if name.startswith(prefix)), None)
        if hint:
            message += f". If the name is right, {hint}"
    origin = report.mapped_at.get(name)
    if origin is not None:
        return origin.error(message, reason=f"{kind} missing from the property")
    return ConfigurationError(
        message, source=report.source, key=f"query.{_query_key(report, name)}",
        reason=f"{kind} missing from the property",
    )


def _query_key(report: ReportQuery, name: str) -> str:
    if name in report.api_dimensions:
        return "dimensions"
    if name in report.api_metrics:
        return "metrics"
    return "filters"


def _names(response: Mapping[str, Any], key: str) -> frozenset[str]:
    items = response.get(key)
    if items is None:
        return frozenset()
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise FatalUpstreamError(
            f"Google Analytics answered the getMetadata request with {key} that are not a list of objects",
            service=SERVICE,
        )
    found = set()
    for item in items:
        api_name = item.get("apiName")
        if isinstance(api_name, str):
            found.add(api_name)
        deprecated = item.get("deprecatedApiNames")
        if isinstance(deprecated, list):
            found.update(name for name in deprecated if isinstance(name, str))
    return frozenset(found)
