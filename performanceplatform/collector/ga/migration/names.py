"""The UA → GA4 name table as a migration extends it: mapped goals and fields, accepted approximations.

`MigratedNames` is the `data_api.names.NameTable` of one query under its `map_file.Migration`
(or none: the built-in table, with the hints below). Before the built-in table, it answers:

- `goalNCompletions` → `keyEvents:<key event>`, `goalNConversionRate` → `sessionKeyEventRate:<key
  event>` * 100 (GA4's fraction as UA's percentage), once the goal is mapped: exact;
- `goalNStarts` → `keyEvents:<start event>`, with the goal's start event mapped and the
  approximation `goal-starts-from-start-event` accepted;
- a mapped field (`eventCategory` → `customEvent:event_category`): exact;
- `uniquePageviews`, `uniqueEvents`, `entrances` → `sessions`, and `browserVersion` dropped, each
  only with its approximation accepted (`approximations`); with `entrances-as-sessions`, the
  query's `pagePath` is read as the landing page (`landingPagePlusQueryString`), which is what
  UA's entrances on a page were, unless the query also counts something per page view.

A name the built-in table refuses, and a migration could unlock, is refused with what to write in
the migration file. `segment_condition` reads a `sessions::condition::` segment as a page filter
(approximation `segment-as-page-filter`). Every mapped name remembers where it was mapped
(`origins`), for the property's metadata check (`metadata`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.data_api.names import (
    DIMENSION,
    METRIC,
    REALTIME_PAGE_PATH,
    SOURCE,
    Equivalent,
    NameTable,
    bare_name,
)
from performanceplatform.collector.ga.migration import MAP_FILE_VARIABLE, MAPPABLE_DIMENSION, MAPPABLE_METRIC
from performanceplatform.collector.ga.migration import approximations as approx

if TYPE_CHECKING:
    # Only a migration file (or `options.ga4`) brings its model; without one nothing is mapped.
    from performanceplatform.collector.ga.migration.map_file import Goal, Mapped, Migration, Origin

GOAL = re.compile(r"goal(?P<number>\d+)(?P<part>Completions|ConversionRate|Starts)")
SEGMENT = re.compile(r"sessions::condition::(?P<condition>[^!].*)", re.DOTALL)
SEGMENT_REFUSAL = (
    "the GA4 Data API has no segments. The nearest are 'filters' (which select rows, not whole "
    "sessions or users) or a GA4 audience (the 'audienceName' dimension); rewrite the query with "
    "one of those"
)
WHERE = f"the GA4 migration file (--ga4-map, {MAP_FILE_VARIABLE}) or the query's options.ga4"
# What each approximation stands in for: the UA name, the GA4 field, the kind.
APPROXIMATED = {
    "uniquePageviews": (approx.UNIQUE_PAGEVIEWS, "sessions", METRIC),
    "uniqueEvents": (approx.UNIQUE_EVENTS, "sessions", METRIC),
    "entrances": (approx.ENTRANCES, "sessions", METRIC),
    "browserVersion": (approx.BROWSER_VERSION, None, DIMENSION),
}
# UA metrics counted per page view: read by landing page (entrances), they would change meaning.
PER_PAGE_VIEW = frozenset({
    "pageviews", "uniquePageviews", "avgTimeOnPage", "timeOnPage", "exits", "exitRate", "pageValue",
    "pageviewsPerSession", "totalEvents", "uniqueEvents", "hits",
})
PAGE_PATH = "pagePath"
LANDING_PAGE = "landingPagePlusQueryString"


def approximation_note(name: str, origin: Origin) -> str:
    """What the log and `--check` say of an approximation a query uses."""
    return f"approximation {name!r} (accepted in {origin.source}, key {origin.key!r}): {approx.APPROXIMATIONS[name]}"


class MigratedNames(NameTable):
    """The name table for one query: the built-in table, extended by the query's migration."""

    def __init__(self, migration: Migration | None, metrics: Iterable[str] = ()):
        self.migration = migration
        settings = migration.settings if migration is not None else None
        self.goals: Mapping[str, Goal] = settings.goals if settings is not None else {}
        self.fields: Mapping[str, Mapped] = settings.fields if settings is not None else {}
        self.accepted: Mapping[str, Origin] = settings.accepted if settings is not None else {}
        self.realtime_filters: Mapping[str, Mapped] = settings.realtime_filters if settings is not None else {}
        # GA4 name → where the operator mapped it, for each mapped name this table has answered.
        self.origins: dict[str, Origin] = {}
        bare_metrics = {bare_name(metric) for metric in metrics}
        self.entrances_by_landing_page = "entrances" in bare_metrics and approx.ENTRANCES in self.accepted
        self.per_page_view = sorted(bare_metrics & PER_PAGE_VIEW)

    def equivalent(self, name: str, kind: str, *, realtime: bool) -> Equivalent | None:
        if not realtime:
            found = self._migrated(name, kind)
            if found is not None:
                return found
        built_in = super().equivalent(name, kind, realtime=realtime)
        if built_in is not None and built_in.ga4 is None:
            return self._with_hint(name, kind, built_in, realtime=realtime)
        return built_in

    def segment_condition(self, segment: str) -> tuple[str, str]:
        """A `sessions::condition::<filters>` segment's condition, as a v3 filter to AND with the
        query's, and the note that says so; a ConfigurationError when it cannot be one."""
        accepted = self.accepted.get(approx.SEGMENT)
        match = SEGMENT.fullmatch(segment.strip())
        if accepted is None:
            hint = (
                f"; a 'sessions::condition::' segment on pages can be asked as a page filter: accept the "
                f"approximation {approx.SEGMENT!r} in {WHERE}"
                if match else ""
            )
            raise ConfigurationError(
                f"{segment!r}: {SEGMENT_REFUSAL}{hint}", source=SOURCE, key="segment",
                reason="segment" if not match else f"segment (needs approximation {approx.SEGMENT})",
            )
        if match is None or "::" in match["condition"]:
            raise ConfigurationError(
                f"{segment!r}: only a segment of the form 'sessions::condition::<filters>' can be asked as a "
                "page filter (approximation "
                f"{approx.SEGMENT!r}); GA4 has no equivalent of 'users::', 'sequence::', an excluding "
                "'condition::!' or a segment id: rewrite the query with 'filters', or a GA4 audience",
                source=SOURCE,
                key="segment",
                reason="segment that cannot be a filter",
            )
        note = f"segment {segment!r}: {approximation_note(approx.SEGMENT, accepted)}"
        return match["condition"], note

    def realtime_filter(self, written: str) -> Mapped | None:
        """The operator's stand-in for a realtime page-path filter, as written, if they gave one."""
        return self.realtime_filters.get(written.strip())

    def _migrated(self, name: str, kind: str) -> Equivalent | None:
        goal = GOAL.fullmatch(name)
        if kind == METRIC and goal is not None:
            return self._goal(goal["number"], goal["part"])
        mapped = self.fields.get(name)
        if mapped is not None and (
            (kind == DIMENSION and MAPPABLE_DIMENSION.fullmatch(name))
            or (kind == METRIC and MAPPABLE_METRIC.fullmatch(name))
        ):
            return self._mapped(mapped)
        if name in APPROXIMATED:
            approximation, ga4, approximated_kind = APPROXIMATED[name]
            origin = self.accepted.get(approximation)
            if origin is None or kind != approximated_kind:
                return None
            note = approximation_note(approximation, origin)
            if ga4 is None:
                return Equivalent(None, dropped=True, note=note, approximation=approximation)
            return Equivalent(ga4, note=note, approximation=approximation)
        if kind == DIMENSION and name == PAGE_PATH and self.entrances_by_landing_page:
            if self.per_page_view:
                return Equivalent(
                    None,
                    f"with the approximation {approx.ENTRANCES!r}, the page path is read as the landing page, "
                    f"which would change {', '.join(map(repr, self.per_page_view))} (counted per page view): "
                    "ask for 'entrances' in a query of its own",
                    reason="entrances with per-page-view metrics",
                )
            return Equivalent(LANDING_PAGE)
        return None

    def _goal(self, number: str, part: str) -> Equivalent | None:
        goal = self.goals.get(number)
        if part == "Starts":
            origin = self.accepted.get(approx.GOAL_STARTS)
            if goal is None or goal.start_event is None or origin is None:
                return None  # refused by the built-in table, with the hint of what is missing
            return self._mapped(
                goal.start_event, "keyEvents:", note=approximation_note(approx.GOAL_STARTS, origin),
                approximation=approx.GOAL_STARTS,
            )
        if goal is None or goal.key_event is None:
            return None
        if part == "ConversionRate":
            # GA4 answers the rate as a fraction; UA's was a percentage.
            return self._mapped(goal.key_event, "sessionKeyEventRate:", scale=100)
        return self._mapped(goal.key_event, "keyEvents:")

    def _mapped(
        self, mapped: Mapped, prefix: str = "", *, scale: int = 1, note: str = "", approximation: str | None = None
    ) -> Equivalent:
        ga4 = prefix + mapped.ga4
        self.origins.setdefault(ga4, mapped.origin)
        return Equivalent(ga4, scale=scale, note=note, approximation=approximation)

    def _with_hint(self, name: str, kind: str, refused: Equivalent, *, realtime: bool) -> Equivalent:
        """A refusal of the built-in table, saying what in the migration file would collect the name."""
        hint, reason = "", refused.reason or name
        goal = GOAL.fullmatch(name) if kind == METRIC and not realtime else None
        if realtime:
            if refused.reason == REALTIME_PAGE_PATH:
                hint = (
                    "; to count by page title instead, map the filter, as written, to a filter on "
                    f"'unifiedScreenName' (realtimeFilters) in {WHERE}"
                )
                reason = "realtime page-path filter not mapped to a title filter"
        elif goal is not None:
            number, part = goal["number"], goal["part"]
            if part == "Starts":
                hint = (
                    f"; to count the goal's start event instead, give goals.{number}.startEvent and accept the "
                    f"approximation {approx.GOAL_STARTS!r} in {WHERE}"
                )
                reason = f"goal starts (needs goals.N.startEvent and approximation {approx.GOAL_STARTS})"
            else:
                hint = f"; map goal {number} to its key event (goals.{number}) in {WHERE}"
                reason = "goal not mapped to a key event"
        elif (kind == DIMENSION and MAPPABLE_DIMENSION.fullmatch(name)) or (
            kind == METRIC and MAPPABLE_METRIC.fullmatch(name)
        ):
            hint = f"; map it to a GA4 field (fields.{name}) in {WHERE}"
            reason = f"{refused.reason or name} not mapped"
        elif name in APPROXIMATED and APPROXIMATED[name][2] == kind:
            approximation = APPROXIMATED[name][0]
            hint = f"; to collect it approximately, accept the approximation {approximation!r} in {WHERE}"
            reason = f"{name} (needs approximation {approximation})"
        if not hint:
            return refused
        return Equivalent(None, refused.why_not + hint, reason=reason)
