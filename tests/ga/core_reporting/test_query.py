"""Core Reporting parameters are built exactly as gapy built them (reference §2.1, §11 item 17)."""

from __future__ import annotations

from datetime import date

import pytest

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.core_reporting.query import CoreQuery
from performanceplatform.collector.ga.query import GaQuery, prefix_ga

WEEK = (date(2014, 10, 13), date(2014, 10, 19))
SOURCE = "query file q.json"


def core_query(query: dict) -> CoreQuery:
    return CoreQuery.of(GaQuery.from_config(query, source=SOURCE), source=SOURCE)


def parameters(query: dict) -> dict:
    return core_query(query).api_parameters(*WEEK)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("foo", "ga:foo"), ("ga:foo", "ga:foo"), ("-foo", "-ga:foo"), ("-ga:foo", "-ga:foo")],
)
def test_prefix_follows_gapy(name: str, expected: str) -> None:
    assert prefix_ga(name) == expected


def test_minimal_query() -> None:
    assert parameters({"id": "ga:123", "metrics": ["visits"]}) == {
        "ids": "ga:123",
        "start_date": "2014-10-13",
        "end_date": "2014-10-19",
        "metrics": "ga:visits",
    }


def test_full_query() -> None:
    assert parameters(
        {
            "id": "123",
            "metrics": ["sessions", "ga:users"],
            "dimensions": ["browser", "browserVersion"],
            "filters": ["pagePath=~/new$", "ga:pagePath==/x"],
            "sort": ["-sessions", "browser"],
            "maxResults": 50,
            "segment": "sessions::condition::ga:pagePath=~/pay-online/vat",
        }
    ) == {
        "ids": "ga:123",
        "start_date": "2014-10-13",
        "end_date": "2014-10-19",
        "metrics": "ga:sessions,ga:users",
        "dimensions": "ga:browser,ga:browserVersion",
        # List items are OR-joined, each prefixed at its start only.
        "filters": "ga:pagePath=~/new$,ga:pagePath==/x",
        "sort": "-ga:sessions,ga:browser",
        "max_results": 50,
        "segment": "sessions::condition::ga:pagePath=~/pay-online/vat",
    }


def test_string_filter_is_prefixed_at_its_start_only() -> None:
    got = parameters({"id": "ga:1", "metrics": "visits", "filters": "pagePath=~^/vat;ga:keyword!=(not set)"})
    assert got["filters"] == "ga:pagePath=~^/vat;ga:keyword!=(not set)"
    assert got["metrics"] == "ga:visits"


@pytest.mark.parametrize("empty", [{"sort": []}, {"maxResults": 0}, {"filters": []}, {"dimensions": []},
                                   {"filters": ""}, {"segment": None}])
def test_empty_values_mean_not_given(empty: dict) -> None:
    assert parameters({"id": "ga:1", "metrics": ["visits"], **empty}) == parameters(
        {"id": "ga:1", "metrics": ["visits"]}
    )


def test_frequency_defaults_to_weekly() -> None:
    assert core_query({"id": "1", "metrics": ["m"]}).frequency == "weekly"
    assert core_query({"id": "1", "metrics": ["m"], "frequency": "daily"}).frequency == "daily"


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ({"metrics": ["visits"]}, "id"),
        ({"id": "ga:", "metrics": ["visits"]}, "id"),
        ({"id": "ga:1"}, "metrics"),
        ({"id": "ga:1", "metrics": []}, "metrics"),
        ({"id": "ga:1", "metrics": ["visits", 3]}, "metrics"),
        ({"id": "ga:1", "metrics": ["visits"], "maxResults": -1}, "maxResults"),
        ({"id": "ga:1", "metrics": ["visits"], "maxResults": "10"}, "maxResults"),
        ({"id": "ga:1", "metrics": ["visits"], "frequency": "hourly"}, "frequency"),
        ({"id": "ga:1", "metrics": ["visits"], "segment": ["gaid::-1"]}, "segment"),
        ({"id": "ga:1", "metrics": ["visits"], "filters": {"a": "b"}}, "filters"),
    ],
)
def test_mistakes_name_the_key(query: dict, key: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        core_query(query)
    assert raised.value.key == f"query.{key}"
    assert str(raised.value).startswith(f"{SOURCE}: key 'query.{key}': ")


@pytest.mark.parametrize(("ids", "hint"), [("G-ABC123XYZ", "measurement id"), ("ga:abc", "expected a GA4 property")])
def test_an_id_that_is_not_a_view_number_is_refused_saying_what_it_is(ids: str, hint: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        core_query({"id": ids, "metrics": ["visits"]})
    assert hint in str(raised.value) and "properties/" in str(raised.value)
