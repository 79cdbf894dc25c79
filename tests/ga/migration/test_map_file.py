"""The GA4 migration file as read: views and properties, the settings and where each was written,
which settings win, what maps nothing, and every mistake named by file and key."""

from __future__ import annotations

from typing import Any

import pytest

from performanceplatform.collector.ga.core_reporting import CORE_REPORTING
from performanceplatform.collector.ga.data_api import DataApiSource
from performanceplatform.collector.ga.migration.map_file import (
    NO_GA4_MAP,
    Ga4Map,
    Origin,
    read_ga4_map,
    view_key_of,
)
from performanceplatform.collector.ga.sources import source_for

SOURCE = "GA4 migration file map.json"


def read(document: dict[str, Any]) -> Ga4Map:
    found, problems = read_ga4_map(document, source=SOURCE)
    assert problems == []
    return found


@pytest.mark.parametrize(("query_id", "key"), [("ga:94136256", "94136256"), (" 94136256 ", "94136256"),
                                               (94136256, "94136256"), ("properties/1", None), ("G-1", None),
                                               (True, None)])
def test_view_ids_are_read_with_or_without_ga(query_id: Any, key: str | None) -> None:
    assert view_key_of(query_id) == key


def test_a_view_finds_its_property() -> None:
    found = read({"views": {"ga:1": "properties/10", "2": {"property": "properties/20"}}})

    assert found.property_for_view("ga:1") == "properties/10"
    assert found.property_for_view("2") == "properties/20"
    assert found.property_for_view("ga:3") is None
    assert NO_GA4_MAP.property_for_view("ga:1") is None
    assert found.migration("properties/10", "ga:1").mapped is True
    assert NO_GA4_MAP.migration("properties/30", "properties/30").mapped is False


def test_the_source_is_ga4_for_a_property_or_a_mapped_view_and_universal_analytics_otherwise() -> None:
    found = read({"views": {"ga:1": "properties/10"}})

    mapped, unmapped, property_ = (source_for(query_id, found) for query_id in ("ga:1", "ga:3", " properties/30"))
    assert isinstance(mapped, DataApiSource) and (mapped.migration.property, mapped.migration.view) == (
        "properties/10", "ga:1")
    assert unmapped is CORE_REPORTING and source_for("ga:1") is CORE_REPORTING
    assert isinstance(property_, DataApiSource) and property_.migration.property == "properties/30"
    # A source per query: the metadata it keeps is the run's, not the process's.
    assert source_for("ga:1", found) is not mapped


def test_an_empty_string_maps_nothing_so_a_half_filled_template_loads() -> None:
    found = read({
        "_about": "a comment",
        "views": {"ga:1": {"property": "", "goals": {"1": {"keyEvent": "", "startEvent": ""}},
                           "_approximationsNeeded": {}}, "ga:2": ""},
        "properties": {},
    })

    assert found.property_for_view("ga:1") is None and found.property_for_view("ga:2") is None
    assert found.views["1"].settings.goals["1"].key_event is None


def test_settings_keep_where_they_were_written_and_the_nearest_wins() -> None:
    found = read({
        "views": {"ga:1": {"property": "properties/10", "goals": {"2": "view_goal"},
                           "approximations": ["drop-browser-version"]}},
        "properties": {"properties/10": {
            "goals": {"1": "property_goal", "2": {"keyEvent": "property_goal", "startEvent": "begin"}},
            "fields": {"ga:eventCategory": "customEvent:category"},
            "approximations": ["segment-as-page-filter", "entrances-as-sessions"],
            "realtimeFilters": {"ga:pagePath==/a": "unifiedScreenName==A"},
        }},
    })
    with_query = found.with_query_settings({"goals": {"3": "query_goal"}}, source="query file q.json")

    settings = with_query.migration("properties/10", "ga:1").settings
    assert {number: goal.key_event.ga4 for number, goal in settings.goals.items()} == {
        "1": "property_goal", "2": "view_goal", "3": "query_goal"}
    # A view's goal replaces the property's whole goal, start event included.
    assert settings.goals["2"].start_event is None
    assert settings.goals["3"].key_event.origin == Origin("query file q.json", "options.ga4.goals.3.keyEvent")
    assert settings.fields["eventCategory"].origin == Origin(SOURCE, "properties.properties/10.fields.ga:eventCategory")
    # A list of approximations replaces the one it overrides.
    assert list(settings.accepted) == ["drop-browser-version"]
    assert settings.realtime_filters["ga:pagePath==/a"].ga4 == "unifiedScreenName==A"
    # The property's settings apply to a query of the property itself.
    assert list(found.migration("properties/10", "properties/10").settings.accepted) == [
        "segment-as-page-filter", "entrances-as-sessions"]


def test_a_query_can_name_its_property_without_a_file() -> None:
    found = NO_GA4_MAP.with_query_settings({"property": "properties/5"}, source="query file q.json")

    assert found.property_for_view("ga:1") == "properties/5"
    assert found.migration("properties/5", "ga:1").view == "ga:1"


@pytest.mark.parametrize(("document", "key", "words"), [
    ({"view": {}}, "view", "unknown key"),
    ({"views": []}, "views", "expected an object"),
    ({"views": {"UA-1": "properties/1"}}, "views.UA-1", "not a Universal Analytics view id"),
    ({"views": {"ga:1": "properties/1", "1": "properties/2"}}, "views.1", "listed twice"),
    ({"views": {"ga:1": "G-ABC"}}, "views.ga:1", "not its 'G-' measurement id"),
    ({"views": {"ga:1": {"property": "properties/1", "goal": {}}}}, "views.ga:1.goal", "unknown key"),
    ({"properties": {"123": {}}}, "properties.123", "not a GA4 property"),
    ({"properties": {"properties/1": {"goals": {"one": "x"}}}}, "properties.properties/1.goals.one",
     "not a goal number"),
    ({"properties": {"properties/1": {"goals": {"1": "buy now"}}}}, "properties.properties/1.goals.1.keyEvent",
     "GA4 event name"),
    ({"properties": {"properties/1": {"goals": {"1": {"event": "x"}}}}}, "properties.properties/1.goals.1.event",
     "unknown key"),
    ({"properties": {"properties/1": {"fields": {"socialNetwork": "sessionSource"}}}},
     "properties.properties/1.fields.socialNetwork", "cannot be mapped"),
    ({"properties": {"properties/1": {"fields": {"eventLabel": "label"}}}},
     "properties.properties/1.fields.eventLabel", "not a GA4 dimension name"),
    ({"properties": {"properties/1": {"fields": {"metric1": "eventName"}}}},
     "properties.properties/1.fields.metric1", "not a GA4 metric name"),
    ({"properties": {"properties/1": {"approximations": "all"}}}, "properties.properties/1.approximations",
     "list of approximation names"),
    ({"properties": {"properties/1": {"approximations": ["everything"]}}}, "properties.properties/1.approximations",
     "not an approximation pp-collector knows"),
    ({"properties": {"properties/1": {"realtimeFilters": {"ga:pagePath==/a": 1}}}},
     "properties.properties/1.realtimeFilters.ga:pagePath==/a", "expected a string"),
])
def test_each_mistake_names_the_file_and_the_key(document: dict[str, Any], key: str, words: str) -> None:
    _, problems = read_ga4_map(document, source=SOURCE)

    assert [(problem.source, problem.key) for problem in problems] == [(SOURCE, key)]
    assert words in problems[0].detail
