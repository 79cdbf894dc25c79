"""`ga.realtime` through `pp-collector` (reference §4, §11 item 23)."""

from __future__ import annotations

from freezegun import freeze_time

from tests.support.backdrop import TOKEN
from tests.support.cli import run_cli
from tests.support.google import GaCollector, GaSourceRuns

QUERY = {"ids": "ga:74313105", "metrics": "ga:activeVisitors", "filters": "ga:pagePath=~^/make-a-sorn$"}


@freeze_time("2014-04-07 10:20:57.123456")
def test_one_record_of_active_visitors(ga_collector: GaCollector) -> None:
    ga_collector.ga.realtime_rows = [["20459"]]

    result = ga_collector.run("ga.realtime", QUERY)

    assert result.exit_code == 0, result.stderr
    # UTC in summer, to the second, and the id is the timestamp.
    assert ga_collector.records() == [{
        "_timestamp": "2014-04-07T10:20:57+00:00",
        "_id": "2014-04-07T10:20:57+00:00",
        "unique_visitors": 20459,
        "for_url": "ga:pagePath=~^/make-a-sorn$",
    }]
    (request,) = ga_collector.ga.realtime_requests()
    # The query's keys are the API's parameters, sent as written: no prefixing.
    assert {name: request.param(name) for name in request.query if name != "alt"} == QUERY


@freeze_time("2014-01-07 10:20:57")
def test_no_rows_is_nobody_and_no_filters_is_an_empty_url(ga_collector: GaCollector) -> None:
    result = ga_collector.run("ga.realtime", {"ids": "ga:74313105", "metrics": "rt:activeUsers"})

    assert result.exit_code == 0, result.stderr
    (record,) = ga_collector.records()
    assert (record["_timestamp"], record["unique_visitors"], record["for_url"]) == (
        "2014-01-07T10:20:57+00:00", 0, ""
    )


def test_dates_are_refused_before_any_request(ga_collector: GaCollector) -> None:
    for flags in (("-s", "2014-01-01"), ("-s", "2014-01-01", "-e", "2014-01-02")):
        result = ga_collector.run("ga.realtime", QUERY, {}, *flags)

        assert result.exit_code == 1
        assert "Cannot backfill realtime collectors" in result.stderr
    assert ga_collector.ga.requests == [] and ga_collector.backdrop.requests == []


def test_realtime_requests_are_not_counted_as_core_reporting(ga_collector: GaCollector) -> None:
    ga_collector.ga.realtime_rows = [["3"]]
    assert ga_collector.run("ga.realtime", QUERY).exit_code == 0
    assert ga_collector.ga.core_requests() == []


def test_an_unknown_api_parameter_is_a_usage_error(ga_collector: GaCollector) -> None:
    result = ga_collector.run("ga.realtime", {**QUERY, "id": "ga:1"})

    assert result.exit_code == 2
    assert "unexpected keyword argument id" in result.stderr
    assert ga_collector.ga.requests == []


def test_missing_ids_is_a_usage_error(ga_collector: GaCollector) -> None:
    result = ga_collector.run("ga.realtime", {"metrics": "rt:activeUsers"})

    assert result.exit_code == 2
    assert "key 'query.ids'" in result.stderr


def test_dry_run(ga_collector: GaCollector) -> None:
    ga_collector.ga.realtime_rows = [["7"]]

    result = ga_collector.run("ga.realtime", QUERY, {}, "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert '"unique_visitors":7' in result.stdout.replace(" ", "")
    assert ga_collector.backdrop.requests == []


@freeze_time("2014-04-07 10:20:57")
def test_additional_fields_reach_the_realtime_record(ga_collector):
    ga_collector.ga.realtime_rows = [["20459"]]
    result = ga_collector.run(
        "ga.realtime", {"ids": "ga:84617412", "metrics": "rt:activeUsers"}, {"additionalFields": {"service": "sorn"}}
    )
    assert result.exit_code == 0, result.stderr
    [record] = ga_collector.records()
    assert (record["service"], record["unique_visitors"]) == ("sorn", 20459)


def test_null_filters_count_the_whole_site_for_an_empty_url_as_a_realtime_data_set_requires(
    ga_source: GaSourceRuns,
) -> None:
    # Production's realtime data sets required a string for_url: null would have been refused.
    configs, backdrop = ga_source.collector.configs, ga_source.collector.backdrop
    backdrop.add_data_set("test-group", "realtime", TOKEN)
    ga_source.count_active_now(12)
    query = configs.query("performanceplatform.collector.ga.realtime",
                          {"ids": ga_source.query_id, "metrics": "rt:activeUsers", "filters": None},
                          data_group="test-group", data_type="realtime", name="realtime.json")
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=ga_source.collector.credentials_path, token=configs.token(TOKEN))

    checked = run_cli([*argv, "--check"])
    result = run_cli(argv)

    assert (checked.exit_code, checked.stderr) == (0, "")
    assert result.exit_code == 0, result.stderr
    ((record),) = backdrop.records("test-group", "realtime")
    assert (record["for_url"], record["unique_visitors"]) == ("", 12)
