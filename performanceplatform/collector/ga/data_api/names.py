"""The UA → GA4 name table: which GA4 field answers for each name a v3 query file uses.

A name is looked up without its `ga:` (or, for realtime, `rt:`) prefix. A Universal Analytics
name in the table wins over a GA4 field of the same spelling, because query files were written
for UA: `pagePath` means UA's page path, which included the query string, so it reads GA4's
`pagePathPlusQueryString` (for GA4's path-only page dimension, ask for `unifiedPagePathScreen`);
`bounceRate` is reported as UA's percentage. Any other GA4 field name (apis-today.md §1.5,
`schema`) passes through unchanged. The record keeps the name as the query wrote it, so data
sets and dashboards see the fields they always saw.

Decisions, beyond the reference table (§1.5):
- `visits`, `visitors`, `newVisits`, `visitBounceRate`, `avgTimeOnSite`, `timeOnSite` are UA's
  older spellings of `sessions`, `users`, `newUsers`, `bounceRate`, `avgSessionDuration`,
  `sessionDuration`, and map as those do.
- `bounceRate` (and `visitBounceRate`): GA4 answers a fraction (0.4523), UA a percentage (45.23),
  so values are scaled by 100, and so are the numbers of filters on them. GA4's bounce is "not
  engaged", which differs from UA's single-page session; the scale keeps dashboards' axes right.
- `userType` / `visitorType` read `newVsReturning`, whose values `new` / `returning` are written
  back as UA's `New Visitor` / `Returning Visitor` (ids and dashboards contain them).
- `keyword` reads `sessionManualTerm` (the campaign term); `sourceMedium`, `source`, `medium`,
  `campaign` read GA4's session-scoped fields, which is what UA's were.
- `percentNewSessions` (and `percentNewVisits`) is derived: `newUsers / sessions * 100`, GA4
  having no such rate; a query using it is told so once a run (`Equivalent.note`).
- Refused, with the nearest GA4 field named: goals (`goalNCompletions` ...: GA4 has key events),
  `uniquePageviews`, `uniqueEvents`, `entrances`, event category / action / label (GA4 events
  have a name and parameters), `socialNetwork`, `browserVersion`, UA custom dimensions by index
  (`dimension9`), `segment` (see `query`). A GA4 migration file (`ga.migration`) maps goals,
  event fields and custom dimensions per property, and lets the operator accept named
  approximations for the rest: `NameTable` is the table a migration extends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.data_api import schema

METRIC = "metric"
DIMENSION = "dimension"
SOURCE = "query"
NEW_OR_RETURNING = MappingProxyType({"new": "New Visitor", "returning": "Returning Visitor"})


@dataclass(frozen=True)
class Equivalent:
    """What GA4 has for one UA name: a field (maybe scaled or with other values), or a reason why not.

    `per` makes a derived metric: GA4's `ga4` divided by GA4's `per` (then scaled). `dropped`
    makes a dimension GA4 is not asked for (an accepted approximation): records hold
    `DROPPED_VALUE` for it. `note` is said once a run, and by `--check`, to a query that uses the
    name (what is derived or approximated); `approximation` names the approximation accepted for
    it. `reason` labels a refusal in a few words, the same for every query it refuses.
    """

    ga4: str | None
    why_not: str = ""
    scale: int = 1
    values: Mapping[str, str] = field(default_factory=dict)
    per: str | None = None
    dropped: bool = False
    note: str = ""
    approximation: str | None = None
    reason: str = ""


def _refused(why_not: str, reason: str = "") -> Equivalent:
    return Equivalent(None, why_not, reason=reason)


# What a record holds for a dimension dropped from the GA4 request: GA4's own word for no value.
DROPPED_VALUE = "(not set)"


_EVENT_PARTS = _refused(
    "GA4 events have a name and parameters, not a category, action and label: use 'eventName', "
    "or 'customEvent:<parameter>' for a parameter registered as a custom dimension",
    "event category / action / label",
)
_CUSTOM_INDEX = _refused(
    "UA custom dimensions and metrics are numbered; GA4's are named: use "
    "'customEvent:<parameter>' or 'customUser:<user property>'",
    "UA custom dimension or metric by index",
)
_GOAL = _refused("GA4 has no goals: count the goal's event with 'keyEvents:<event name>'", "goals")
PERCENT_NEW_SESSIONS = Equivalent(
    "newUsers",
    per="sessions",
    scale=100,
    note="'{written}' is derived: GA4 has no such rate, so it is newUsers / sessions * 100",
)

UA_METRICS: Mapping[str, Equivalent] = MappingProxyType({
    "sessions": Equivalent("sessions"),
    "visits": Equivalent("sessions"),
    "users": Equivalent("totalUsers"),
    "visitors": Equivalent("totalUsers"),
    "newUsers": Equivalent("newUsers"),
    "newVisits": Equivalent("newUsers"),
    "1dayUsers": Equivalent("active1DayUsers"),
    "7dayUsers": Equivalent("active7DayUsers"),
    "28dayUsers": Equivalent("active28DayUsers"),
    "pageviews": Equivalent("screenPageViews"),
    "pageviewsPerSession": Equivalent("screenPageViewsPerSession"),
    "sessionsPerUser": Equivalent("sessionsPerUser"),
    "hits": Equivalent("eventCount"),
    "totalEvents": Equivalent("eventCount"),
    "sessionDuration": Equivalent("userEngagementDuration"),
    "timeOnSite": Equivalent("userEngagementDuration"),
    "avgSessionDuration": Equivalent("averageSessionDuration"),
    "avgTimeOnSite": Equivalent("averageSessionDuration"),
    "bounceRate": Equivalent("bounceRate", scale=100),
    "visitBounceRate": Equivalent("bounceRate", scale=100),
    "transactions": Equivalent("transactions"),
    "uniquePageviews": _refused(
        "GA4 does not count unique page views; the nearest is 'sessions' with a page dimension"
    ),
    "uniqueEvents": _refused("GA4 does not count unique events; the nearest is 'eventCount'"),
    "entrances": _refused(
        "the Data API has no entrances; the nearest is 'sessions' by 'landingPagePlusQueryString'"
    ),
    "percentNewSessions": PERCENT_NEW_SESSIONS,
    "percentNewVisits": PERCENT_NEW_SESSIONS,
    "avgTimeOnPage": _refused(
        "GA4 does not time page views; the nearest is 'userEngagementDuration' over 'screenPageViews'"
    ),
    "searchUniques": _refused("GA4 does not count site-search sessions; use 'eventCount' of 'view_search_results'"),
})

UA_DIMENSIONS: Mapping[str, Equivalent] = MappingProxyType({
    "pagePath": Equivalent("pagePathPlusQueryString"),
    "landingPagePath": Equivalent("landingPagePlusQueryString"),
    "hostname": Equivalent("hostName"),
    "source": Equivalent("sessionSource"),
    "medium": Equivalent("sessionMedium"),
    "sourceMedium": Equivalent("sessionSourceMedium"),
    "campaign": Equivalent("sessionCampaignName"),
    "keyword": Equivalent("sessionManualTerm"),
    "userType": Equivalent("newVsReturning", values=NEW_OR_RETURNING),
    "visitorType": Equivalent("newVsReturning", values=NEW_OR_RETURNING),
    "searchKeyword": Equivalent("searchTerm"),
    "eventCategory": _EVENT_PARTS,
    "eventAction": _EVENT_PARTS,
    "eventLabel": _EVENT_PARTS,
    "socialNetwork": _refused("GA4 has no social network dimension; the nearest is 'sessionSource'"),
    "browserVersion": _refused("the Data API reports 'browser' but not its version"),
    "searchStartPage": _refused("GA4 does not record where a site search started"),
})

# Names the Real Time API v3 used (`rt:` or `ga:`); GA4's realtime report has its own small schema.
UA_REALTIME_METRICS: Mapping[str, Equivalent] = MappingProxyType({
    "activeUsers": Equivalent("activeUsers"),
    "activeVisitors": Equivalent("activeUsers"),
    "pageviews": Equivalent("screenPageViews"),
    "screenViews": Equivalent("screenPageViews"),
    "totalEvents": Equivalent("eventCount"),
})

REALTIME_PAGE_PATH = "realtime page path"
_NO_REALTIME_PATH = _refused(
    "GA4's Realtime API has no page path, so a realtime count cannot be limited to a URL; "
    "the nearest is 'unifiedScreenName' (the page title)",
    REALTIME_PAGE_PATH,
)
UA_REALTIME_DIMENSIONS: Mapping[str, Equivalent] = MappingProxyType({
    "pagePath": _NO_REALTIME_PATH,
    "pagePathPlusQueryString": _NO_REALTIME_PATH,
    "landingPagePath": _NO_REALTIME_PATH,
    "pageTitle": Equivalent("unifiedScreenName"),
    "deviceCategory": Equivalent("deviceCategory"),
    "country": Equivalent("country"),
    "city": Equivalent("city"),
    "eventCategory": _EVENT_PARTS,
    "eventAction": _EVENT_PARTS,
    "eventLabel": _EVENT_PARTS,
    "userType": _refused("GA4's Realtime API has no new/returning dimension"),
    "visitorType": _refused("GA4's Realtime API has no new/returning dimension"),
})

_UA_PATTERNS: tuple[tuple[re.Pattern[str], str, Equivalent], ...] = (
    (re.compile(r"goal(\d+|XX)(Starts|Completions|ConversionRate|Value|Abandons|AbandonRate)"), METRIC, _GOAL),
    (re.compile(r"goal(Starts|Completions|ConversionRate|Value|Abandons|AbandonRate)All"), METRIC, _GOAL),
    (re.compile(r"(dimension|customVarName|customVarValue)\d+"), DIMENSION, _CUSTOM_INDEX),
    (re.compile(r"metric\d+"), METRIC, _CUSTOM_INDEX),
)


@dataclass(frozen=True)
class Field:
    """One metric or dimension of a query: the name it was written as, and GA4's field for it.

    `written` is the record's key, as in the v3 collectors; `scale` and `values` turn GA4's
    answers back into what UA reported. A derived metric (`per`) is `api_name / per * scale`; a
    `dropped` dimension is not asked of GA4 (its `api_name` is empty) and holds `DROPPED_VALUE`.
    `note` and `approximation` come from the `Equivalent` (see there).
    """

    written: str
    api_name: str
    kind: str
    scale: int = 1
    values: Mapping[str, str] = field(default_factory=dict)
    per: str | None = None
    dropped: bool = False
    note: str = ""
    approximation: str | None = None

    @property
    def is_metric(self) -> bool:
        return self.kind == METRIC

    @property
    def api_names(self) -> tuple[str, ...]:
        """The GA4 fields its value is read from: none for a dropped dimension, two for a derived metric."""
        if self.dropped:
            return ()
        return (self.api_name, self.per) if self.per else (self.api_name,)


def bare_name(written: str, *, realtime: bool = False) -> str:
    """`ga:sessions` → `sessions` (and, for realtime, `rt:activeUsers` → `activeUsers`)."""
    for prefix in ("ga:", "rt:") if realtime else ("ga:",):
        if written.startswith(prefix):
            return written[len(prefix):]
    return written


class NameTable:
    """Which GA4 field answers for a name a query wrote: the UA → GA4 table above, then GA4's own
    names (`schema`). A GA4 migration (`ga.migration.names`) extends `equivalent` with what the
    operator mapped (goals, event fields) and the approximations they accepted."""

    def equivalent(self, name: str, kind: str, *, realtime: bool) -> Equivalent | None:
        """What GA4 has for the bare UA name `name`, or None when the table does not know it."""
        return _ua_equivalent(name, kind, realtime=realtime)

    def resolve(self, written: str, kind: str, *, key: str, realtime: bool = False) -> Field:
        """GA4's field for a name written under `key` of the query; a ConfigurationError if none."""
        name = bare_name(written, realtime=realtime)
        equivalent = self.equivalent(name, kind, realtime=realtime)
        if equivalent is not None:
            if equivalent.ga4 is None and not equivalent.dropped:
                raise ConfigurationError(
                    f"{written!r} has no GA4 equivalent: {equivalent.why_not}",
                    source=SOURCE,
                    key=key,
                    reason=equivalent.reason or name,
                )
            return Field(
                written,
                "" if equivalent.dropped else str(equivalent.ga4),
                kind,
                equivalent.scale,
                equivalent.values,
                equivalent.per,
                equivalent.dropped,
                equivalent.note.format(written=written),
                equivalent.approximation,
            )
        known = schema.is_metric if kind == METRIC else schema.is_dimension
        if known(name, realtime=realtime):
            return Field(written, name, kind)
        raise ConfigurationError(
            self._unknown(written, name, kind, realtime=realtime), source=SOURCE, key=key, reason="unknown name"
        )

    def resolve_filter_field(
        self, written: str, *, key: str, realtime: bool = False, metrics: frozenset[str] = frozenset()
    ) -> Field:
        """The field a filter term names: a metric if it is one (or is among the query's `metrics`)."""
        name = bare_name(written, realtime=realtime)
        if name in metrics or self.equivalent(name, METRIC, realtime=realtime) is not None or (
            schema.is_metric(name, realtime=realtime) and not schema.is_dimension(name, realtime=realtime)
        ):
            return self.resolve(written, METRIC, key=key, realtime=realtime)
        return self.resolve(written, DIMENSION, key=key, realtime=realtime)

    def _unknown(self, written: str, name: str, kind: str, *, realtime: bool) -> str:
        report = "GA4's Realtime API" if realtime else "the GA4 Data API"
        other = DIMENSION if kind == METRIC else METRIC
        other_known = schema.is_dimension if kind == METRIC else schema.is_metric
        if other_known(name, realtime=realtime) or self.equivalent(name, other, realtime=realtime) is not None:
            return f"{written!r} is a {other}, not a {kind}"
        return (
            f"{written!r} is neither a {kind} of {report} nor a Universal Analytics {kind} with a GA4 "
            "equivalent (see https://developers.google.com/analytics/devguides/reporting/data/v1/"
            f"{'realtime-api-schema' if realtime else 'api-schema'})"
        )


# The built-in table, with nothing mapped by a migration.
UA_NAMES = NameTable()


def resolve(written: str, kind: str, *, key: str, realtime: bool = False) -> Field:
    """GA4's field for a name written under `key` of the query, by the built-in table."""
    return UA_NAMES.resolve(written, kind, key=key, realtime=realtime)


def resolve_filter_field(
    written: str, *, key: str, realtime: bool = False, metrics: frozenset[str] = frozenset()
) -> Field:
    """The field a filter term names, by the built-in table (see `NameTable.resolve_filter_field`)."""
    return UA_NAMES.resolve_filter_field(written, key=key, realtime=realtime, metrics=metrics)


def _ua_equivalent(name: str, kind: str, *, realtime: bool) -> Equivalent | None:
    if realtime:
        table = UA_REALTIME_METRICS if kind == METRIC else UA_REALTIME_DIMENSIONS
        return table.get(name)
    table = UA_METRICS if kind == METRIC else UA_DIMENSIONS
    if name in table:
        return table[name]
    for pattern, pattern_kind, equivalent in _UA_PATTERNS:
        if pattern_kind == kind and pattern.fullmatch(name):
            return equivalent
    return None
