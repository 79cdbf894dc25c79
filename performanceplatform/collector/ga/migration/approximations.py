"""The approximations an operator may accept for what GA4 cannot answer exactly, by name.

Each is opt-in (listed under `approximations` in the GA4 migration file, or a query's
`options.ga4`), said once a run in the log and by `--check`, and named in the migration report.
Nothing is approximated silently: a query needing an approximation that is not accepted is
refused, with the approximation's name in the reason. The facts behind each are in
ga4-migration.md (reference): GA4's `runReport` has no segments, no entrances, no unique counts,
no funnel starts and no browser version.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

SEGMENT = "segment-as-page-filter"
ENTRANCES = "entrances-as-sessions"
UNIQUE_PAGEVIEWS = "unique-pageviews-as-sessions"
UNIQUE_EVENTS = "unique-events-as-sessions"
GOAL_STARTS = "goal-starts-from-start-event"
BROWSER_VERSION = "drop-browser-version"

# What each approximation does, as the log, --check and the report say it.
APPROXIMATIONS: Mapping[str, str] = MappingProxyType({
    SEGMENT: "a 'sessions::condition::' segment is asked as a page filter AND-ed to the query's filters: it "
    "selects hits on the pages, not whole sessions that visited them, so the numbers are close, not equal",
    ENTRANCES: "'entrances' is GA4's 'sessions', and the query's page path (in 'dimensions' and 'filters') "
    "is read as the landing page ('landingPagePlusQueryString'): the sessions that began on the page",
    UNIQUE_PAGEVIEWS: "'uniquePageviews' is GA4's 'sessions': the sessions that viewed the page, not the "
    "page-and-title pairs UA counted",
    UNIQUE_EVENTS: "'uniqueEvents' is GA4's 'sessions': the sessions with the event, not UA's unique events",
    GOAL_STARTS: "'goalNStarts' counts the goal's start event ('keyEvents:<start event>'): events, not the "
    "sessions that entered the funnel (GA4's funnels are a separate, v1alpha report)",
    BROWSER_VERSION: "'browserVersion' is dropped from the GA4 request (GA4 has no browser version): rows are per "
    "browser and records hold browserVersion '(not set)', so their _ids differ from the UA records'",
})
