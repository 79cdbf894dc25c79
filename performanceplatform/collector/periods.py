"""Dates, periods and time windows: the one place that decides which dates a run covers.

Faithful to the original's `datetimeutil` (reference §2.4) and Pingdom's range rules (§5), with its
bugs fixed on purpose: "today" and "now" are UTC rather than the host's local time, an aware
datetime is converted to UTC rather than relabelled, and a start date without an end date runs to
the default end instead of crashing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from performanceplatform.collector.errors import ConfigurationError

FREQUENCIES = ("daily", "weekly", "monthly")
TIME_SPANS = {"daily": "day", "weekly": "week", "monthly": "month"}
DEFAULT_FREQUENCY = "weekly"

# Pingdom's rule for an end date without a start (original-behaviour.md §5).
PINGDOM_EARLIEST_START = datetime(2005, 1, 1, tzinfo=UTC)

Period = tuple[date, date]

# A backfill of more periods than this is announced before it starts: at least one request per
# period, so `-s 1900-01-01` on a weekly query means thousands of them (and of the quota).
LONG_BACKFILL_PERIODS = 400

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_today() -> date:
    return utc_now().date()


def to_date(value: date | datetime | None) -> date | None:
    """A datetime's date (its time zone ignored, as the original did), a date, or None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date or datetime, got {value!r}")


def to_utc_datetime(value: date | datetime) -> datetime:
    """Midnight UTC for a date; an aware datetime converted to UTC; a naive one taken as UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def time_span(frequency: str) -> str:
    """`day`, `week` or `month`: the record's `timeSpan` for a query's `frequency`."""
    check_frequency(frequency)
    return TIME_SPANS[frequency]


def check_frequency(frequency: object) -> str:
    if frequency not in FREQUENCIES:
        raise ConfigurationError(
            f"expected one of {', '.join(FREQUENCIES)}, got {frequency!r}", key="frequency"
        )
    return frequency  # type: ignore[return-value]


def period_range(
    start: date | datetime | None,
    end: date | datetime | None,
    frequency: str = DEFAULT_FREQUENCY,
    *,
    today: date | None = None,
) -> list[Period]:
    """The (first day, last day) periods a GA query covers, in order.

    Without dates, the last complete period before today. With `start` alone, from `start` to that
    default end. `end` alone is a usage error: there is no sensible start to assume.
    """
    check_frequency(frequency)
    start_date, end_date = to_date(start), to_date(end)
    if start_date is None and end_date is not None:
        raise ConfigurationError("--end was given without --start; give both, or --start alone")
    today = today or utc_today()
    default_end = _default_end(frequency, today)
    if start_date is None:
        start_date = _default_start(frequency, today)
    if end_date is None:
        end_date = default_end
    if start_date > end_date:
        raise ConfigurationError(
            f"the start date {start_date.isoformat()} is after the end date {end_date.isoformat()}"
        )
    periods = list(_periods(start_date, end_date, frequency))
    if len(periods) > LONG_BACKFILL_PERIODS:
        log.warning(
            "A long backfill: %s %s periods from %s to %s, so at least %s requests to the source, one per "
            "period (more where a period's rows run to several pages)",
            f"{len(periods):,}",
            frequency,
            periods[0][0].isoformat(),
            periods[-1][1].isoformat(),
            f"{len(periods):,}",
        )
    return periods


def _default_start(frequency: str, today: date) -> date:
    if frequency == "daily":
        return today - timedelta(days=1)
    if frequency == "weekly":
        return today - timedelta(days=7)
    from dateutil.relativedelta import relativedelta  # only monthly periods need it

    return today - relativedelta(months=1)


def _default_end(frequency: str, today: date) -> date:
    # Weekly and monthly runs snap the start back to the period's first day and stop after the
    # period containing this date, so "a week ago" and "a month ago" select the last full period.
    return _default_start(frequency, today)


def _periods(start: date, end: date, frequency: str) -> Iterator[Period]:
    if frequency == "daily":
        day = start
        while day <= end:
            yield day, day
            day += timedelta(days=1)
    elif frequency == "weekly":
        monday = start - timedelta(days=start.weekday())
        while monday <= end:
            yield monday, monday + timedelta(days=6)
            monday += timedelta(days=7)
    else:
        from dateutil.relativedelta import relativedelta  # only monthly periods need it

        first = start.replace(day=1)
        while first <= end:
            following = first + relativedelta(months=1)
            yield first, following - timedelta(days=1)
            first = following


def truncate_to_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hourly_range(
    start: date | datetime | None,
    end: date | datetime | None,
    *,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """Pingdom's time range, in UTC, truncated to whole hours.

    Start only: up to now. End only: from 2005-01-01. Neither: the last 24 hours.
    """
    now = to_utc_datetime(now or utc_now())
    start_at = to_utc_datetime(start) if start is not None else None
    end_at = to_utc_datetime(end) if end is not None else None
    if start_at is None and end_at is None:
        start_at, end_at = now - timedelta(days=1), now
    elif end_at is None:
        end_at = now
    elif start_at is None:
        start_at = PINGDOM_EARLIEST_START
    assert start_at is not None and end_at is not None  # for the type checker
    start_at, end_at = truncate_to_hour(start_at), truncate_to_hour(end_at)
    if start_at > end_at:
        raise ConfigurationError(
            f"the start {start_at.isoformat()} is after the end {end_at.isoformat()}"
        )
    return start_at, end_at


def split_windows(
    start: datetime, end: datetime, max_span: timedelta
) -> list[tuple[datetime, datetime]]:
    """Consecutive [from, to) windows of at most `max_span` covering [start, end) exactly once."""
    if max_span <= timedelta(0):
        raise ValueError("max_span must be positive")
    windows = []
    cursor = start
    while cursor < end:
        window_end = min(cursor + max_span, end)
        windows.append((cursor, window_end))
        cursor = window_end
    return windows
