"""A Matomo query file's `query`, read into what to ask the Reporting API, and for which dates.

Keys, as the original read them (reference piwik-matomo.md §1-2):

- both entrypoints: `site_id` (sent as `idSite`, as written) and `api_method` (sent as `method`);
- `piwik.core`: `frequency` (`daily`, `weekly`, `monthly` → `period` `day`, `week`, `month`;
  default `weekly`) and `api_method_arguments`, merged into the parameters last, so that it can
  override any of them;
- `piwik.realtime`: `minutes` (default 2), sent as `lastMinutes`, as written.

Other keys are ignored, as they always were (a production file carries `"period": "week"`).

Two things differ from the original on purpose. `filter_limit=-1` is sent unless the query sets a
`filter_limit`: since Piwik 3 the API cuts a report at 100 rows a period by default, which the
original never met. And `UserSettings.getBrowserVersion`, which went with the UserSettings API in
Piwik 2.14, is asked as `DevicesDetection.getBrowserVersions`, the same report under its new name
(labels such as `Chrome 40.0` in both), with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from performanceplatform.collector.errors import ConfigurationError, in_query_file
from performanceplatform.collector.periods import DEFAULT_FREQUENCY, period_range, time_span, to_date

# Methods that are gone, and the method that answers the same report today.
RENAMED_METHODS = {"UserSettings.getBrowserVersion": "DevicesDetection.getBrowserVersions"}
# `date` when the run names no dates: the last complete period, in the site's own time zone.
LAST_COMPLETE_PERIOD = "previous1"
# Periods asked in one request of a backfill. Matomo builds (or reads) an archive for every period
# a request covers; a month of days, a quarter of weeks or a year of months keeps a request well
# inside the read timeout on an instance that archives when asked, lets `--concurrency` spread a
# long backfill, and keeps a year of weeks to five requests, far under Matomo Cloud's rate limit.
PERIODS_PER_REQUEST = {"day": 31, "week": 13, "month": 12}
# Parameters a query cannot set: the token belongs in the credentials file (and never in a URL),
# and the answer is read as JSON.
RESERVED_ARGUMENTS = ("token_auth",)
_METHOD = re.compile(r"[A-Za-z_]\w*\.[A-Za-z_]\w*", re.ASCII)
_WHOLE_NUMBER = re.compile(r"[0-9]+", re.ASCII)

Scalar = str | int | float | bool


@dataclass(frozen=True)
class CoreQuery:
    """What `piwik.core` asks: one report of one site, per `period`."""

    site_id: str | int
    method: str
    frequency: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    # The method as the query file wrote it, when that is a removed one asked under its new name.
    renamed_from: str | None = None

    @classmethod
    def from_config(cls, query: Mapping[str, Any], *, source: str | None = None) -> CoreQuery:
        try:
            return cls._read(query)
        except ConfigurationError as error:
            raise in_query_file(error, source) from None

    @classmethod
    def _read(cls, query: Mapping[str, Any]) -> CoreQuery:
        query = _as_query(query)
        site_id = site_id_from(query)
        written = method_from(query)
        frequency = query.get("frequency", DEFAULT_FREQUENCY)
        try:
            time_span(frequency)
        except ConfigurationError as error:
            raise ConfigurationError(error.detail, source="query", key="frequency") from None
        arguments = _arguments(query.get("api_method_arguments"))
        method = RENAMED_METHODS.get(written, written)
        return cls(site_id, method, frequency, arguments, written if method != written else None)

    @property
    def period(self) -> str:
        """Matomo's `period`: `day`, `week` or `month` (also the records' `timeSpan`)."""
        return time_span(self.frequency)

    @property
    def sets_own_dates(self) -> bool:
        """Whether `api_method_arguments` overrides `date` or `period`: then its dates are asked as written."""
        return "date" in self.arguments or "period" in self.arguments

    def parameters(self, date_parameter: str) -> dict[str, Any]:
        """The request's parameters for `date_parameter` (`previous1`, or `first,last`)."""
        parameters: dict[str, Any] = {
            "method": self.method,
            "idSite": self.site_id,
            "format": "json",
            "period": self.period,
            "date": date_parameter,
        }
        if "filter_limit" not in self.arguments:
            parameters["filter_limit"] = -1  # every row: Matomo's default is 100 a period
        parameters.update(self.arguments)
        return parameters


