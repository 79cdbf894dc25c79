"""Stand-in for the Google Analytics Data API v1beta (GA4): `runReport`, `runRealtimeReport`, `getMetadata`.

`POST /v1beta/properties/<n>:runReport` answers in the real shape: `dimensionHeaders`,
`metricHeaders`, `rows` of string values, `rowCount`, `metadata` (time zone, currency, and the
sampling / thresholding / "(other)" flags a test sets), `propertyQuota` when asked for, and pages
by `offset` / `limit`. With several date ranges every row carries a `dateRange` dimension (the
range's name), last, as GA4 adds it. Requests GA4 would refuse get Google's error body
`{"error": {"code", "message", "status"}}` (400 `INVALID_ARGUMENT` for an unknown field, name or
bad filter; 403 `PERMISSION_DENIED` for a property not granted; 429 `RESOURCE_EXHAUSTED` once a
property's tokens are spent, see below), and so do injected faults (`fail_next_with`,
`exhaust_quota`).

Quotas are Google's, per property, with a separate set for realtime reports (apis-today.md §1.4,
the Data API's `PropertyQuota`): tokens per day (200,000; 2,000,000 for an Analytics 360 property,
`set_quota_limits`), per hour (40,000) and per project per hour (35% of those: 14,000, so one
project such as pp-collector runs out of these first). Each request costs `token_cost` tokens
(10), deducted from all three. A request is refused while one of its property's buckets is empty,
and served otherwise, so the last one served may overdraw (a bucket's `remaining` never goes below
0). Tokens come back as Google says they do: an hour's 60 minutes after they were spent, a day's
at midnight Pacific time. The quota's clock is `datetime.now`, so a test moves it with freezegun.
`propertyQuota` is written as the Data API writes its JSON (proto3): a zero is left out, so a
bucket with nothing consumed shows only what remains.

Rates GA4 defines as fractions (`bounceRate`, `engagementRate`, ... `FRACTION_METRICS`) are
answered as fractions (0.4495 for 44.95 %), as the Data API answers them; the collector scales
them back to UA's percentages where a query asks for UA's names.

`GET /v1beta/properties/<n>/metadata` answers the property's dimensions and metrics as
`getMetadata` does: GA4's standard fields (`schema`), and the custom dimensions, custom metrics
and key events a test defines for the property (`define`; a key event `e` brings the metrics
`keyEvents:e`, `sessionKeyEventRate:e` and `userKeyEventRate:e`), each marked
`customDefinition`. Once a property has definitions, `runReport` refuses (400) a custom or
key-event name it does not define, as GA4 does; a property without any accepts every such name,
as earlier versions of the stand-in did, so real query files can run against it.

Tests give rows as dicts of GA4 field name → value (`add_rows`, per property and date range);
each request's filters are applied to them, its `orderBys` sort them, and the requested fields
are projected (a missing dimension is "(not set)", a missing metric 0). `auto_rows` makes up rows
for any query (unfiltered), for running real query files; for a query of one date range without
`orderBys`, only the page asked for is made up, written straight as JSON text, so a benchmark can
page through a million rows without the stand-in holding them or spending much CPU on them.
Regexes are matched with Python's `re`; one it cannot compile matches nothing (RE2, GA4's engine,
accepts a few Python refuses).
"""

from __future__ import annotations

import functools
import json
import operator
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from performanceplatform.collector.ga.data_api import schema
from performanceplatform.collector.standins.server import Fault, RawJSON, RecordedRequest, Response, StandIn, route

REPORT_PATH = r"/v1beta/(?P<property>[^/:]+/[^/:]+):runReport"
REALTIME_PATH = r"/v1beta/(?P<property>[^/:]+/[^/:]+):runRealtimeReport"
METADATA_PATH = r"/v1beta/(?P<property>[^/:]+/[^/:]+)/metadata"
KEY_EVENT_METRICS = ("keyEvents", "sessionKeyEventRate", "userKeyEventRate")
MAX_LIMIT = 250_000
DEFAULT_LIMIT = 10_000
QUOTA_GUIDE = "https://developers.google.com/analytics/devguides/reporting/data/v1/quotas"
STATUS_WORDS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# The `message` of a 429 `RESOURCE_EXHAUSTED` for each bucket. The project-per-hour one is as
# observed from the real API (a connector's log of the raw body); the others follow its pattern,
# with the wording third-party clients match on.
QUOTA_MESSAGES = {
    "project-hour": "Exhausted property tokens for a project per hour. These quota tokens will return in under "
    f"an hour. To learn more, see {QUOTA_GUIDE}",
    "hour": "Exhausted property tokens per hour. These quota tokens will return in under an hour. To learn "
    f"more, see {QUOTA_GUIDE}",
    "day": "Exhausted property tokens per day. These quota tokens will return in under 24 hours. To learn "
    f"more, see {QUOTA_GUIDE}",
    "concurrent": f"Exhausted concurrent requests quota. To learn more, see {QUOTA_GUIDE}",
}
HOUR = timedelta(hours=1)
# Metrics the Data API answers as a fraction ("returned as a fraction; for example, 0.2761 means
# 27.61%", its API schema page), and the per-key-event rates (`sessionKeyEventRate:<event>`).
FRACTION_METRICS = frozenset({
    "bounceRate", "cartToViewRate", "crashFreeUsersRate", "dauPerMau", "dauPerWau", "engagementRate",
    "firstTimePurchaserConversionRate", "firstTimePurchaserRate", "itemListClickThroughRate",
    "itemPromotionClickThroughRate", "organicGoogleSearchClickThroughRate", "purchaseToViewRate",
    "purchaserConversionRate", "purchaserRate", "sessionConversionRate", "sessionKeyEventRate",
    "userConversionRate", "userKeyEventRate", "wauPerMau",
})
# The request fields of the discovery document's RunReportRequest and RunRealtimeReportRequest.
REPORT_FIELDS = frozenset({
    "property", "dateRanges", "dimensions", "metrics", "dimensionFilter", "metricFilter", "offset", "limit",
    "metricAggregations", "orderBys", "currencyCode", "cohortSpec", "keepEmptyRows", "returnPropertyQuota",
    "comparisons",
})
REALTIME_FIELDS = frozenset({
    "dimensions", "metrics", "dimensionFilter", "metricFilter", "limit", "metricAggregations", "orderBys",
    "returnPropertyQuota", "minuteRanges",
})
NUMERIC_OPERATIONS: dict[str, Callable[[float, float], bool]] = {
    "EQUAL": operator.eq,
    "LESS_THAN": operator.lt,
    "LESS_THAN_OR_EQUAL": operator.le,
    "GREATER_THAN": operator.gt,
    "GREATER_THAN_OR_EQUAL": operator.ge,
}
STRING_MATCHES = ("EXACT", "BEGINS_WITH", "ENDS_WITH", "CONTAINS", "FULL_REGEXP", "PARTIAL_REGEXP")
RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]")

