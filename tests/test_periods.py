"""Periods and time windows: the original's vectors (reference §11 items 6-9) and its fixed bugs."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from freezegun import freeze_time

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.periods import (
    hourly_range,
    period_range,
    split_windows,
    time_span,
    to_date,
    to_utc_datetime,
)
from tests.support.google import GA4_PROPERTY, Ga4Collector


def d(text: str) -> date:
    return date.fromisoformat(text)


@freeze_time("2013-04-02 10:00")
def test_daily_default_is_yesterday():
    assert period_range(None, None, "daily") == [(d("2013-04-01"), d("2013-04-01"))]


def test_daily_range_gives_one_period_per_day():
    assert period_range(d("2013-04-01"), d("2013-04-03"), "daily") == [
        (d("2013-04-01"), d("2013-04-01")),
        (d("2013-04-02"), d("2013-04-02")),
        (d("2013-04-03"), d("2013-04-03")),
    ]


def test_a_datetime_mixes_with_a_date():
    assert period_range(datetime(2013, 4, 1, 12, 30), d("2013-04-02"), "daily") == [
        (d("2013-04-01"), d("2013-04-01")),
        (d("2013-04-02"), d("2013-04-02")),
    ]


def test_end_before_start_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="after the end date"):
        period_range(d("2013-04-03"), d("2013-04-01"), "daily")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2013-04-01", "2013-04-07", [("2013-04-01", "2013-04-07")]),
        ("2013-04-01", "2013-04-21", [("2013-04-01", "2013-04-07"), ("2013-04-08", "2013-04-14"),
                                      ("2013-04-15", "2013-04-21")]),
        ("2013-04-03", "2013-04-10", [("2013-04-01", "2013-04-07"), ("2013-04-08", "2013-04-14")]),
        ("2013-04-08", "2013-04-08", [("2013-04-08", "2013-04-14")]),
    ],
)
def test_weekly_periods_snap_to_mondays(start, end, expected):
    assert period_range(d(start), d(end), "weekly") == [(d(a), d(b)) for a, b in expected]


@freeze_time("2013-04-11")
def test_weekly_default_is_the_last_full_week():
    assert period_range(None, None, "weekly") == [(d("2013-04-01"), d("2013-04-07"))]
    assert period_range(None, None) == [(d("2013-04-01"), d("2013-04-07"))]


@freeze_time("2013-04-02")
def test_monthly_default_is_the_previous_month():
    assert period_range(None, None, "monthly") == [(d("2013-03-01"), d("2013-03-31"))]


def test_monthly_periods_are_whole_months_across_a_year_end():
    assert period_range(d("2012-12-20"), d("2013-02-05"), "monthly") == [
        (d("2012-12-01"), d("2012-12-31")),
        (d("2013-01-01"), d("2013-01-31")),
        (d("2013-02-01"), d("2013-02-28")),
    ]


@freeze_time("2013-04-11")
def test_start_alone_runs_to_the_default_end():
    # The original crashed here (comparing a date with None); recollect.py relied on it working.
    assert period_range(d("2013-03-18"), None, "weekly") == [
        (d("2013-03-18"), d("2013-03-24")),
        (d("2013-03-25"), d("2013-03-31")),
        (d("2013-04-01"), d("2013-04-07")),
    ]


def test_end_alone_is_a_usage_error():
    with pytest.raises(ConfigurationError, match="--end was given without --start"):
        period_range(None, d("2013-04-01"), "daily")


def test_unknown_frequency_names_the_key():
    with pytest.raises(ConfigurationError, match="key 'frequency': expected one of daily, weekly, monthly"):
        period_range(None, None, "hourly")


def test_time_spans():
    assert [time_span(f) for f in ("daily", "weekly", "monthly")] == ["day", "week", "month"]


@freeze_time("2013-04-02 23:30:00", tz_offset=0)
def test_today_is_utc_not_the_host_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    import time

    time.tzset()
    try:
        assert period_range(None, None, "daily") == [(d("2013-04-01"), d("2013-04-01"))]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_to_date_and_to_utc_datetime():
    assert to_date(None) is None
    assert to_date(datetime(2013, 4, 1, 23, 0, tzinfo=timezone(timedelta(hours=-5)))) == d("2013-04-01")
    assert to_utc_datetime(d("2013-04-01")) == datetime(2013, 4, 1, tzinfo=UTC)
    # The original relabelled an aware datetime as UTC; it is converted now.
    assert to_utc_datetime(datetime(2013, 4, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))) == datetime(
        2013, 4, 1, 9, 0, tzinfo=UTC
    )
    assert to_utc_datetime(datetime(2013, 4, 1, 10, 0)) == datetime(2013, 4, 1, 10, 0, tzinfo=UTC)


NOW = datetime(2013, 6, 15, 22, 47, 13, tzinfo=UTC)


def test_hourly_range_neither_bound_is_the_last_24_hours():
    assert hourly_range(None, None, now=NOW) == (
        datetime(2013, 6, 14, 22, tzinfo=UTC),
        datetime(2013, 6, 15, 22, tzinfo=UTC),
    )


def test_hourly_range_start_only_runs_to_now():
    assert hourly_range(datetime(2013, 6, 15, 10, 30), None, now=NOW) == (
        datetime(2013, 6, 15, 10, tzinfo=UTC),
        datetime(2013, 6, 15, 22, tzinfo=UTC),
    )


def test_hourly_range_end_only_starts_in_2005():
    assert hourly_range(None, datetime(2013, 6, 1, 5, 59), now=NOW) == (
        datetime(2005, 1, 1, tzinfo=UTC),
        datetime(2013, 6, 1, 5, tzinfo=UTC),
    )


def test_hourly_range_is_in_utc_for_aware_bounds():
    start = datetime(2013, 6, 15, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert hourly_range(start, None, now=NOW)[0] == datetime(2013, 6, 15, 9, tzinfo=UTC)


def test_split_windows_covers_the_range_exactly_once():
    start = datetime(2013, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=30, hours=5)
    windows = split_windows(start, end, timedelta(days=7))
    assert windows[0][0] == start and windows[-1][1] == end
    assert all(a[1] == b[0] for a, b in pairwise(windows))
    assert all(stop - begin <= timedelta(days=7) for begin, stop in windows)
    assert len(windows) == 5
    assert split_windows(start, start, timedelta(days=7)) == []


# A long backfill is announced, once, before its first request ------------------------------------


def long_backfill_warnings(messages: list[str]) -> list[str]:
    return [message for message in messages if message.startswith("A long backfill")]


def test_up_to_400_periods_start_without_a_word_and_401_are_announced(caplog):
    with caplog.at_level(logging.WARNING, logger="performanceplatform.collector.periods"):
        assert len(period_range(d("2023-01-01"), d("2024-02-04"), "daily")) == 400
        assert long_backfill_warnings(caplog.messages) == []
        assert len(period_range(d("2023-01-01"), d("2024-02-05"), "daily")) == 401
    assert long_backfill_warnings(caplog.messages) == [
        "A long backfill: 401 daily periods from 2023-01-01 to 2024-02-05, so at least 401 requests to the "
        "source, one per period (more where a period's rows run to several pages)"
    ]


def test_a_ga4_backfill_from_1900_says_how_many_requests_before_the_first(
    ga4_collector: Ga4Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGLEVEL", "DEBUG")  # the requests' own lines are detail
    # The property is not the account's: the run stops at the first answers instead of making thousands.
    ga4_collector.api.grant_only("properties/1")
    query = {"id": GA4_PROPERTY, "metrics": ["visitors"], "dimensions": ["deviceCategory"]}

    result = ga4_collector.run("ga", query, {}, "-s", "1900-01-01", "-e", "2024-06-02", "--concurrency", "10")

    assert result.exit_code == 1
    messages = [line["@message"] for line in result.json_log()]
    assert long_backfill_warnings(messages) == [
        "A long backfill: 6,492 weekly periods from 1900-01-01 to 2024-06-02, so at least 6,492 requests to the "
        "source, one per period (more where a period's rows run to several pages)"
    ]
    first_request = next(index for index, message in enumerate(messages) if message.startswith("Querying GA4"))
    assert messages.index(long_backfill_warnings(messages)[0]) < first_request
    assert len(ga4_collector.api.report_requests()) <= 10