@dataclass(frozen=True)
class RealtimeQuery:
    """What `piwik.realtime` asks: the visitors of the last `minutes` minutes."""

    site_id: str | int
    method: str
    minutes: str | int

    @classmethod
    def from_config(cls, query: Mapping[str, Any], *, source: str | None = None) -> RealtimeQuery:
        try:
            return cls._read(query)
        except ConfigurationError as error:
            raise in_query_file(error, source) from None

    @classmethod
    def _read(cls, query: Mapping[str, Any]) -> RealtimeQuery:
        query = _as_query(query)
        minutes = query.get("minutes", 2)
        if not _is_whole_number(minutes):
            raise ConfigurationError(
                f"expected a number of minutes, such as 2 or \"2\", got {minutes!r}", source="query", key="minutes"
            )
        return cls(site_id_from(query), method_from(query), minutes)

    def parameters(self) -> dict[str, Any]:
        return {"method": self.method, "idSite": self.site_id, "format": "json", "lastMinutes": self.minutes}


def site_id_from(query: Mapping[str, Any]) -> str | int:
    site_id = query.get("site_id")
    if not _is_whole_number(site_id):
        raise ConfigurationError(
            f"expected the Matomo site's id, such as \"9\", got {site_id!r}", source="query", key="site_id"
        )
    return site_id  # type: ignore[return-value]


def method_from(query: Mapping[str, Any]) -> str:
    method = query.get("api_method")
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        raise ConfigurationError(
            f"expected a Reporting API method such as \"Goals.get\" or \"DevicesDetection.getType\", got {method!r}",
            source="query",
            key="api_method",
        )
    return method


def request_dates(
    start_at: date | datetime | None, end_at: date | datetime | None, frequency: str, *, split: bool = True
) -> list[str]:
    """The `date` parameter of each request a run makes, in period order.

    Without dates, the original's one request for the last complete period (`previous1`). With
    dates, the periods between them (as for Google Analytics: `--start` alone runs to the last
    complete period, `--end` alone is a usage error), asked `PERIODS_PER_REQUEST` at a time as
    `first,last`, or all in one request unless `split`. Each request's dates are whole periods but
    for the run's own first and last date, so a short run asks exactly what the original asked,
    and Matomo answers every period the two dates touch exactly once, whichever request asks it.
    """
    if start_at is None and end_at is None:
        return [LAST_COMPLETE_PERIOD]
    periods = period_range(start_at, end_at, frequency)
    first_date = to_date(start_at)
    last_date = to_date(end_at) or periods[-1][1]
    assert first_date is not None  # period_range refuses an end without a start
    size = PERIODS_PER_REQUEST[time_span(frequency)] if split else len(periods)
    dates = []
    for index in range(0, len(periods), size):
        window = periods[index : index + size]
        first = max(first_date, window[0][0])
        last = min(last_date, window[-1][1])
        dates.append(f"{first.isoformat()},{last.isoformat()}")
    return dates


def _as_query(query: object) -> Mapping[str, Any]:
    if not isinstance(query, Mapping):
        raise ConfigurationError(f"expected an object, got {query!r}", key="query")
    return query


def _is_whole_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    return isinstance(value, str) and bool(_WHOLE_NUMBER.fullmatch(value))


def _arguments(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"expected an object of Reporting API parameters, such as {{\"idGoal\": \"3\"}}, got {value!r}",
            source="query",
            key="api_method_arguments",
        )
    for name, argument in value.items():
        if name in RESERVED_ARGUMENTS:
            raise ConfigurationError(
                f"{name!r} belongs in the credentials file, never in a query file (it would be sent in the URL)",
                source="query",
                key="api_method_arguments",
            )
        if name == "format" and argument != "json":
            raise ConfigurationError(
                f"'format' must be \"json\" (pp-collector reads JSON answers), got {argument!r}",
                source="query",
                key="api_method_arguments",
            )
        items = argument if isinstance(argument, list) else [argument]
        if not all(isinstance(item, Scalar) for item in items):
            raise ConfigurationError(
                f"{name!r}: expected a string, number or true/false (or a list of them), got {argument!r}",
                source="query",
                key="api_method_arguments",
            )
    return dict(value)