Row = dict[str, Any]
Authorizer = Callable[[RecordedRequest], "Response | None"]


def google_error(code: int, message: str, status: str | None = None, details: list[Any] | None = None) -> Response:
    """Google's JSON error answer, as the Data API gives it (a status word, no `errors` list)."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status or STATUS_WORDS.get(code, "UNKNOWN")}
    if details:
        error["details"] = details
    return Response(code, {"error": error})


class DataApiError(Exception):
    def __init__(self, code: int, message: str, response: Response | None = None):
        super().__init__(message)
        self.response = response or google_error(code, message)


def invalid(message: str) -> DataApiError:
    return DataApiError(400, message)


@dataclass
class RowSet:
    """Rows answering the requests that match every given constraint, with GA4's flags about them."""

    rows: list[Row]
    property: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    sampled: tuple[int, int] | None = None
    thresholded: bool = False
    other_row: bool = False

    def matches(self, property_: str, date_range: Mapping[str, str]) -> bool:
        wanted = {"property": self.property, "startDate": self.start_date, "endDate": self.end_date}
        given = {"property": property_, **date_range}
        return all(value is None or given.get(name) == value for name, value in wanted.items())


def answers_a_fraction(metric: str) -> bool:
    """Whether the Data API answers `metric` as a fraction of 1 (`bounceRate`, `sessionKeyEventRate:buy`)."""
    return metric.split(":", 1)[0] in FRACTION_METRICS


def _pacific() -> tzinfo:
    try:
        return ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:
        # A host without time zone data: Pacific standard time is at most an hour out.
        return timezone(timedelta(hours=-8))


@dataclass(frozen=True)
class QuotaLimits:
    """A property's quotas (the Data API's `PropertyQuota` fields)."""

    tokens_per_day: int
    tokens_per_hour: int
    tokens_per_project_per_hour: int
    concurrent_requests: int
    server_errors_per_project_per_hour: int
    potentially_thresholded_requests_per_hour: int


STANDARD = QuotaLimits(200_000, 40_000, 14_000, 10, 10, 120)
ANALYTICS_360 = QuotaLimits(2_000_000, 400_000, 140_000, 50, 50, 120)


class PropertyQuota:
    """One property's token buckets for one kind of report (core or realtime), as they refill."""

    def __init__(self, limits: QuotaLimits):
        self.limits = limits
        # (when, tokens) of each request served in the last hour, oldest first, and their sum.
        self._this_hour: deque[tuple[datetime, int]] = deque()
        self._used_this_hour = 0
        self._day: date | None = None
        self._used_today = 0
        self.last_consumed = 0

    def _refill(self) -> datetime:
        now = datetime.now(UTC)
        while self._this_hour and self._this_hour[0][0] <= now - HOUR:
            self._used_this_hour -= self._this_hour.popleft()[1]
        today = now.astimezone(_pacific()).date()
        if today != self._day:
            self._day, self._used_today = today, 0
        return now

    def used_this_hour(self) -> int:
        self._refill()
        return self._used_this_hour

    def used_today(self) -> int:
        self._refill()
        return self._used_today

    def consume(self, tokens: int) -> None:
        """Charge a request `tokens`, or refuse it (429) while a bucket is empty."""
        now = self._refill()
        hour = self._used_this_hour
        if self._used_today >= self.limits.tokens_per_day:
            raise DataApiError(429, QUOTA_MESSAGES["day"])
        if hour >= self.limits.tokens_per_hour:
            raise DataApiError(429, QUOTA_MESSAGES["hour"])
        if hour >= self.limits.tokens_per_project_per_hour:
            raise DataApiError(429, QUOTA_MESSAGES["project-hour"])
        self._this_hour.append((now, tokens))
        self._used_this_hour += tokens
        self._used_today += tokens
        self.last_consumed = tokens

    def status(self) -> dict[str, Any]:
        """`propertyQuota` after the last request served: what it consumed, what is left."""
        hour, today, limits = self.used_this_hour(), self.used_today(), self.limits

        def bucket(consumed: int, remaining: int) -> dict[str, int]:
            # proto3 JSON leaves zeros out.
            written = {"consumed": consumed, "remaining": max(0, remaining)}
            return {name: number for name, number in written.items() if number}

        return {
            "tokensPerDay": bucket(self.last_consumed, limits.tokens_per_day - today),
            "tokensPerHour": bucket(self.last_consumed, limits.tokens_per_hour - hour),
            "concurrentRequests": bucket(0, limits.concurrent_requests),
            "serverErrorsPerProjectPerHour": bucket(0, limits.server_errors_per_project_per_hour),
            "potentiallyThresholdedRequestsPerHour": bucket(0, limits.potentially_thresholded_requests_per_hour),
            "tokensPerProjectPerHour": bucket(self.last_consumed, limits.tokens_per_project_per_hour - hour),
        }


