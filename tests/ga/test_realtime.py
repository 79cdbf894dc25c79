"""`ga.realtime` through `pp-collector` (reference §4, §11 item 23), once per GA source (Real Time v3
for a UA view, the GA4 Data API's realtime report for a property), with one set of expectations: the
same count makes the same record. What only one source does (v3's parameters as written, GA4's
request body and filters) is in `core_reporting/test_entrypoints.py` and `data_api/test_entrypoints.py`.
"""

from __future__ import annotations

from freezegun import freeze_time

from tests.support.backdrop import TOKEN
from tests.support.cli import run_cli
from tests.support.google import GaCollector, GaSourceRuns


@freeze_time("2014-04-07 10:20:57.123456")
def test_one_record_of_active_visitors(ga_source: GaSourceRuns) -> None:
    ga_source.count_active_now(20459)

    result = ga_source.run("ga.realtime", ga_source.realtime_query(metrics="ga:activeVisitors"))

    assert result.exit_code == 0, result.stderr
    # UTC in summer, to the second, and the id is the timestamp.
    assert ga_source.records() == [{
        "_timestamp": "2014-04-07T10:20:57+00:00",
        "_id": "2014-04-07T10:20:57+00:00",
        "unique_visitors": 20459,
        "for_url": "",
    }]
    # One realtime request, not counted as a report request.
    assert len(ga_source.realtime_requests()) == 1
    assert ga_source.report_requests() == []


@freeze_time("2014-01-07 10:20:57")
def test_no_rows_is_nobody_and_no_filters_is_an_empty_url(ga_source: GaSourceRuns) -> None:
    result = ga_source.run("ga.realtime", ga_source.realtime_query(metrics="rt:activeUsers"))

    assert result.exit_code == 0, result.stderr
    (record,) = ga_source.records()
    assert (record["_timestamp"], record["unique_visitors"], record["for_url"]) == (
        "2014-01-07T10:20:57+00:00", 0, ""
    )


def test_dates_are_refused_before_any_request(ga_source: GaSourceRuns) -> None:
    query = ga_source.realtime_query(metrics="rt:activeUsers")
    for flags in (("-s", "2014-01-01"), ("-s", "2014-01-01", "-e", "2014-01-02")):
        result = ga_source.run("ga.realtime", query, {}, *flags)
        checked = ga_source.run("ga.realtime", query, {}, "--check", *flags)

        assert result.exit_code == 1
        assert "Cannot backfill realtime collectors" in result.stderr
        assert checked.exit_code == 2 and "Cannot backfill realtime collectors" in checked.stderr
    assert ga_source.stand_in.requests == [] and ga_source.collector.backdrop.requests == []


def test_an_unknown_api_parameter_is_a_usage_error(ga_source: GaSourceRuns) -> None:
    result = ga_source.run("ga.realtime", ga_source.realtime_query(metrics="rt:activeUsers", id="ga:1"))

    assert result.exit_code == 2
    # Each source in its own words: v3 passed the keys on as the API's parameters, as the original did.
    said = {"core_reporting": "unexpected keyword argument id", "data_api": "key 'query.id': not accepted"}
    assert said[ga_source.name] in result.stderr
    assert ga_source.stand_in.requests == []


def test_missing_ids_is_a_usage_error(ga_collector: GaCollector) -> None:
    # Without `ids` the query names no source (a UA view is assumed): nothing to run twice.
    result = ga_collector.run("ga.realtime", {"metrics": "rt:activeUsers"})

    assert result.exit_code == 2
    assert "key 'query.ids'" in result.stderr


def test_dry_run(ga_source: GaSourceRuns) -> None:
    ga_source.count_active_now(7)

    result = ga_source.run("ga.realtime", ga_source.realtime_query(metrics="rt:activeUsers"), {}, "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert '"unique_visitors":7' in result.stdout.replace(" ", "")
    assert ga_source.collector.backdrop.requests == []


@freeze_time("2014-04-07 10:20:57")
def test_additional_fields_reach_the_realtime_record(ga_source: GaSourceRuns) -> None:
    ga_source.count_active_now(20459)
    result = ga_source.run(
        "ga.realtime", ga_source.realtime_query(metrics="rt:activeUsers"), {"additionalFields": {"service": "sorn"}}
    )
    assert result.exit_code == 0, result.stderr
    [record] = ga_source.records()
    assert (record["service"], record["unique_visitors"]) == ("sorn", 20459)


def test_null_filters_count_the_whole_site_for_an_empty_url_as_a_realtime_data_set_requires(
    ga_source: GaSourceRuns,
) -> None:
    # Production's realtime data sets required a string for_url: null would have been refused.
    configs, backdrop = ga_source.collector.configs, ga_source.collector.backdrop
    backdrop.add_data_set("test-group", "realtime", TOKEN)
    ga_source.count_active_now(12)
    query = configs.query("performanceplatform.collector.ga.realtime",
                          ga_source.realtime_query(metrics="rt:activeUsers", filters=None),
                          data_group="test-group", data_type="realtime", name="realtime.json")
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=ga_source.collector.credentials_path, token=configs.token(TOKEN))

    checked = run_cli([*argv, "--check"])
    result = run_cli(argv)

    assert (checked.exit_code, checked.stderr) == (0, "")
    assert result.exit_code == 0, result.stderr
    ((record),) = backdrop.records("test-group", "realtime")
    assert (record["for_url"], record["unique_visitors"]) == ("", 12)
