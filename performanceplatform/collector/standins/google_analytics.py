"""Stand-in for Google Analytics Core Reporting API v3 and Real Time API v3.

`GET /analytics/v3/data/ga` answers in the real shape (`columnHeaders`, `rows` of strings,
`totalResults`, `itemsPerPage`, `nextLink`, `containsSampledData`, the `query` echo with
`start-date`/`end-date`) and pages by `start-index`/`max-results` as Google does.
`GET /analytics/v3/data/realtime` answers in the Real Time shape. Requests Google would refuse (a
missing parameter, a name without its `ga:` prefix, a sort on a column not asked for) get Google's
error body `{"error": {"errors": [{"domain", "reason", "message"}], "code", "message"}}`, and so do
injected faults.

Tests say which rows a query returns with `add_core_rows` (per date range, view or any parameter)
or `core_handler`; `auto_rows` makes up rows for any query, for running real query files.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from performanceplatform.collector.standins.server import Fault, RecordedRequest, Response, StandIn, route

CORE_PATH = "/analytics/v3/data/ga"
REALTIME_PATH = "/analytics/v3/data/realtime"
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10000
DEFAULT_REASONS = {
    400: "badRequest",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    429: "rateLimitExceeded",
    500: "internalServerError",
    502: "badGateway",
    503: "backendError",
}
# Filter terms are separated by unescaped `,` (OR) and `;` (AND).
FILTER_SEPARATOR = re.compile(r"(?<!\\)[,;]")

CoreHandler = Callable[[dict[str, str]], "Sequence[Sequence[Any]] | None"]
Authorizer = Callable[[RecordedRequest], "Response | None"]


def google_error(status: int, reason: str | None = None, message: str | None = None) -> Response:
    """Google's JSON error answer."""
    reason = reason or DEFAULT_REASONS.get(status, "error")
    if message is None:
        message = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = {
        "error": {
            "errors": [{"domain": "global", "reason": reason, "message": message}],
            "code": status,
            "message": message,
        }
    }
    return Response(status, body)


class GoogleError(Exception):
    def __init__(self, status: int, reason: str, message: str, response: Response | None = None):
        super().__init__(message)
        self.response = response or google_error(status, reason, message)


@dataclass
class CoreRows:
    """Rows returned to the Core Reporting queries that match every given constraint."""

    rows: list[list[Any]]
    start_date: str | None = None
    end_date: str | None = None
    ids: str | None = None
    where: dict[str, str] = field(default_factory=dict)
    sampled: bool = False

    def matches(self, params: Mapping[str, str]) -> bool:
        wanted = {"start-date": self.start_date, "end-date": self.end_date, "ids": self.ids, **self.where}
        return all(value is None or params.get(name) == value for name, value in wanted.items())


