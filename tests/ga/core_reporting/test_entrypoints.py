"""`ga.realtime`, `ga.trending` and `ga.contrib.content.table` with Universal Analytics views: what only
Core Reporting v3 and Real Time v3 are sent and answer (the query's keys as parameters, trending's
day, month and year, the rows GA could not date, a `filters` parameter per department). What both
sources do is in `../test_realtime.py`, `../test_trending.py` and `../contrib/content/test_table.py`.
"""

from __future__ import annotations

from freezegun import freeze_time

from tests.support.google import GaCollector

# ga.realtime --------------------------------------------------------------------------------------

REALTIME = {"ids": "ga:74313105", "metrics": "ga:activeVisitors", "filters": "ga:pagePath=~^/make-a-sorn$"}


@freeze_time("2014-04-07 10:20:57")
def test_realtime_sends_the_query_as_its_parameters_and_its_filters_as_the_url(ga_collector: GaCollector) -> None:
    ga_collector.ga.realtime_rows = [["20459"]]

    result = ga_collector.run("ga.realtime", REALTIME)

    assert result.exit_code == 0, result.stderr
    (request,) = ga_collector.ga.realtime_requests()
    # The query's keys are the API's parameters, sent as written: no prefixing.
    assert {name: request.param(name) for name in request.query if name != "alt"} == REALTIME
    (record,) = ga_collector.records()
    assert (record["unique_visitors"], record["for_url"]) == (20459, "ga:pagePath=~^/make-a-sorn$")


# ga.trending --------------------------------------------------------------------------------------

TRENDING = {"id": "53872948", "metric": "pageviews", "dimensions": ["pageTitle", "pagePath"],
            "filters": ["pagePath!~^/$"]}


@freeze_time("2014-02-12 01:00:00")
def test_trending_asks_the_fortnight_by_day_month_and_year(ga_collector: GaCollector) -> None:
    assert ga_collector.run("ga.trending", TRENDING).exit_code == 0

    (request,) = ga_collector.ga.core_requests()
    assert {name: request.param(name) for name in request.query if name != "alt"} == {
        "ids": "ga:53872948",
        "start-date": "2014-01-29",
        "end-date": "2014-02-11",
        "metrics": "ga:pageviews",
        "dimensions": "ga:pageTitle,ga:pagePath,ga:day,ga:month,ga:year",
        "filters": "ga:pagePath!~^/$",
    }


@freeze_time("2014-02-12 01:00:00")
def test_trending_rows_ga_could_not_date_count_for_nothing(ga_collector: GaCollector) -> None:
    # Title, path, day, month, year, pageviews; GA4 answers rows by named week, so has none of these.
    ga_collector.ga.add_core_rows([
        ["foo", "/foo/page1", "29", "01", "2014", "1000"],
        # Skipped before their path is looked at ("/f" would replace "/foo/page1", which holds it).
        ["foo", "/foo/page2", "(other)", "(other)", "(other)", "98"],
        ["foo", "/f", "1", "(other)", "2014", "98"],
        # A page seen only in undated rows still gets its record, at the floor: the original's groups
        # started from their first row, skipped or not.
        ["qux", "/qux", "(other)", "(other)", "(other)", "900"],
    ])

    assert ga_collector.run("ga.trending", TRENDING).exit_code == 0

    assert {r["pageTitle"]: (r["pagePath"], r["week1"], r["week2"], r["percent_change"])
            for r in ga_collector.records()} == {
        "foo": ("/foo/page1", 1000, 500, -50.0),
        "qux": ("/qux", 500, 500, 0.0),
    }


# ga.contrib.content.table -------------------------------------------------------------------------

TABLE = {"id": "ga:74473500", "metrics": ["pageviews", "uniquePageviews"], "dimensions": ["pageTitle"],
         "filters": ["pagePath=~^/government/news"], "sort": ["-uniquePageviews"], "maxResults": 10}
TABLE_OPTIONS = {"filtersets": [["dimension9=~^<D1>"], ["dimension9=~^<EA570>", "pageTitle!~^Home"]]}
WEEK = ("-s", "2014-10-13", "-e", "2014-10-19")
D1_FILTER = "ga:pagePath=~^/government/news;ga:dimension9=~^<D1>"
EA570_FILTER = "ga:pagePath=~^/government/news;ga:dimension9=~^<EA570>;ga:pageTitle!~^Home"


def test_content_table_sends_the_query_and_filterset_as_one_filters_parameter(ga_collector: GaCollector) -> None:
    ga_collector.ga.add_core_rows([["News A", "30", "20"], ["News B", "10", "5"]], where={"filters": D1_FILTER})
    ga_collector.ga.add_core_rows([["MOT", "99", "90"]], where={"filters": EA570_FILTER})

    result = ga_collector.run("ga.contrib.content.table", TABLE, TABLE_OPTIONS, *WEEK)

    assert result.exit_code == 0, result.stderr
    assert [r.param("filters") for r in ga_collector.ga.core_requests()] == [D1_FILTER, EA570_FILTER]
    assert [(r["pageTitle"], r["uniquePageviews"]) for r in ga_collector.records()] == [
        ("News A", 20), ("News B", 5), ("MOT", 90)
    ]
