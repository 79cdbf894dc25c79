"""Reading a Matomo query file: what each request asks, and for which dates."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from freezegun import freeze_time

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.piwik.query import CoreQuery, RealtimeQuery, request_dates


@pytest.mark.parametrize(
    ("frequency", "start", "end", "dates"),
    [
        # The original's single request, as it wrote the dates.
        ("weekly", date(2015, 2, 4), date(2015, 2, 10), ["2015-02-04,2015-02-10"]),
        # A month of days a request.
        ("daily", date(2015, 1, 1), date(2015, 3, 3),
         ["2015-01-01,2015-01-31", "2015-02-01,2015-03-03"]),
        # A year of months a request; the run's own dates at the ends.
        ("monthly", date(2013, 6, 15), date(2015, 1, 2),
         ["2013-06-15,2014-05-31", "2014-06-01,2015-01-02"]),
        # Aware datetimes count by their date, as for Google Analytics.
        ("weekly", datetime.fromisoformat("2015-02-04T10:00:00+01:00"), date(2015, 2, 4), ["2015-02-04,2015-02-04"]),
    ],
)
def test_a_backfill_is_asked_a_few_months_at_a_time(frequency, start, end, dates) -> None:
    assert request_dates(start, end, frequency) == dates


def test_without_dates_the_last_complete_period_is_asked_as_the_original_asked() -> None:
    assert request_dates(None, None, "daily") == ["previous1"]


@freeze_time("2015-02-18 10:00:00")
def test_a_start_alone_runs_to_the_last_complete_period() -> None:
    assert request_dates(date(2015, 1, 1), None, "weekly") == ["2015-01-01,2015-02-15"]
    assert request_dates(date(2015, 1, 1), None, "monthly") == ["2015-01-01,2015-01-31"]


def test_unsplit_is_one_request_for_the_whole_range() -> None:
    assert request_dates(date(2014, 1, 1), date(2014, 12, 31), "daily", split=False) == ["2014-01-01,2014-12-31"]


def test_an_end_alone_or_a_start_after_the_end_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="--end was given without --start"):
        request_dates(None, date(2015, 2, 1), "weekly")
    with pytest.raises(ConfigurationError, match="is after the end date"):
        request_dates(date(2015, 2, 9), date(2015, 2, 1), "daily")


def test_the_request_asks_every_row_and_the_arguments_go_last() -> None:
    query = CoreQuery.from_config({"site_id": "9", "api_method": "Goals.get", "period": "week",
                                   "api_method_arguments": {"idGoal": "3", "format": "json"}})

    assert query.parameters("previous1") == {
        "method": "Goals.get", "idSite": "9", "format": "json", "period": "week", "date": "previous1",
        "filter_limit": -1, "idGoal": "3",
    }
    limited = CoreQuery.from_config({"site_id": 1, "api_method": "API.get", "frequency": "monthly",
                                     "api_method_arguments": {"filter_limit": 5, "period": "day"}})
    assert limited.parameters("previous1")["filter_limit"] == 5
    assert limited.parameters("previous1")["period"] == "day"
    assert limited.sets_own_dates and not query.sets_own_dates


def test_the_removed_browser_version_report_is_asked_under_its_new_name() -> None:
    query = CoreQuery.from_config({"site_id": "1", "api_method": "UserSettings.getBrowserVersion"})
    assert (query.method, query.renamed_from, query.frequency) == (
        "DevicesDetection.getBrowserVersions", "UserSettings.getBrowserVersion", "weekly"
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"api_method": "Goals.get"}, "key 'site_id'"),
        ({"site_id": "all", "api_method": "Goals.get"}, "key 'site_id'"),
        ({"site_id": True, "api_method": "Goals.get"}, "key 'site_id'"),
        ({"site_id": "1", "api_method": "getThings"}, "key 'api_method'"),
        ({"site_id": "1", "api_method": "Goals.get", "frequency": "yearly"}, "key 'frequency'"),
        ({"site_id": "1", "api_method": "Goals.get", "api_method_arguments": ["idGoal"]}, "api_method_arguments"),
        ({"site_id": "1", "api_method": "Goals.get", "api_method_arguments": {"format": "xml"}}, "'format' must be"),
        ({"site_id": "1", "api_method": "Goals.get", "api_method_arguments": {"idGoal": {"a": 1}}}, "'idGoal'"),
    ],
)
def test_a_query_mistake_names_its_key(query, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CoreQuery.from_config(query)


def test_realtime_minutes_are_sent_as_written() -> None:
    query = RealtimeQuery.from_config({"site_id": "9", "api_method": "Live.getCounters", "minutes": "1"})
    assert query.parameters() == {"method": "Live.getCounters", "idSite": "9", "format": "json", "lastMinutes": "1"}
    assert RealtimeQuery.from_config({"site_id": "9", "api_method": "Live.getCounters"}).minutes == 2
    with pytest.raises(ConfigurationError, match="key 'minutes'"):
        RealtimeQuery.from_config({"site_id": "9", "api_method": "Live.getCounters", "minutes": "two"})