class GoogleAnalyticsStandIn(StandIn):
    name = "google-analytics"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        authorize: Authorizer | None = None,
    ):
        super().__init__(host, port)
        # Decides whether a request's bearer token is good (e.g. the OAuth stand-in's
        # `check_bearer`): None to accept it, or the error to answer. Without one, any token passes.
        self.authorize = authorize
        self.core_results: list[CoreRows] = []
        self.core_handler: CoreHandler | None = None
        self.auto_rows = 0
        self.realtime_rows: list[list[Any]] | None = None

    # What the API holds -------------------------------------------------------------------------

    def add_core_rows(
        self,
        rows: Sequence[Sequence[Any]],
        *,
        start_date: date | str | None = None,
        end_date: date | str | None = None,
        ids: str | None = None,
        where: Mapping[str, str] | None = None,
        sampled: bool = False,
    ) -> None:
        """Answer Core Reporting queries matching the constraints with `rows` (dimensions, then metrics).

        Earlier additions win; a query nothing matches gets no rows (or `auto_rows` made-up ones).
        """
        self.core_results.append(
            CoreRows(
                rows=[list(row) for row in rows],
                start_date=_date_text(start_date),
                end_date=_date_text(end_date),
                ids=ids,
                where=dict(where or {}),
                sampled=sampled,
            )
        )

    def core_requests(self) -> list[RecordedRequest]:
        return self.requests_to(f"^{CORE_PATH}$", "GET")

    def realtime_requests(self) -> list[RecordedRequest]:
        return self.requests_to(f"^{REALTIME_PATH}$", "GET")

    def fail_next_with(
        self,
        status: int,
        reason: str,
        message: str | None = None,
        *,
        times: int = 1,
        path: str | None = None,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Answer the next `times` requests (that `when` picks) with Google's error body for `status` and `reason`."""
        self.fail_next(status, times, body=google_error(status, reason, message).body, path=path, when=when)

    def fault_response(self, fault: Fault, request: RecordedRequest) -> Response:
        if fault.body is not None:
            return Response(fault.status, fault.body, dict(fault.headers))
        response = google_error(fault.status)
        response.headers.update(fault.headers)
        return response

    # Core Reporting ------------------------------------------------------------------------------

    @route("GET", CORE_PATH)
    def core(self, request: RecordedRequest) -> Response:
        try:
            self._check_token(request)
            params = _single_values(request)
            dimensions, metrics = _check_core_query(params)
            rows, sampled = self._core_rows(params, dimensions, metrics)
            start_index = _positive_int(params, "start-index", 1)
            page_size = min(_positive_int(params, "max-results", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
        except GoogleError as error:
            return error.response
        page = rows[start_index - 1 : start_index - 1 + page_size]
        host = request.header("Host") or f"{self.host}:{self.port}"
        self_link = f"http://{host}{CORE_PATH}?{urlencode(params)}"
        body: dict[str, Any] = {
            "kind": "analytics#gaData",
            "id": self_link,
            "selfLink": self_link,
            "query": _query_echo(params, start_index, page_size),
            "itemsPerPage": page_size,
            "totalResults": len(rows),
            "profileInfo": {"profileId": params["ids"][3:], "tableId": params["ids"]},
            "containsSampledData": sampled,
            "columnHeaders": _column_headers(dimensions, metrics),
            "totalsForAllResults": _totals(metrics, rows, len(dimensions)),
        }
        if page:
            body["rows"] = page
        if start_index - 1 + page_size < len(rows):
            following = {**params, "start-index": str(start_index + page_size), "max-results": str(page_size)}
            body["nextLink"] = f"http://{host}{CORE_PATH}?{urlencode(following)}"
        return Response(200, body)

    def _core_rows(
        self, params: dict[str, str], dimensions: list[str], metrics: list[str]
    ) -> tuple[list[list[str]], bool]:
        rows: Sequence[Sequence[Any]] | None = None
        sampled = False
        if self.core_handler is not None:
            rows = self.core_handler(params)
        if rows is None:
            for result in self.core_results:
                if result.matches(params):
                    rows, sampled = result.rows, result.sampled
                    break
        if rows is None:
            rows = _made_up_rows(self.auto_rows, params, dimensions, metrics)
        width = len(dimensions) + len(metrics)
        for row in rows:
            if len(row) != width:
                raise AssertionError(
                    f"test data: row {row!r} has {len(row)} values, the query asks for {width} "
                    f"({', '.join(dimensions + metrics)})"
                )
        return [[str(value) for value in row] for row in rows], sampled

    # Real Time -----------------------------------------------------------------------------------

    @route("GET", REALTIME_PATH)
    def realtime(self, request: RecordedRequest) -> Response:
        try:
            self._check_token(request)
            params = _single_values(request)
            for name in ("ids", "metrics"):
                _require(params, name)
            _check_ids(params["ids"])
            metrics = params["metrics"].split(",")
            for metric in metrics:
                if not metric.startswith(("rt:", "ga:")):
                    raise _invalid("metrics", metric)
            dimensions = params["dimensions"].split(",") if params.get("dimensions") else []
            page_size = _positive_int(params, "max-results", DEFAULT_PAGE_SIZE)
        except GoogleError as error:
            return error.response
        rows = [[str(value) for value in row] for row in (self.realtime_rows or [])][:page_size]
        body: dict[str, Any] = {
            "kind": "analytics#realtimeData",
            "query": {
                "ids": params["ids"],
                "metrics": metrics,
                **({"dimensions": params["dimensions"]} if dimensions else {}),
                **({"filters": params["filters"]} if "filters" in params else {}),
                "max-results": page_size,
            },
            "totalResults": len(rows),
            "profileInfo": {"profileId": params["ids"][3:], "tableId": f"realtime:{params['ids'][3:]}"},
            "columnHeaders": _column_headers(dimensions, metrics),
            "totalsForAllResults": _totals(metrics, rows, len(dimensions)),
        }
        if rows:
            body["rows"] = rows
        return Response(200, body)

    # Checks --------------------------------------------------------------------------------------

    def _check_token(self, request: RecordedRequest) -> None:
        authorization = request.header("Authorization") or ""
        if not authorization.startswith("Bearer ") or not authorization[7:].strip():
            raise GoogleError(401, "required", "Login Required")
        refusal = self.authorize(request) if self.authorize is not None else None
        if refusal is not None:
            raise GoogleError(refusal.status, "", "", refusal)


def _single_values(request: RecordedRequest) -> dict[str, str]:
    return {name: values[0] for name, values in request.query.items() if name != "alt"}


def _require(params: Mapping[str, str], name: str) -> str:
    if not params.get(name):
        raise GoogleError(400, "required", f"Required parameter: {name}")
    return params[name]


def _invalid(parameter: str, value: str) -> GoogleError:
    return GoogleError(400, "invalidParameter", f"Invalid value '{value}' for {parameter} parameter.")


def _check_ids(ids: str) -> None:
    if not re.fullmatch(r"ga:\d+", ids):
        raise _invalid("ids", ids)


def _check_core_query(params: Mapping[str, str]) -> tuple[list[str], list[str]]:
    for name in ("ids", "start-date", "end-date", "metrics"):
        _require(params, name)
    _check_ids(params["ids"])
    dates = []
    for name in ("start-date", "end-date"):
        try:
            dates.append(datetime.strptime(params[name], "%Y-%m-%d").date())
        except ValueError:
            raise _invalid(name, params[name]) from None
    if dates[0] > dates[1]:
        raise GoogleError(400, "invalidParameter", "Start date cannot be after end date.")
    metrics = params["metrics"].split(",")
    dimensions = params["dimensions"].split(",") if params.get("dimensions") else []
    for parameter, names in (("metrics", metrics), ("dimensions", dimensions)):
        for name in names:
            if not re.fullmatch(r"ga:\w+", name):
                raise _invalid(parameter, name)
    for term in FILTER_SEPARATOR.split(params.get("filters", "")) if params.get("filters") else []:
        if not term.startswith("ga:"):
            raise _invalid("filters", params["filters"])
    for key in params["sort"].split(",") if params.get("sort") else []:
        if key.lstrip("-") not in metrics + dimensions:
            raise GoogleError(
                400, "invalidParameter", f"Sort key {key} is not a dimension or metric in the query."
            )
    return dimensions, metrics


def _positive_int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name, raw) from None
    if value < 1:
        raise _invalid(name, raw)
    return value


def _query_echo(params: Mapping[str, str], start_index: int, page_size: int) -> dict[str, Any]:
    echo: dict[str, Any] = {
        "start-date": params["start-date"],
        "end-date": params["end-date"],
        "ids": params["ids"],
        "metrics": params["metrics"].split(","),
        "start-index": start_index,
        "max-results": page_size,
    }
    for name in ("dimensions", "filters", "segment"):
        if params.get(name):
            echo[name] = params[name]
    if params.get("sort"):
        echo["sort"] = params["sort"].split(",")
    return echo


def _column_headers(dimensions: list[str], metrics: list[str]) -> list[dict[str, str]]:
    return [{"name": name, "columnType": "DIMENSION", "dataType": "STRING"} for name in dimensions] + [
        {"name": name, "columnType": "METRIC", "dataType": "INTEGER"} for name in metrics
    ]


def _totals(metrics: list[str], rows: list[list[str]], offset: int) -> dict[str, str]:
    totals = {}
    for index, metric in enumerate(metrics):
        total = 0.0
        for row in rows:
            with contextlib.suppress(ValueError):
                total += float(row[offset + index])
        totals[metric] = f"{total:g}"
    return totals


def _made_up_rows(count: int, params: Mapping[str, str], dimensions: list[str], metrics: list[str]) -> list[list[str]]:
    """`count` plausible rows for any query: dates inside the period, numbered values elsewhere."""
    start = datetime.strptime(params["start-date"], "%Y-%m-%d").date()
    end = datetime.strptime(params["end-date"], "%Y-%m-%d").date()
    rows = []
    for index in range(count):
        day = min(start + timedelta(days=index), end)
        values = []
        for dimension in dimensions:
            values.append(
                {
                    "ga:date": day.strftime("%Y%m%d"),
                    "ga:hour": f"{index % 24:02d}",
                    "ga:day": day.strftime("%d"),
                    "ga:month": day.strftime("%m"),
                    "ga:year": day.strftime("%Y"),
                    "ga:pagePath": f"/page-{index + 1}",
                }.get(dimension, f"{dimension[3:]} {index + 1}")
            )
        values += [str(10 * (index + 1) + position) for position, _ in enumerate(metrics)]
        rows.append(values)
    return rows


def _date_text(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value
