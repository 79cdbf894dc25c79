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
- Refused, with the nearest GA4 field named: goals (`goalNCompletions` ...: GA4 has key events),
  `uniquePageviews`, `uniqueEvents`, `entrances`, `percentNewSessions`, event category / action /
  label (GA4 events have a name and parameters), `socialNetwork`, `browserVersion`, UA custom
  dimensions by index (`dimension9`), `segment` (see `query`).
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
    """What GA4 has for one UA name: a field (maybe scaled or with other values), or a reason why not."""

    ga4: str | None
    why_not: str = ""
    scale: int = 1
    values: Mapping[str, str] = field(default_factory=dict)


def _refused(why_not: str) -> Equivalent:
    return Equivalent(None, why_not)


_EVENT_PARTS = _refused(
    "GA4 events have a name and parameters, not a category, action and label: use 'eventName', "
    "or 'customEvent:<parameter>' for a parameter registered as a custom dimension"
)
_CUSTOM_INDEX = _refused(
    "UA custom dimensions and metrics are numbered; GA4's are named: use "
    "'customEvent:<parameter>' or 'customUser:<user property>'"
)
_GOAL = _refused("GA4 has no goals: count the goal's event with 'keyEvents:<event name>'")

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
    "percentNewSessions": _refused(
        "GA4 has no such rate; collect 'newUsers' and 'totalUsers' and divide"
    ),
    "percentNewVisits": _refused("GA4 has no such rate; collect 'newUsers' and 'totalUsers' and divide"),
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

_NO_REALTIME_PATH = _refused(
    "GA4's Realtime API has no page path, so a realtime count cannot be limited to a URL; "
    "the nearest is 'unifiedScreenName' (the page title)"
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
    answers back into what UA reported.
    """

    written: str
    api_name: str
    kind: str
    scale: int = 1
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_metric(self) -> bool:
        return self.kind == METRIC


def bare_name(written: str, *, realtime: bool = False) -> str:
    """`ga:sessions` → `sessions` (and, for realtime, `rt:activeUsers` → `activeUsers`)."""
    for prefix in ("ga:", "rt:") if realtime else ("ga:",):
        if written.startswith(prefix):
            return written[len(prefix):]
    return written


def resolve(written: str, kind: str, *, key: str, realtime: bool = False) -> Field:
    """GA4's field for a name written under `key` of the query; a ConfigurationError if none."""
    name = bare_name(written, realtime=realtime)
    equivalent = _ua_equivalent(name, kind, realtime=realtime)
    if equivalent is not None:
        if equivalent.ga4 is None:
            raise ConfigurationError(
                f"{written!r} has no GA4 equivalent: {equivalent.why_not}", source=SOURCE, key=key
            )
        return Field(written, equivalent.ga4, kind, equivalent.scale, equivalent.values)
    known = schema.is_metric if kind == METRIC else schema.is_dimension
    if known(name, realtime=realtime):
        return Field(written, name, kind)
    raise ConfigurationError(_unknown(written, name, kind, realtime=realtime), source=SOURCE, key=key)


def resolve_filter_field(
    written: str, *, key: str, realtime: bool = False, metrics: frozenset[str] = frozenset()
) -> Field:
    """The field a filter term names: a metric if it is one (or is among the query's `metrics`)."""
    name = bare_name(written, realtime=realtime)
    if name in metrics or _ua_equivalent(name, METRIC, realtime=realtime) is not None or (
        schema.is_metric(name, realtime=realtime) and not schema.is_dimension(name, realtime=realtime)
    ):
        return resolve(written, METRIC, key=key, realtime=realtime)
    return resolve(written, DIMENSION, key=key, realtime=realtime)


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


def _unknown(written: str, name: str, kind: str, *, realtime: bool) -> str:
    report = "GA4's Realtime API" if realtime else "the GA4 Data API"
    other = DIMENSION if kind == METRIC else METRIC
    other_known = schema.is_dimension if kind == METRIC else schema.is_metric
    if other_known(name, realtime=realtime) or _ua_equivalent(name, other, realtime=realtime) is not None:
        return f"{written!r} is a {other}, not a {kind}"
    return (
        f"{written!r} is neither a {kind} of {report} nor a Universal Analytics {kind} with a GA4 "
        "equivalent (see https://developers.google.com/analytics/devguides/reporting/data/v1/"
        f"{'realtime-api-schema' if realtime else 'api-schema'})"
    )