@dataclass(frozen=True)
class Definitions:
    """What a property defines beyond GA4's standard fields (API names; key events by event name)."""

    custom_dimensions: frozenset[str] = frozenset()
    custom_metrics: frozenset[str] = frozenset()
    key_events: frozenset[str] = frozenset()

    @property
    def metrics(self) -> frozenset[str]:
        key_event_metrics = {f"{metric}:{event}" for event in self.key_events for metric in KEY_EVENT_METRICS}
        return self.custom_metrics | key_event_metrics

    def knows(self, name: str) -> bool:
        """Whether a property-specific `name` is one of these (standard names are not asked)."""
        return name in self.custom_dimensions or name in self.metrics


@dataclass
class _Request:
    property: str
    dimensions: list[str]
    metrics: list[str]
    body: dict[str, Any]
    realtime: bool
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    date_ranges: list[dict[str, str]] = field(default_factory=list)


class GoogleAnalyticsDataStandIn(StandIn):
    name = "google-analytics-data"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, authorize: Authorizer | None = None):
        super().__init__(host, port)
        # Decides whether a bearer token is good (the OAuth stand-in's `check_bearer`); None: any.
        self.authorize = authorize
        self.row_sets: list[RowSet] = []
        self.realtime_rows: list[Row] = []
        self.auto_rows = 0
        # GA4 may answer fewer rows than `limit`; tests lower this to see paging.
        self.max_page_size = MAX_LIMIT
        self.granted: set[str] | None = None
        self.time_zone = "Europe/London"
        # Tokens a request costs; the quotas of each property (standard unless set), for core
        # reports and, separately, realtime ones.
        self.token_cost = 10
        self.quota_limits: dict[str, QuotaLimits] = {}
        self._quotas: dict[tuple[str, bool], PropertyQuota] = {}
        self._quota_lock = threading.Lock()
        # GA4 answers 429 "concurrent requests" beyond 10 at once for a property (counted here over
        # all the requests the stand-in is serving: tests use one property at a time).
        self.concurrent_limit = 10
        # Custom definitions and key events, per property (`define`).
        self.definitions: dict[str, Definitions] = {}

    # What the API holds -------------------------------------------------------------------------

    def add_rows(
        self,
        rows: Sequence[Mapping[str, Any]],
        *,
        property: str | None = None,
        start_date: date | str | None = None,
        end_date: date | str | None = None,
        sampled: tuple[int, int] | None = None,
        thresholded: bool = False,
        other_row: bool = False,
    ) -> None:
        """Answer reports matching the constraints with `rows` (GA4 name → value). Earlier additions win."""
        self.row_sets.append(
            RowSet(
                [dict(row) for row in rows],
                property,
                _date_text(start_date),
                _date_text(end_date),
                sampled,
                thresholded,
                other_row,
            )
        )

    def define(
        self,
        property_: str,
        *,
        custom_dimensions: Sequence[str] = (),
        custom_metrics: Sequence[str] = (),
        key_events: Sequence[str] = (),
    ) -> None:
        """Give `property_` custom dimensions and metrics (API names, `customEvent:<parameter>`) and
        key events (event names), listed by its metadata; its reports then refuse other such names."""
        self.definitions[property_] = Definitions(
            frozenset(custom_dimensions), frozenset(custom_metrics), frozenset(key_events)
        )

    def metadata_requests(self) -> list[RecordedRequest]:
        return self.requests_to(r"/metadata$", "GET")

    def grant_only(self, *properties: str) -> None:
        """Answer 403 PERMISSION_DENIED for any property but these."""
        self.granted = set(properties)

    def set_quota_limits(self, property_: str, limits: QuotaLimits) -> None:
        """Give `property_` ("properties/<n>") other quotas than a standard property's (`ANALYTICS_360`)."""
        with self._quota_lock:
            self.quota_limits[property_] = limits
            for realtime in (False, True):
                self._quotas.pop((property_, realtime), None)

    def quota(self, property_: str, *, realtime: bool = False) -> PropertyQuota:
        """The token buckets of `property_` for core (or realtime) reports."""
        with self._quota_lock:
            key = (property_, realtime)
            if key not in self._quotas:
                self._quotas[key] = PropertyQuota(self.quota_limits.get(property_, STANDARD))
            return self._quotas[key]

    def report_requests(self) -> list[RecordedRequest]:
        return self.requests_to(r":runReport$", "POST")

    def report_bodies(self) -> list[dict[str, Any]]:
        return [request.json() for request in self.report_requests()]

    def realtime_requests(self) -> list[RecordedRequest]:
        return self.requests_to(r":runRealtimeReport$", "POST")

    # Faults --------------------------------------------------------------------------------------

    def fail_next_with(
        self,
        code: int,
        message: str,
        *,
        status: str | None = None,
        details: list[Any] | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
        path: str | None = None,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Answer the next `times` requests (that `when` picks) with the Data API's error body."""
        self.fail_next(
            code, times, body=google_error(code, message, status, details).body, headers=headers, path=path, when=when
        )

    def exhaust_quota(
        self,
        kind: str = "hour",
        *,
        times: int = 1,
        retry_delay: str | None = None,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Answer the next `times` requests 429 RESOURCE_EXHAUSTED for the `project-hour`, `hour`,
        `day` or `concurrent` quota, with a `google.rpc.RetryInfo` detail if `retry_delay` ("0.05s")
        is given."""
        details = (
            [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}] if retry_delay else None
        )
        self.fail_next_with(429, QUOTA_MESSAGES[kind], details=details, times=times, when=when)

    def fault_response(self, fault: Fault, request: RecordedRequest) -> Response:
        if fault.body is not None:
            return Response(fault.status, fault.body, dict(fault.headers))
        response = google_error(fault.status, f"injected {fault.status}")
        response.headers.update(fault.headers)
        return response

    # Routes --------------------------------------------------------------------------------------

    @route("POST", REPORT_PATH)
    def run_report(self, request: RecordedRequest, property: str) -> Response:
        try:
            parsed = self._parse(request, property, realtime=False)
            if self.in_flight > self.concurrent_limit:
                raise DataApiError(429, QUOTA_MESSAGES["concurrent"])
            quota = self.quota(property)
            with self._quota_lock:
                quota.consume(self.token_cost)
                quota_status = quota.status()
            rows, flags = self._report_rows(parsed)
        except DataApiError as error:
            return error.response
        body = self._answer(parsed, rows, "analyticsData#runReport") if rows is not None else self._made_up_page(parsed)
        body["metadata"] = {"currencyCode": "GBP", "timeZone": self.time_zone, **flags}
        if parsed.body.get("returnPropertyQuota"):
            body["propertyQuota"] = quota_status
        return Response(200, body)

    @route("POST", REALTIME_PATH)
    def run_realtime_report(self, request: RecordedRequest, property: str) -> Response:
        try:
            parsed = self._parse(request, property, realtime=True)
            quota = self.quota(property, realtime=True)
            with self._quota_lock:
                quota.consume(self.token_cost)
                quota_status = quota.status()
        except DataApiError as error:
            return error.response
        rows = _filtered(self.realtime_rows, parsed.body)
        body = self._answer(parsed, rows, "analyticsData#runRealtimeReport")
        if parsed.body.get("returnPropertyQuota"):
            body["propertyQuota"] = quota_status
        return Response(200, body)

    @route("GET", METADATA_PATH)
    def get_metadata(self, request: RecordedRequest, property: str) -> Response:
        try:
            self._authorize(request, property)
        except DataApiError as error:
            return error.response
        definitions = self.definitions.get(property, Definitions())
        dimensions = [_field_metadata(name) for name in sorted(schema.DIMENSIONS)]
        dimensions += [_field_metadata(name, custom=True) for name in sorted(definitions.custom_dimensions)]
        metrics = [_field_metadata(name, metric=True) for name in sorted(schema.METRICS)]
        metrics += [_field_metadata(name, metric=True, custom=True) for name in sorted(definitions.metrics)]
        return Response(200, {"name": f"{property}/metadata", "dimensions": dimensions, "metrics": metrics})

    # Request checks ------------------------------------------------------------------------------

    def _authorize(self, request: RecordedRequest, property_: str) -> None:
        """The checks every method makes first: a bearer token, the OAuth stand-in's word on it,
        a property id, and access to the property."""
        authorization = request.header("Authorization") or ""
        if not authorization.startswith("Bearer ") or not authorization[7:].strip():
            raise DataApiError(401, "Request is missing required authentication credential.")
        refusal = self.authorize(request) if self.authorize is not None else None
        if refusal is not None:
            raise DataApiError(refusal.status, "", refusal)
        if not re.fullmatch(r"properties/\d+", property_):
            raise invalid(f"Invalid property: {property_}. A property should be specified as 'properties/1234'")
        if self.granted is not None and property_ not in self.granted:
            raise DataApiError(403, "User does not have sufficient permissions for this property.")

    def _parse(self, request: RecordedRequest, property_: str, *, realtime: bool) -> _Request:
        self._authorize(request, property_)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise invalid("Invalid JSON payload received.") from None
        if not isinstance(body, dict):
            raise invalid("Invalid JSON payload received. Expected an object.")
        allowed = REALTIME_FIELDS if realtime else REPORT_FIELDS
        for name in body:
            if name not in allowed:
                raise invalid(f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.')
        definitions = self.definitions.get(property_)
        dimensions = _names(body, "dimensions", _known(schema.is_dimension, definitions), realtime)
        metrics = _names(body, "metrics", _known(schema.is_metric, definitions), realtime)
        if not metrics and not realtime:
            raise invalid("At least one metric is required.")
        for key, is_kind in (("dimensionFilter", schema.is_dimension), ("metricFilter", schema.is_metric)):
            if key in body:
                known = _known(is_kind, definitions)
                _check_filter(body[key], key, lambda name, known=known: known(name, realtime=realtime))
        _check_order_bys(body.get("orderBys") or [], dimensions, metrics)
        parsed = _Request(property_, dimensions, metrics, body, realtime, limit=_int(body, "limit", DEFAULT_LIMIT))
        if parsed.limit < 1 or parsed.limit > MAX_LIMIT:
            raise invalid(f"limit must be positive and at most {MAX_LIMIT}; got {parsed.limit}.")
        if realtime:
            _check_minute_ranges(body.get("minuteRanges") or [])
        else:
            parsed.offset = _int(body, "offset", 0)
            if parsed.offset < 0:
                raise invalid(f"offset must not be negative; got {parsed.offset}.")
            parsed.date_ranges = _date_ranges(body.get("dateRanges"))
        return parsed

    # Answers -------------------------------------------------------------------------------------

    def _report_rows(self, parsed: _Request) -> tuple[list[Row] | None, dict[str, Any]]:
        """The rows answering a report and GA4's flags about them; no rows (None) when they are
        made up page by page (`_made_up_page`)."""
        if (
            len(parsed.date_ranges) == 1
            and not parsed.body.get("orderBys")
            and not any(s.matches(parsed.property, parsed.date_ranges[0]) for s in self.row_sets)
        ):
            return None, {}
        rows: list[Row] = []
        flags: dict[str, Any] = {}
        samples = []
        several = len(parsed.date_ranges) > 1
        for index, date_range in enumerate(parsed.date_ranges):
            row_set = next((s for s in self.row_sets if s.matches(parsed.property, date_range)), None)
            if row_set is None:
                chosen = _made_up_rows(self.auto_rows, parsed, date_range)
            else:
                chosen = _filtered(row_set.rows, parsed.body)
                if row_set.sampled:
                    samples.append({"samplesReadCount": str(row_set.sampled[0]),
                                    "samplingSpaceSize": str(row_set.sampled[1])})
                if row_set.thresholded:
                    flags["subjectToThresholding"] = True
                if row_set.other_row:
                    flags["dataLossFromOtherRow"] = True
            if several:
                name = date_range.get("name") or f"date_range_{index}"
                chosen = [{**row, schema.DATE_RANGE: name} for row in chosen]
            rows.extend(chosen)
        if samples:
            flags["samplingMetadatas"] = samples
        return _ordered(rows, parsed.body.get("orderBys") or []), flags

    def _made_up_page(self, parsed: _Request) -> dict[str, Any]:
        """`_answer` for `auto_rows` made-up rows, making up only the page asked for.

        The rows are written straight as JSON text (`_made_up_rows_json`): a benchmark pages
        through a million of them, and building and encoding row dicts would cost the stand-in
        more CPU than the collector spends on them.
        """
        stop = min(self.auto_rows, parsed.offset + min(parsed.limit, self.max_page_size))
        body: dict[str, Any] = {
            "dimensionHeaders": [{"name": name} for name in parsed.dimensions],
            "metricHeaders": [
                {"name": name, "type": "TYPE_FLOAT" if _made_up_fraction(name) and self.auto_rows else "TYPE_INTEGER"}
                for name in parsed.metrics
            ],
            "kind": "analyticsData#runReport",
        }
        if stop > parsed.offset:
            body["rows"] = RawJSON(_made_up_rows_json(parsed, range(parsed.offset, stop)))
        if self.auto_rows:
            body["rowCount"] = self.auto_rows
        return body

    def _answer(self, parsed: _Request, rows: list[Row], kind: str) -> dict[str, Any]:
        dimensions = list(parsed.dimensions)
        if len(parsed.date_ranges) > 1:
            dimensions.append(schema.DATE_RANGE)
        page = rows[parsed.offset : parsed.offset + min(parsed.limit, self.max_page_size)]
        body: dict[str, Any] = {
            "dimensionHeaders": [{"name": name} for name in dimensions],
            "metricHeaders": [{"name": name, "type": _metric_type(name, rows)} for name in parsed.metrics],
            "kind": kind,
        }
        if page:
            body["rows"] = [
                {
                    "dimensionValues": [{"value": str(row.get(name, "(not set)"))} for name in dimensions],
                    "metricValues": [{"value": str(row.get(name, 0))} for name in parsed.metrics],
                }
                for row in page
            ]
        if rows:
            body["rowCount"] = len(rows)  # proto3 JSON leaves a zero out
        return body


# Checks -------------------------------------------------------------------------------------------


def _known(is_kind: Callable[..., bool], definitions: Definitions | None) -> Callable[..., bool]:
    """`schema.is_dimension` (or `is_metric`), and, for a property with definitions, only the
    property-specific names it defines."""
    if definitions is None:
        return is_kind

    def known(name: str, *, realtime: bool = False) -> bool:
        if not is_kind(name, realtime=realtime):
            return False
        return realtime or not schema.is_property_specific(name) or definitions.knows(name)

    return known


def _field_metadata(name: str, *, metric: bool = False, custom: bool = False) -> dict[str, Any]:
    """A `DimensionMetadata` / `MetricMetadata` as getMetadata writes it (proto3: false left out)."""
    item: dict[str, Any] = {"apiName": name, "uiName": name, "description": f"{name} (stand-in)",
                            "category": "Custom" if custom else "Standard"}
    if metric:
        item["type"] = "TYPE_FLOAT" if answers_a_fraction(name) else "TYPE_INTEGER"
    if custom:
        item["customDefinition"] = True
    return item


def _names(body: Mapping[str, Any], key: str, known: Callable[..., bool], realtime: bool) -> list[str]:
    items = body.get(key) or []
    kind = key[:-1]
    if not isinstance(items, list) or not all(isinstance(item, dict) and isinstance(item.get("name"), str)
                                              for item in items):
        raise invalid(f"Invalid JSON payload received. {key} must be a list of {{\"name\": ...}} objects.")
    names = [item["name"] for item in items]
    for name in names:
        if not known(name, realtime=realtime):
            report = "realtime " if realtime else ""
            raise invalid(
                f"Field {name} is not a valid {report}{kind}. For a list of valid dimensions and metrics, see "
                "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
            )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise invalid(f"Duplicate {kind} names: {', '.join(duplicates)}.")
    return names


def _check_filter(expression: Any, key: str, known: Callable[[str], bool]) -> None:
    if not isinstance(expression, dict) or len(expression) != 1:
        raise invalid(f"{key}: a FilterExpression holds exactly one of andGroup, orGroup, notExpression, filter.")
    (kind, value), = expression.items()
    if kind in ("andGroup", "orGroup"):
        expressions = value.get("expressions") if isinstance(value, dict) else None
        if not isinstance(expressions, list) or not expressions:
            raise invalid(f"{key}: {kind} needs a non-empty 'expressions' list.")
        for item in expressions:
            _check_filter(item, key, known)
    elif kind == "notExpression":
        _check_filter(value, key, known)
    elif kind == "filter":
        _check_primitive(value, key, known)
    else:
        raise invalid(f'Invalid JSON payload received. Unknown name "{kind}" at \'{key}\': Cannot find field.')


def _check_primitive(primitive: Any, key: str, known: Callable[[str], bool]) -> None:
    name = primitive.get("fieldName") if isinstance(primitive, dict) else None
    if not isinstance(name, str) or not known(name):
        kind = "dimension" if key == "dimensionFilter" else "metric"
        raise invalid(f"{key}: field {name!r} is not a {kind}; the fields of one FilterExpression must all be {kind}s.")
    string_filter = primitive.get("stringFilter")
    numeric_filter = primitive.get("numericFilter")
    if string_filter is not None:
        if string_filter.get("matchType", "EXACT") not in STRING_MATCHES:
            raise invalid(f"{key}: unknown matchType {string_filter.get('matchType')!r}.")
        if "REGEXP" in str(string_filter.get("matchType")) and RE2_UNSUPPORTED.search(str(string_filter.get("value"))):
            raise invalid(f"{key}: invalid RE2 regular expression {string_filter.get('value')!r}.")
    elif numeric_filter is not None:
        value = numeric_filter.get("value") or {}
        numbered = {"int64Value", "doubleValue"} & set(value)
        if numeric_filter.get("operation") not in NUMERIC_OPERATIONS or not numbered:
            raise invalid(f"{key}: a numericFilter needs an operation and an int64Value or doubleValue.")
    elif not {"inListFilter", "betweenFilter", "emptyFilter"} & set(primitive):
        raise invalid(f"{key}: filter on {name} has no stringFilter, inListFilter, numericFilter, betweenFilter "
                      "or emptyFilter.")


def _check_order_bys(order_bys: Any, dimensions: list[str], metrics: list[str]) -> None:
    for order in order_bys if isinstance(order_bys, list) else [None]:
        metric = (order or {}).get("metric", {}).get("metricName") if isinstance(order, dict) else None
        dimension = (order or {}).get("dimension", {}).get("dimensionName") if isinstance(order, dict) else None
        if metric is None and dimension is None:
            raise invalid("orderBys: each OrderBy needs a metric or a dimension.")
        if (metric is not None and metric not in metrics) or (dimension is not None and dimension not in dimensions):
            raise invalid(f"orderBys: {metric or dimension} is not a metric or dimension of the request.")


def _check_minute_ranges(ranges: Any) -> None:
    for minute_range in ranges if isinstance(ranges, list) else [None]:
        if not isinstance(minute_range, dict):
            raise invalid("minuteRanges: each MinuteRange must be an object.")
        start = minute_range.get("startMinutesAgo", 29)
        end = minute_range.get("endMinutesAgo", 0)
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= end <= start <= 29):
            raise invalid("minuteRanges: startMinutesAgo and endMinutesAgo must satisfy 0 <= end <= start <= 29.")


def _date_ranges(ranges: Any) -> list[dict[str, str]]:
    if not isinstance(ranges, list) or not 1 <= len(ranges) <= 4:
        raise invalid("dateRanges: between one and four date ranges are required.")
    resolved = []
    for date_range in ranges:
        if not isinstance(date_range, dict):
            raise invalid("dateRanges: each DateRange must be an object.")
        start, end = (_day(date_range.get(name), name) for name in ("startDate", "endDate"))
        if start > end:
            raise invalid(f"dateRanges: startDate {start} is after endDate {end}.")
        resolved.append({**date_range, "startDate": start.isoformat(), "endDate": end.isoformat()})
    return resolved


def _day(value: Any, name: str) -> date:
    today = datetime.now(UTC).date()
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    if isinstance(value, str) and (match := re.fullmatch(r"(\d+)daysAgo", value)):
        return today - timedelta(days=int(match.group(1)))
    try:
        return datetime.strptime(str(value), "%Y-%m-%d").date()
    except ValueError:
        raise invalid(f"dateRanges: invalid {name} {value!r}; use YYYY-MM-DD, NdaysAgo, yesterday or today.") from None


def _int(body: Mapping[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid value at '{key}' (TYPE_INT64), {value!r}") from None


# Rows -----------------------------------------------------------------------------------------------


def _filtered(rows: list[Row], body: Mapping[str, Any]) -> list[Row]:
    return [
        row
        for row in rows
        if all(_matches(body[key], row) for key in ("dimensionFilter", "metricFilter") if key in body)
    ]


def _matches(expression: Mapping[str, Any], row: Row) -> bool:
    if "andGroup" in expression:
        return all(_matches(item, row) for item in expression["andGroup"]["expressions"])
    if "orGroup" in expression:
        return any(_matches(item, row) for item in expression["orGroup"]["expressions"])
    if "notExpression" in expression:
        return not _matches(expression["notExpression"], row)
    primitive = expression["filter"]
    raw = str(row.get(primitive["fieldName"], "(not set)"))
    if "stringFilter" in primitive:
        return _string_matches(primitive["stringFilter"], raw)
    if "inListFilter" in primitive:
        in_list = primitive["inListFilter"]
        fold = (lambda text: text) if in_list.get("caseSensitive") else str.lower
        return fold(raw) in {fold(value) for value in in_list.get("values", [])}
    if "emptyFilter" in primitive:
        return raw in ("", "(not set)")
    number = _number(row.get(primitive["fieldName"], 0))
    if "numericFilter" in primitive:
        numeric = primitive["numericFilter"]
        return NUMERIC_OPERATIONS[numeric["operation"]](number, _number_value(numeric["value"]))
    between = primitive["betweenFilter"]
    return _number_value(between["fromValue"]) <= number <= _number_value(between["toValue"])


def _string_matches(string_filter: Mapping[str, Any], raw: str) -> bool:
    match_type = string_filter.get("matchType", "EXACT")
    value = str(string_filter.get("value", ""))
    sensitive = bool(string_filter.get("caseSensitive"))
    if match_type in ("FULL_REGEXP", "PARTIAL_REGEXP"):
        try:
            pattern = re.compile(value, 0 if sensitive else re.IGNORECASE)
        except re.error:
            return False
        return bool(pattern.fullmatch(raw) if match_type == "FULL_REGEXP" else pattern.search(raw))
    if not sensitive:
        raw, value = raw.lower(), value.lower()
    return {
        "EXACT": raw == value,
        "BEGINS_WITH": raw.startswith(value),
        "ENDS_WITH": raw.endswith(value),
        "CONTAINS": value in raw,
    }[match_type]


def _ordered(rows: list[Row], order_bys: list[Mapping[str, Any]]) -> list[Row]:
    ordered = list(rows)
    # Sorting by the last key first, stably, sorts by all of them.
    for order in reversed(order_bys):
        if "metric" in order:
            name = order["metric"]["metricName"]
            ordered.sort(key=lambda row, name=name: _number(row.get(name, 0)), reverse=bool(order.get("desc")))
        else:
            name = order["dimension"]["dimensionName"]
            ordered.sort(key=lambda row, name=name: str(row.get(name, "(not set)")), reverse=bool(order.get("desc")))
    return ordered


def _made_up_rows(count: int, parsed: _Request, date_range: Mapping[str, str]) -> list[Row]:
    """`count` plausible rows for any report: dates inside the range, numbered values elsewhere."""
    return [_made_up_row(index, parsed, date_range) for index in range(count)]


def _made_up_row(index: int, parsed: _Request, date_range: Mapping[str, str]) -> Row:
    """Row number `index` (from 0) of `_made_up_rows`."""
    start = date_range["startDate"]
    row: Row = {
        **_made_up_day(start, min(index, _days_between(start, date_range["endDate"]))),
        "hour": f"{index % 24:02d}",
        "newVsReturning": ("new", "returning")[index % 2],
    }
    for name in parsed.dimensions:
        page = "Page" in name or "path" in name.lower()
        row.setdefault(name, f"/page-{index + 1}" if page else f"{name} {index + 1}")
    for position, name in enumerate(parsed.metrics):
        row[name] = f"0.{index + 1}" if _made_up_fraction(name) else str(10 * (index + 1) + position)
    return row


def _made_up_rows_json(parsed: _Request, indexes: range) -> str:
    """What `json.dumps` writes for `_answer`'s "rows" of `_made_up_row(index, ...)` for `indexes`.

    The test `test_made_up_pages_are_the_general_answer` holds the two to the same bytes.
    """
    start = parsed.date_ranges[0]["startDate"]
    last = _days_between(start, parsed.date_ranges[0]["endDate"])
    if indexes.start < last or len(indexes) > MEMOISED_PAGE_ROWS:
        return _made_up_rows_text(tuple(parsed.dimensions), tuple(parsed.metrics), indexes, (start, last))
    # Every row of this page is on the range's last day (with a one-day range, every row is), so
    # the page is the same text for any range but for the day fields: memoised with holes there.
    pieces = list(_memoised_rows_pieces(tuple(parsed.dimensions), tuple(parsed.metrics), indexes))
    day = {name: json.dumps(value) for name, value in _made_up_day(start, last).items()}
    pieces[1::2] = [day[name] for name in pieces[1::2]]
    return "".join(pieces)


def _made_up_rows_text(
    dimensions: tuple[str, ...], metrics: tuple[str, ...], indexes: range, days: tuple[str, int] | None
) -> str:
    """`_made_up_rows_json`, column by column; the day fields from `days`, (start date, days in
    the range after it), or holes (`_day_hole`) when None.

    Every made-up value is a simple function of the row's index (one case of `_made_up_row` for
    each below), so each column is a list of JSON strings and each row one `%` of a template:
    several times faster than making row dicts and encoding them.
    """
    metric_columns = {name: _made_up_metric_column(name, position, indexes) for position, name in enumerate(metrics)}
    # A name that is both (customEvent:x) holds the metric's value: `_made_up_row` sets metrics last.
    columns = [
        metric_columns[name] if name in metric_columns else _made_up_dimension_column(name, indexes, days)
        for name in dimensions
    ]
    columns.extend(metric_columns.values())
    template = (
        '{"dimensionValues": [' + ", ".join(['{"value": %s}'] * len(dimensions))
        + '], "metricValues": [' + ", ".join(['{"value": %s}'] * len(metrics)) + "]}"
    )
    return "[" + ", ".join([template % values for values in zip(*columns, strict=True)]) + "]"


# Made-up pages of up to this many rows are memoised (about 160 bytes a row, 16 pages at most).
MEMOISED_PAGE_ROWS = 2_000


@functools.lru_cache(maxsize=16)
def _memoised_rows_pieces(dimensions: tuple[str, ...], metrics: tuple[str, ...], indexes: range) -> tuple[str, ...]:
    """`_made_up_rows_text` with holes for the day fields, cut at them: JSON text at the even
    positions, the name of the day field that goes between at the odd ones."""
    return tuple(_made_up_rows_text(dimensions, metrics, indexes, None).split("\0"))


def _day_hole(name: str) -> str:
    # JSON text never holds a raw NUL (json.dumps writes \u0000), so the text is cut only at holes.
    return f"\0{name}\0"


def _made_up_dimension_column(name: str, indexes: range, days: tuple[str, int] | None) -> list[str]:
    """The JSON strings `_made_up_row` gives dimension `name` in the rows numbered `indexes`."""
    if name in _MADE_UP_DAY_FIELDS:
        if days is None:
            return [_day_hole(name)] * len(indexes)
        start, last = days
        # Row n is on day n of the range, and every row past its last day on the last day.
        last_day = json.dumps(_made_up_day(start, last)[name])
        return [json.dumps(_made_up_day(start, index)[name]) if index < last else last_day for index in indexes]
    if name == "hour":
        return [f'"{index % 24:02d}"' for index in indexes]
    if name == "newVsReturning":
        return ['"new"' if index % 2 == 0 else '"returning"' for index in indexes]
    if "Page" in name or "path" in name.lower():
        return [f'"/page-{index + 1}"' for index in indexes]
    # The opening quote and the name escaped as json.dumps escapes it; digits need no escaping.
    prefix = json.dumps(f"{name} ")[:-1]
    return [f'{prefix}{index + 1}"' for index in indexes]


def _made_up_metric_column(name: str, position: int, indexes: range) -> list[str]:
    """The JSON strings `_made_up_row` gives the `position`th metric, `name`, in rows `indexes`."""
    if _made_up_fraction(name):
        return [f'"0.{index + 1}"' for index in indexes]
    return [f'"{10 * (index + 1) + position}"' for index in indexes]


@functools.lru_cache(maxsize=4096)
def _days_between(start_date: str, end_date: str) -> int:
    return (date.fromisoformat(end_date) - date.fromisoformat(start_date)).days


@functools.lru_cache(maxsize=4096)
def _made_up_day(start_date: str, days_in: int) -> dict[str, str]:
    # Cached: a benchmark pages through a million rows, of a few days each.
    day = date.fromisoformat(start_date) + timedelta(days=days_in)
    return {"date": day.strftime("%Y%m%d"), "day": day.strftime("%d"), "month": day.strftime("%m"),
            "year": day.strftime("%Y")}


_MADE_UP_DAY_FIELDS = frozenset(_made_up_day("2000-01-01", 0))  # date, day, month, year


def _made_up_fraction(metric: str) -> bool:
    return "Rate" in metric or metric.startswith("average") or "Per" in metric


def _metric_type(name: str, rows: list[Row]) -> str:
    if any("." in str(row.get(name, "")) for row in rows):
        return "TYPE_FLOAT"
    return "TYPE_INTEGER"


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _number_value(value: Mapping[str, Any]) -> float:
    return _number(value.get("int64Value", value.get("doubleValue", 0)))


def _date_text(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value
