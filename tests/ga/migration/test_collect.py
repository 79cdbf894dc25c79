"""`pp-collector` with a GA4 migration file, against the Data API, OAuth and Backdrop stand-ins over
real HTTP: the view id finds its property, each mapping and approximation reaches the request body
and the records, approximations are opt-in and said once a run, and names the property lacks fail
with the nearest ones before any report request."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from performanceplatform.collector.ga.migration import approximations as approx
from tests.support.cli import CliResult
from tests.support.google import GA4_PROPERTY, Ga4Collector, GaCollector

VIEW = "ga:94136256"
PROPERTY = "properties/312345678"
WEEK = ("-s", "2014-10-13", "-e", "2014-10-19")
EVENT_FIELDS = {"eventCategory": "customEvent:event_category", "eventAction": "eventName",
                "eventLabel": "customEvent:event_label"}


def write_map(ga4: Ga4Collector, settings: dict[str, Any] | None = None, **extra: Any) -> Path:
    """A migration file mapping VIEW to PROPERTY, with `settings` for the property."""
    document = {"views": {VIEW: PROPERTY}, "properties": {PROPERTY: settings or {}}, **extra}
    return ga4.configs.write("ga4-map.json", document)


def run(ga4: Ga4Collector, query: dict[str, Any], options: dict[str, Any] | None = None, *args: str,
        settings: dict[str, Any] | None = None) -> CliResult:
    """A `ga` query of VIEW under a migration file with `settings` for its property."""
    return ga4.run("ga", {"id": VIEW, **query}, options, "--ga4-map", str(write_map(ga4, settings)), *args)


def warnings(result: CliResult, text: str) -> list[str]:
    return [line for line in result.text_log().splitlines() if "WARNING" in line and text in line]


# Which property, which source -------------------------------------------------------------------------


def test_a_mapped_view_is_asked_of_its_property_after_its_metadata(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"deviceCategory": "mobile", "sessions": "5"}])

    result = run(ga4_collector, {"metrics": ["sessions"], "dimensions": ["deviceCategory"]}, {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert [(r.method, r.path) for r in ga4_collector.api.requests] == [
        ("GET", f"/v1beta/{PROPERTY}/metadata"), ("POST", f"/v1beta/{PROPERTY}:runReport")]
    assert [(r["sessions"], r["deviceCategory"]) for r in ga4_collector.records()] == [(5, "mobile")]


def test_the_migration_file_can_be_named_in_the_environment(
    ga4_collector: Ga4Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PP_COLLECTOR_GA4_MAP", str(write_map(ga4_collector)))

    result = ga4_collector.run("ga", {"id": VIEW, "metrics": ["sessions"]}, {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert ga4_collector.api.report_requests()[0].path == f"/v1beta/{PROPERTY}:runReport"


def test_a_query_can_name_its_own_property_and_settings_in_options(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.define(GA4_PROPERTY, key_events=["apply"])
    options = {"ga4": {"property": GA4_PROPERTY, "goals": {"1": "apply"}}}

    result = ga4_collector.run("ga", {"id": VIEW, "metrics": ["goal1Completions"]}, options, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert ga4_collector.bodies()[0]["metrics"] == [{"name": "keyEvents:apply"}]
    assert ga4_collector.api.report_requests()[0].path == f"/v1beta/{GA4_PROPERTY}:runReport"


def test_a_view_the_file_does_not_map_stays_on_universal_analytics(
    ga_collector: GaCollector, ga4_collector: Ga4Collector
) -> None:
    ga_collector.ga.add_core_rows([["mobile", "5"]])
    migration_file = write_map(ga4_collector)
    query = {"id": "ga:1", "metrics": ["sessions"], "dimensions": ["deviceCategory"]}

    result = ga_collector.run("ga", query, {}, *WEEK, "--ga4-map", str(migration_file))

    assert result.exit_code == 0, result.stderr
    assert len(ga_collector.ga.core_requests()) == 1
    assert ga4_collector.api.requests == []


def test_settings_of_a_view_win_over_its_property_s_and_a_query_s_over_both(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.define(PROPERTY, key_events=["property_goal", "view_goal", "query_goal"])
    migration_file = ga4_collector.configs.write("ga4-map.json", {
        "views": {VIEW: {"property": PROPERTY, "goals": {"2": "view_goal"}}},
        "properties": {PROPERTY: {"goals": {"1": "property_goal", "2": "property_goal", "3": "property_goal"}}},
    })
    query = {"id": VIEW, "metrics": ["goal1Completions", "goal2Completions", "goal3Completions"]}

    result = ga4_collector.run("ga", query, {"ga4": {"goals": {"3": "query_goal"}}}, *WEEK,
                               "--ga4-map", str(migration_file))

    assert result.exit_code == 0, result.stderr
    assert ga4_collector.bodies()[0]["metrics"] == [
        {"name": "keyEvents:property_goal"}, {"name": "keyEvents:view_goal"}, {"name": "keyEvents:query_goal"}]


# Exact, automatic -------------------------------------------------------------------------------------


def test_total_events_is_event_count(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"eventCount": "42"}])

    result = ga4_collector.run("ga", {"id": GA4_PROPERTY, "metrics": ["totalEvents"]}, {}, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert ga4_collector.bodies()[0]["metrics"] == [{"name": "eventCount"}]
    assert ga4_collector.records()[0]["totalEvents"] == 42


def test_percent_new_sessions_is_derived_and_said_once_a_run(ga4_collector: Ga4Collector) -> None:
    for week, new_users, sessions in (("2014-10-13", "2", "8"), ("2014-10-20", "0", "0")):
        ga4_collector.api.add_rows([{"deviceCategory": "mobile", "newUsers": new_users, "sessions": sessions}],
                                   start_date=week)
    query = {"id": GA4_PROPERTY, "metrics": ["sessions", "percentNewSessions"], "dimensions": ["deviceCategory"]}

    result = ga4_collector.run("ga", query, {}, "-s", "2014-10-13", "-e", "2014-10-26")

    assert result.exit_code == 0, result.stderr
    assert {json.dumps(body["metrics"]) for body in ga4_collector.bodies()} == {
        json.dumps([{"name": "sessions"}, {"name": "newUsers"}])}
    # UA's percentage, a float; and 0.0 where there were no sessions, as UA answered.
    assert [(r["sessions"], r["percentNewSessions"]) for r in ga4_collector.records()] == [(8, 25.0), (0, 0.0)]
    assert len(warnings(result, "'percentNewSessions' is derived")) == 1


def test_mapped_goals_read_key_events_with_ua_s_names_scale_and_ids(
    ga_collector: GaCollector, ga4_collector: Ga4Collector
) -> None:
    ga4_collector.api.define(PROPERTY, key_events=["purchase"])
    ga4_collector.api.add_rows([{"deviceCategory": "mobile", "keyEvents:purchase": "7",
                                 "sessionKeyEventRate:purchase": "0.125"}])
    ga_collector.ga.add_core_rows([["mobile", "7", "12.5"]])
    query = {"metrics": ["goal1Completions", "goal1ConversionRate"], "dimensions": ["deviceCategory"]}
    options = {"mappings": {"goal1Completions": "count"}}

    v3 = ga_collector.run("ga", {"id": "ga:1", **query}, options, *WEEK)
    v3_records = ga_collector.records()
    ga4 = run(ga4_collector, query, options, *WEEK, settings={"goals": {"1": "purchase"}})

    assert (v3.exit_code, ga4.exit_code) == (0, 0), ga4.stderr
    assert ga4_collector.bodies()[0]["metrics"] == [
        {"name": "keyEvents:purchase"}, {"name": "sessionKeyEventRate:purchase"}]
    # The records UA's would have been: the same names, the rate as a percentage, the same _ids.
    assert ga4_collector.records() == v3_records
    assert [(r["count"], r["goal1ConversionRate"]) for r in v3_records] == [(7, 12.5)]


def test_event_fields_read_the_fields_the_migration_file_names(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.define(PROPERTY, custom_dimensions=["customEvent:event_category", "customEvent:event_label"])
    ga4_collector.api.add_rows([
        {"customEvent:event_category": "carers", "eventName": "submit", "customEvent:event_label": "done",
         "eventCount": "3"},
        {"customEvent:event_category": "other", "eventName": "submit", "customEvent:event_label": "done",
         "eventCount": "9"},
    ])
    query = {"metrics": ["totalEvents"], "dimensions": ["eventCategory", "eventAction", "eventLabel"],
             "filters": ["eventCategory==carers"]}

    result = run(ga4_collector, query, {}, *WEEK, settings={"fields": EVENT_FIELDS})

    assert result.exit_code == 0, result.stderr
    (body,) = ga4_collector.bodies()
    assert body["dimensions"] == [{"name": name} for name in EVENT_FIELDS.values()]
    assert body["dimensionFilter"] == {"filter": {"fieldName": "customEvent:event_category", "stringFilter": {
        "matchType": "EXACT", "value": "carers", "caseSensitive": False}}}
    assert [(r["eventCategory"], r["eventAction"], r["eventLabel"], r["totalEvents"])
            for r in ga4_collector.records()] == [("carers", "submit", "done", 3)]


# Approximations: opt-in, said once a run, listed by --check -------------------------------------------

# Per approximation: a query needing it, the property's definitions, the settings besides acceptance.
NEEDING = {
    approx.SEGMENT: ({"metrics": ["sessions"], "segment": "sessions::condition::ga:pagePath=~/pay-online/vat"},
                     {}, {}),
    approx.ENTRANCES: ({"metrics": ["entrances"]}, {}, {}),
    approx.UNIQUE_PAGEVIEWS: ({"metrics": ["uniquePageviews"], "dimensions": ["pageTitle"]}, {}, {}),
    approx.UNIQUE_EVENTS: ({"metrics": ["uniqueEvents"], "dimensions": ["eventCategory"]},
                           {"custom_dimensions": ["customEvent:event_category"]}, {"fields": EVENT_FIELDS}),
    approx.GOAL_STARTS: ({"metrics": ["goal2Starts"]}, {"key_events": ["begin_form"]},
                         {"goals": {"2": {"startEvent": "begin_form"}}}),
    approx.BROWSER_VERSION: ({"metrics": ["sessions"], "dimensions": ["browser", "browserVersion"]}, {}, {}),
}


@pytest.mark.parametrize("approximation", list(NEEDING))
def test_an_approximation_not_accepted_is_refused_naming_it(ga4_collector: Ga4Collector, approximation: str) -> None:
    query, definitions, settings = NEEDING[approximation]
    ga4_collector.api.define(PROPERTY, **definitions)

    for flags in (WEEK, ("--check",)):
        result = run(ga4_collector, query, {}, *flags, settings=settings)

        assert result.exit_code == 2
        (line,) = result.stderr.strip().splitlines()
        assert "query file" in line and "key 'query." in line and f"approximation {approximation!r}" in line, line
    assert ga4_collector.api.requests == []


@pytest.mark.parametrize("approximation", list(NEEDING))
def test_an_accepted_approximation_is_said_once_a_run_and_by_check(
    ga4_collector: Ga4Collector, approximation: str
) -> None:
    query, definitions, settings = NEEDING[approximation]
    ga4_collector.api.define(PROPERTY, **definitions)
    ga4_collector.api.auto_rows = 2
    settings = {**settings, "approximations": [approximation]}

    checked = run(ga4_collector, query, {}, "--check", settings=settings)
    result = run(ga4_collector, query, {}, "-s", "2014-10-13", "-e", "2014-10-26", settings=settings)

    assert checked.exit_code == 0, checked.stderr
    (note,) = checked.stderr.strip().splitlines()
    assert note.startswith("pp-collector: check: note: query file ") and f"approximation {approximation!r}" in note
    assert "ga4-map.json" in note and checked.stdout.endswith(": OK\n")
    assert result.exit_code == 0, result.stderr
    assert len(ga4_collector.bodies()) == 2  # two weeks, and the approximation said once
    assert len(warnings(result, f"approximation {approximation!r}")) == 1


def test_a_segment_is_a_page_filter_anded_with_the_query_s(ga4_collector: Ga4Collector) -> None:
    query = {"metrics": ["sessions"], "filters": ["deviceCategory==mobile"],
             "segment": "sessions::condition::ga:pagePath=~/pay-online/vat"}

    result = run(ga4_collector, query, {}, *WEEK, settings={"approximations": [approx.SEGMENT]})

    assert result.exit_code == 0, result.stderr
    assert ga4_collector.bodies()[0]["dimensionFilter"] == {"andGroup": {"expressions": [
        {"filter": {"fieldName": "deviceCategory",
                    "stringFilter": {"matchType": "EXACT", "value": "mobile", "caseSensitive": False}}},
        {"filter": {"fieldName": "pagePathPlusQueryString", "stringFilter": {
            "matchType": "PARTIAL_REGEXP", "value": "/pay-online/vat", "caseSensitive": False}}},
    ]}}


@pytest.mark.parametrize("segment", ["users::condition::ga:pagePath==/a", "sessions::sequence::ga:pagePath==/a",
                                     "sessions::condition::!ga:pagePath==/a", "gaid::-3",
                                     "sessions::condition::ga:sessions>2"])
def test_a_segment_that_cannot_be_a_filter_is_refused_even_when_accepted(
    ga4_collector: Ga4Collector, segment: str
) -> None:
    result = run(ga4_collector, {"metrics": ["sessions"], "segment": segment}, {}, "--check",
                 settings={"approximations": [approx.SEGMENT]})

    assert result.exit_code == 2
    assert "key 'query.segment'" in result.stderr and "GA4 has no equivalent" in result.stderr


def test_entrances_are_sessions_and_the_page_path_the_landing_page(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.add_rows([{"sessionManualTerm": "carers", "landingPagePlusQueryString": "/how-to-claim",
                                 "sessions": "11", "bounceRate": "0.5"}])
    query = {"metrics": ["entrances", "visitBounceRate"], "dimensions": ["keyword"], "sort": ["-entrances"],
             "filters": "ga:pagePath==/how-to-claim;ga:keyword!=(not set)"}

    result = run(ga4_collector, query, {}, *WEEK, settings={"approximations": [approx.ENTRANCES]})

    assert result.exit_code == 0, result.stderr
    (body,) = ga4_collector.bodies()
    assert body["metrics"] == [{"name": "sessions"}, {"name": "bounceRate"}]
    assert body["orderBys"] == [{"metric": {"metricName": "sessions"}, "desc": True}]
    assert [item["filter"]["fieldName"] if "filter" in item else item["notExpression"]["filter"]["fieldName"]
            for item in body["dimensionFilter"]["andGroup"]["expressions"]] == [
        "landingPagePlusQueryString", "sessionManualTerm"]
    assert [(r["keyword"], r["entrances"], r["visitBounceRate"]) for r in ga4_collector.records()] == [
        ("carers", 11, 50)]


def test_entrances_with_page_views_by_page_are_refused(ga4_collector: Ga4Collector) -> None:
    query = {"metrics": ["entrances", "pageviews"], "dimensions": ["pagePath"]}

    result = run(ga4_collector, query, {}, "--check", settings={"approximations": [approx.ENTRANCES]})

    assert result.exit_code == 2
    assert "key 'query.dimensions'" in result.stderr and "'pageviews'" in result.stderr


def test_unique_page_views_and_unique_events_are_sessions(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.define(PROPERTY, custom_dimensions=["customEvent:event_category"])
    settings = {"fields": EVENT_FIELDS, "approximations": [approx.UNIQUE_PAGEVIEWS, approx.UNIQUE_EVENTS]}
    ga4_collector.api.add_rows([{"pageTitle": "Home", "screenPageViews": "9", "sessions": "4"}])

    pages = run(ga4_collector, {"metrics": ["pageviews", "uniquePageviews"], "dimensions": ["pageTitle"],
                                "sort": ["-uniquePageviews"]}, {"dataType": "pages"}, *WEEK, settings=settings)
    events = run(ga4_collector, {"metrics": ["uniqueEvents"], "dimensions": ["eventCategory"]},
                 {"dataType": "events"}, *WEEK, settings=settings)

    assert (pages.exit_code, events.exit_code) == (0, 0), pages.stderr + events.stderr
    page_body, event_body = ga4_collector.bodies()
    assert page_body["metrics"] == [{"name": "screenPageViews"}, {"name": "sessions"}]
    assert page_body["orderBys"] == [{"metric": {"metricName": "sessions"}, "desc": True}]
    assert event_body["metrics"] == [{"name": "sessions"}]
    assert event_body["dimensions"] == [{"name": "customEvent:event_category"}]
    page_record = next(r for r in ga4_collector.records() if r["dataType"] == "pages")
    assert (page_record["pageviews"], page_record["uniquePageviews"]) == (9, 4)


def test_goal_starts_count_the_start_event(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.define(PROPERTY, key_events=["begin_form", "submit_form"])
    ga4_collector.api.add_rows([{"keyEvents:begin_form": "20", "keyEvents:submit_form": "5"}])
    settings = {"goals": {"2": {"keyEvent": "submit_form", "startEvent": "begin_form"}},
                "approximations": [approx.GOAL_STARTS]}

    result = run(ga4_collector, {"metrics": ["goal2Starts", "goal2Completions"]}, {}, *WEEK, settings=settings)

    assert result.exit_code == 0, result.stderr
    assert ga4_collector.bodies()[0]["metrics"] == [{"name": "keyEvents:begin_form"}, {"name": "keyEvents:submit_form"}]
    assert [(r["goal2Starts"], r["goal2Completions"]) for r in ga4_collector.records()] == [(20, 5)]


def test_goal_starts_without_a_start_event_are_refused_saying_what_to_map(ga4_collector: Ga4Collector) -> None:
    settings = {"goals": {"2": "submit_form"}, "approximations": [approx.GOAL_STARTS]}

    result = run(ga4_collector, {"metrics": ["goal2Starts"]}, {}, "--check", settings=settings)

    assert result.exit_code == 2
    assert "goals.2.startEvent" in result.stderr


def test_a_dropped_browser_version_keeps_the_records_shape_and_says_the_ids_change(
    ga4_collector: Ga4Collector
) -> None:
    ga4_collector.api.add_rows([{"browser": "Chrome", "sessions": "30"}, {"browser": "Safari", "sessions": "12"}])
    options = {"plugins": ["ComputeIdFrom('_timestamp', 'browser', 'browserVersion')"]}

    result = run(ga4_collector, {"metrics": ["sessions"], "dimensions": ["browser", "browserVersion"]}, options,
                 *WEEK, settings={"approximations": [approx.BROWSER_VERSION]})

    assert result.exit_code == 0, result.stderr
    assert ga4_collector.bodies()[0]["dimensions"] == [{"name": "browser"}]
    assert [(r["browser"], r["browserVersion"], r["sessions"], r["humanId"]) for r in ga4_collector.records()] == [
        ("Chrome", "(not set)", 30, "20141013000000_Chrome_(not set)"),
        ("Safari", "(not set)", 12, "20141013000000_Safari_(not set)")]
    (warning,) = warnings(result, f"approximation {approx.BROWSER_VERSION!r}")
    assert "_ids differ" in warning


def test_a_dropped_browser_version_cannot_be_filtered(ga4_collector: Ga4Collector) -> None:
    query = {"metrics": ["sessions"], "dimensions": ["browser", "browserVersion"],
             "filters": ["browserVersion==40.0"]}

    result = run(ga4_collector, query, {}, "--check", settings={"approximations": [approx.BROWSER_VERSION]})

    assert result.exit_code == 2
    assert "key 'query.filters'" in result.stderr and "cannot filter on it" in result.stderr


# The property's own names -----------------------------------------------------------------------------


def test_a_custom_dimension_the_property_lacks_fails_with_the_nearest_names(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.define(PROPERTY, custom_dimensions=["customEvent:event_category", "customEvent:event_label"])
    settings = {"fields": {"eventCategory": "customEvent:event_categry"}}

    result = run(ga4_collector, {"metrics": ["sessions"], "dimensions": ["eventCategory"]}, {}, *WEEK,
                 settings=settings)

    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "ga4-map.json: key 'properties.properties/312345678.fields.eventCategory'" in line
    assert f"'customEvent:event_categry' is not a dimension of {PROPERTY}" in line
    assert "nearest: 'customEvent:event_category', 'customEvent:event_label'" in line
    assert ga4_collector.api.report_requests() == []
    assert len(ga4_collector.api.metadata_requests()) == 1


def test_a_key_event_the_property_lacks_fails_with_the_nearest_names(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.define(PROPERTY, key_events=["purchase"])

    result = run(ga4_collector, {"metrics": ["goal1Completions"]}, {}, *WEEK, settings={"goals": {"1": "purchse"}})

    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "key 'properties.properties/312345678.goals.1.keyEvent'" in line
    assert "'keyEvents:purchse' is not a metric" in line and "nearest: 'keyEvents:purchase'" in line
    assert "mark the event as a key event" in line
    assert ga4_collector.api.report_requests() == []


def test_check_online_asks_the_property_whether_it_has_the_names(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.define(PROPERTY, key_events=["purchase"])

    offline = run(ga4_collector, {"metrics": ["goal1Completions"]}, {}, "--check", settings={"goals": {"1": "purchse"}})
    online = run(ga4_collector, {"metrics": ["goal1Completions"]}, {}, "--check", "--online",
                 settings={"goals": {"1": "purchse"}})

    assert offline.exit_code == 0, offline.stderr
    assert online.exit_code == 2
    (line,) = online.stderr.strip().splitlines()
    assert line.startswith("pp-collector: check: online: ") and "nearest: 'keyEvents:purchase'" in line
    assert len(ga4_collector.api.metadata_requests()) == 1 and ga4_collector.api.report_requests() == []


def test_a_custom_name_in_the_query_itself_is_checked_too(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.define(GA4_PROPERTY, custom_dimensions=["customEvent:organisation"])
    query = {"id": GA4_PROPERTY, "metrics": ["sessions"], "filters": ["customEvent:organisaton==<D1>"]}

    result = ga4_collector.run("ga", query, {}, *WEEK)

    assert result.exit_code == 2
    assert "key 'query.filters'" in result.stderr and "nearest: 'customEvent:organisation'" in result.stderr


def test_the_metadata_is_asked_once_a_run_before_any_report(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.define(PROPERTY, key_events=["purchase"])

    result = run(ga4_collector, {"metrics": ["goal1Completions"]}, {}, "-s", "2014-09-01", "-e", "2014-10-26",
                 "--concurrency", "4", settings={"goals": {"1": "purchase"}})

    assert result.exit_code == 0, result.stderr
    assert ga4_collector.api.requests[0].path == f"/v1beta/{PROPERTY}/metadata"
    assert len(ga4_collector.api.metadata_requests()) == 1
    assert len(ga4_collector.bodies()) == 8


# ga.realtime ---------------------------------------------------------------------------------------


def test_a_realtime_page_path_filter_is_asked_as_the_title_filter_the_file_gives(ga4_collector: Ga4Collector) -> None:
    ga4_collector.api.realtime_rows = [{"unifiedScreenName": "Make a SORN - GOV.UK", "activeUsers": "17"},
                                       {"unifiedScreenName": "Home", "activeUsers": "900"}]
    written = "ga:pagePath=~^/make-a-sorn$"
    query = {"ids": VIEW, "metrics": "ga:activeVisitors", "filters": written}
    settings = {"realtimeFilters": {written: "unifiedScreenName=~^Make a SORN"}}

    refused = ga4_collector.run("ga.realtime", query, {}, "--ga4-map", str(write_map(ga4_collector)))
    result = ga4_collector.run("ga.realtime", query, {}, "--ga4-map", str(write_map(ga4_collector, settings)))

    assert refused.exit_code == 2 and "realtimeFilters" in refused.stderr
    assert result.exit_code == 0, result.stderr
    (request,) = ga4_collector.api.realtime_requests()
    assert request.path == f"/v1beta/{PROPERTY}:runRealtimeReport"
    assert request.json()["dimensionFilter"] == {"filter": {"fieldName": "unifiedScreenName", "stringFilter": {
        "matchType": "PARTIAL_REGEXP", "value": "^Make a SORN", "caseSensitive": False}}}
    (record,) = ga4_collector.records()
    assert (record["unique_visitors"], record["for_url"]) == (17, written)
    assert len(warnings(result, "is asked as 'unifiedScreenName=~^Make a SORN'")) == 1


# The migration file's own mistakes ------------------------------------------------------------------------


def test_a_mistake_in_the_migration_file_is_one_line_naming_the_file_and_the_key(ga4_collector: Ga4Collector) -> None:
    migration_file = ga4_collector.configs.write("ga4-map.json", {
        "views": {VIEW: "G-12345", "ga:2": "properties/2"},
        "properties": {"properties/2": {"goal": {}, "approximations": ["guess"],
                                        "fields": {"socialNetwork": "sessionSource", "eventAction": "event"}}},
    })
    query = {"id": "ga:2", "metrics": ["sessions"]}

    result = ga4_collector.run("ga", query, {}, *WEEK, "--ga4-map", str(migration_file))
    checked = ga4_collector.run("ga", query, {}, "--check", "--ga4-map", str(migration_file))

    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"pp-collector: error: GA4 migration file {migration_file}: key 'views.{VIEW}': ")
    assert checked.exit_code == 2
    assert [re.search(r"key '([^']+)'", line)[1] for line in checked.stderr.strip().splitlines()] == [
        f"views.{VIEW}", "properties.properties/2.goal", "properties.properties/2.fields.socialNetwork",
        "properties.properties/2.fields.eventAction", "properties.properties/2.approximations"]
    assert ga4_collector.api.requests == []


def test_a_mistake_in_a_query_s_options_ga4_names_the_query_file(ga4_collector: Ga4Collector) -> None:
    result = ga4_collector.run("ga", {"id": VIEW, "metrics": ["sessions"]}, {"ga4": {"property": "123"}}, *WEEK)

    assert result.exit_code == 2
    assert "query file" in result.stderr and "key 'options.ga4.property'" in result.stderr
