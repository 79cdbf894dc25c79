"""`ga.trending` through `pp-collector` (reference §4, §11 item 22), once per GA source (Core Reporting
v3 for a UA view, the GA4 Data API for a property), with one set of expectations: the same page views
make the same trends. What only one source does (v3's day, month and year dimensions and the rows GA
could not date, GA4's two named date ranges) is in `core_reporting/test_entrypoints.py` and
`data_api/test_entrypoints.py`; the window and the query's own checks are tested here without a source.
"""

from __future__ import annotations

from datetime import date

import pytest
from freezegun import freeze_time

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.core_reporting import CORE_REPORTING
from performanceplatform.collector.ga.trends import TrendingQuery, TrendingWindow
from tests.support.google import GaSourceRuns

# The fortnight before 2014-02-12.
WEEKS = (("2014-01-29", "2014-02-04"), ("2014-02-05", "2014-02-11"))
NAMES = ("pageTitle", "pagePath", "date", "pageviews")
# The original's test data (test_trending.py): title, path, day, pageviews.
ROWS = [
    ("foo", "/foo/page1", "2014-01-29", "1000"),
    ("foo", "/foo/page1", "2014-01-31", "100"),
    ("foo", "/foo/page1", "2014-02-05", "120"),
    ("foo", "/foo", "2014-01-31", "200"),
    ("foo", "/foo", "2014-02-05", "500"),
    ("foo", "/foo/page2", "2014-01-31", "89"),
    ("foo", "/foo/page2", "2014-02-05", "98"),
    ("bar", "/bar", "2014-02-04", "520"),
    ("bar", "/bar", "2014-02-11", "1209"),
    ("baz", "/baz", "2014-02-04", "07"),
    ("baz", "/baz", "2014-02-04", "0"),
]


def trending(ga_source: GaSourceRuns) -> dict:
    return ga_source.query(metric="pageviews", dimensions=["pageTitle", "pagePath"], filters=["pagePath!~^/$"])


@freeze_time("2014-02-12 01:00:00")
def test_two_weeks_by_page_title(ga_source: GaSourceRuns) -> None:
    backdrop = ga_source.collector.backdrop
    backdrop.store("test-group", "test-type", [{"_id": "stale", "_timestamp": "2014-01-01T00:00:00Z"}])
    ga_source.add_trending_rows(NAMES, ROWS, weeks=WEEKS)

    result = ga_source.run("ga.trending", trending(ga_source), {"idMapping": ["_timestamp", "dataType", "pageTitle"]})

    assert result.exit_code == 0, result.stderr
    assert len(ga_source.report_requests()) == 1  # the whole fortnight at once
    records = {record["pageTitle"]: record for record in ga_source.records()}
    assert records == {
        "foo": {"pageTitle": "foo", "pagePath": "/foo", "week1": 1389, "week2": 718,
                "percent_change": -48.30813534917206, "_timestamp": "2014-01-29T00:00:00+00:00",
                "_id": "L2Zvbw=="},
        "bar": {"pageTitle": "bar", "pagePath": "/bar", "week1": 520, "week2": 1209,
                "percent_change": 132.5, "_timestamp": "2014-01-29T00:00:00+00:00", "_id": "L2Jhcg=="},
        "baz": {"pageTitle": "baz", "pagePath": "/baz", "week1": 500, "week2": 500,
                "percent_change": 0.0, "_timestamp": "2014-01-29T00:00:00+00:00", "_id": "L2Jheg=="},
    }
    # Emptied, then one request with every record: options (idMapping here) are ignored.
    writes = backdrop.requests_to("/data/test-group/test-type")
    assert [(r.method, len(r.json())) for r in writes] == [("PUT", 0), ("POST", 3)]


@freeze_time("2014-02-12 01:00:00")
def test_records_go_out_in_python_2_dict_order(ga_source: GaSourceRuns) -> None:
    ga_source.add_trending_rows(NAMES, ROWS, weeks=WEEKS)

    assert ga_source.run("ga.trending", trending(ga_source)).exit_code == 0

    (post,) = ga_source.collector.backdrop.requests_to("/data/test-group/test-type", "POST")
    assert [record["pageTitle"] for record in post.json()] == ["baz", "foo", "bar"]


@freeze_time("2014-02-12 01:00:00")
def test_no_rows_still_empties_the_data_set(ga_source: GaSourceRuns) -> None:
    assert ga_source.run("ga.trending", trending(ga_source), {}, "--dry-run").exit_code == 0
    assert ga_source.run("ga.trending", trending(ga_source)).exit_code == 0
    assert [r.method for r in ga_source.collector.backdrop.requests] == ["PUT"]


@pytest.mark.parametrize(
    ("today", "day", "week"),
    [
        (date(2014, 2, 12), date(2014, 1, 29), "week1"),
        (date(2014, 2, 12), date(2014, 2, 4), "week1"),
        (date(2014, 2, 12), date(2014, 2, 5), "week2"),
        (date(2014, 2, 12), date(2014, 2, 11), "week2"),
        (date(2013, 1, 5), date(2012, 12, 22), "week1"),
        (date(2013, 1, 5), date(2012, 12, 28), "week1"),
        (date(2013, 1, 5), date(2012, 12, 29), "week2"),
        (date(2013, 1, 5), date(2013, 1, 4), "week2"),
    ],
)
def test_days_fall_in_their_week(today: date, day: date, week: str) -> None:
    assert TrendingWindow.before(today).week_of(day) == week


def test_window() -> None:
    assert TrendingWindow.before(date(2014, 2, 12)) == TrendingWindow(
        date(2014, 1, 29), date(2014, 2, 5), date(2014, 2, 11)
    )


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ({"id": "1", "dimensions": ["pageTitle", "pagePath"]}, "metric"),
        ({"id": "1", "metric": "", "dimensions": ["pageTitle", "pagePath"]}, "metric"),
        ({"id": "1", "metric": "pageviews"}, "dimensions"),
        ({"id": "1", "metric": "pageviews", "dimensions": ["pageTitle"]}, "dimensions"),
    ],
)
def test_query_mistakes(query: dict, key: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        TrendingQuery.from_config(query, source="q")
    assert raised.value.key == f"query.{key}"


def test_query_is_not_mutated() -> None:
    query = {"id": "1", "metric": "pageviews", "dimensions": ["pageTitle", "pagePath"]}
    trending = TrendingQuery.from_config(query, source="q")
    core_query = CORE_REPORTING.trending_report(trending, source="q")
    assert query["dimensions"] == ["pageTitle", "pagePath"]
    assert (trending.metric, core_query.dimensions) == ("pageviews", ("pageTitle", "pagePath", "day", "month", "year"))


@freeze_time("2014-02-12 01:00:00")
def test_additional_fields_and_plugins_apply(ga_source: GaSourceRuns) -> None:
    ga_source.add_trending_rows(NAMES, ROWS, weeks=WEEKS)
    options = {"additionalFields": {"site": "govuk"}, "plugins": ["RemoveKey('percent_change')"]}
    assert ga_source.run("ga.trending", trending(ga_source), options).exit_code == 0
    records = ga_source.records()
    assert len(records) == 3
    assert all(record["site"] == "govuk" and "percent_change" not in record for record in records)
