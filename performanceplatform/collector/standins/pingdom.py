"""A stand-in for Pingdom's API, 2.0 under `/api/2.0/` and 3.1 under `/api/3.1/`.

Endpoints:
- `GET checks`: 2.0 answers with every check; 3.1 pages with `limit`/`offset` and reports
  `counts` {total, limited, filtered}. `page_limit` lowers the server's page maximum (25,000 in the
  3.1 spec) so that tests can exercise pagination with a handful of checks.
- `GET summary.performance/{id}` with `from`/`to` (integer UNIX times only; the original's floats
  are refused, as a check that we send integers), `resolution=hour` (the only resolution the
  stand-in serves), `includeuptime` and `order`. It answers with the hours starting in
  [from, to), with values derived from the hour alone (see `hour_summary`) so tests can predict
  every record. It refuses hourly spans over 7 days with a 400: Pingdom documents no limit, its
  TMS report endpoint caps `hour` at a week and a day, and our collector promises to ask for at
  most 7 days a request; refusing more proves it keeps that promise.

Authentication: 2.0 wants HTTP basic auth with the account's user and password plus `App-Key`,
and `Account-Email` when the stand-in is configured with one (a multi-user account); 3.1 wants
`Authorization: Bearer <api_token>` (or basic auth with the token as user name, which Pingdom also
accepts). Failures use Pingdom's error body, `{"error": {"statuscode", "statusdesc",
"errormessage"}}`.

Rate limits: every response carries `Req-Limit-Short` and `Req-Limit-Long` in Pingdom's
`Remaining: N Time until reset: S` form, counted from the requests received; when a limit runs out
the stand-in answers 429 as Pingdom does. `fail_next(429)` injects one at will, with the short
limit shown as exhausted and resetting in 1 s unless the test passes its own headers.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from performanceplatform.collector.standins.server import (
    Fault,
    RecordedRequest,
    Response,
    StandIn,
    route,
)

API_PREFIX = r"/api/(?P<version>2\.0|3\.1)/"
HOUR = 3600
MAX_HOURLY_SPAN = 7 * 24 * HOUR
DEFAULT_PAGE_LIMIT = 25_000
# Pingdom's documented defaults in spirit: a short hourly allowance and a long 30-day one.
DEFAULT_SHORT_LIMIT = (12_000, HOUR)
DEFAULT_LONG_LIMIT = (720_000, 30 * 24 * HOUR)
INJECTED_429_RESET = 1


@dataclass
class StandInCheck:
    id: int
    name: str
    hostname: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "hostname": self.hostname,
            "status": "up",
            "resolution": 1,
            "type": "http",
            "created": 1104537600,
            "lasttesttime": 1371333600,
            "lastresponsetime": 240,
        }


@dataclass
class _Allowance:
    limit: int
    window: int
    used: int = 0
    started: float | None = None

    def state(self, now: float) -> tuple[int, int]:
        """(remaining, seconds until reset), starting a new window when the old one has passed."""
        if self.started is None or now - self.started >= self.window:
            self.started, self.used = now, 0
        return max(0, self.limit - self.used), max(0, int(self.started + self.window - now))


class PingdomStandIn(StandIn):
    name = "pingdom"

    def __init__(
        self,
        checks: Iterable[str] = ("example check",),
        *,
        user: str = "monitoring@example.gov.uk",
        # The stand-in's own credentials, known to tests and the demo: not secrets.
        password: str = "pingdom-stand-in-password",  # noqa: S107
        app_key: str = "pingdom-stand-in-app-key",
        account_email: str | None = None,
        api_token: str = "pingdom-stand-in-api-token",  # noqa: S107
        page_limit: int = DEFAULT_PAGE_LIMIT,
        short_limit: tuple[int, int] = DEFAULT_SHORT_LIMIT,
        long_limit: tuple[int, int] = DEFAULT_LONG_LIMIT,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        super().__init__(host, port)
        self.user = user
        self.password = password
        self.app_key = app_key
        self.account_email = account_email
        self.api_token = api_token
        self.page_limit = page_limit
        self.checks: list[StandInCheck] = []
        self._short = _Allowance(*short_limit)
        self._long = _Allowance(*long_limit)
        for check_name in checks:
            self.add_check(check_name)

    # Configuration and inspection, for tests and the demo -----------------------------------------

    def add_check(self, name: str, check_id: int | None = None) -> StandInCheck:
        """Add a check (names may repeat, as on Pingdom); ids count up from 1000001."""
        with self._lock:
            if check_id is None:
                check_id = 1_000_001 + len(self.checks)
            check = StandInCheck(check_id, name, f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}.example")
            self.checks.append(check)
            return check

    def check_id(self, name: str) -> int:
        """The id of the first check called `name`."""
        return next(check.id for check in self.checks if check.name == name)

    def base_url(self, version: str) -> str:
        """The base URL of API `version` ("2.0" or "3.1"), as an `api_url` credential."""
        return f"{self.url}/api/{version}/"

    def credentials(self, version: str = "3.1") -> dict[str, str]:
        """A credentials file's contents that this stand-in accepts for API `version`."""
        if version == "3.1":
            return {"api_token": self.api_token, "api_url": self.base_url("3.1")}
        credentials = {
            "user": self.user,
            "password": self.password,
            "app_key": self.app_key,
            "api_url": self.base_url("2.0"),
        }
        if self.account_email is not None:
            credentials["account_email"] = self.account_email
        return credentials

    def summary_windows(self, check_id: int | None = None) -> list[tuple[int, int]]:
        """The (from, to) of every summary.performance request answered with data, in order."""
        windows = []
        for request in self.requests_to(r"/summary\.performance/", "GET"):
            if request.status != 200:
                continue
            if check_id is not None and not request.path.endswith(f"/{check_id}"):
                continue
            windows.append((int(request.param("from") or 0), int(request.param("to") or 0)))
        return windows

    @staticmethod
    def hour_summary(check_id: int, starttime: int) -> dict[str, int]:
        """The values served for the hour starting at `starttime`: arbitrary but predictable.

        Every fifth hour has some downtime, every eleventh some unmonitored time, and the response
        time varies with the hour and the check, so a record pushed for the wrong hour or check
        shows up in a test.
        """
        hour = starttime // HOUR
        downtime = (hour * 37) % 600 if hour % 5 == 0 else 0
        unmonitored = 300 if hour % 11 == 0 else 0
        return {
            "starttime": starttime,
            "avgresponse": 150 + (hour * 53 + check_id) % 400,
            "uptime": HOUR - downtime - unmonitored,
            "downtime": downtime,
            "unmonitored": unmonitored,
        }

    # The API -----------------------------------------------------------------------------------------

    @route("GET", API_PREFIX + r"checks")
    def list_checks(self, request: RecordedRequest, version: str) -> Response:
        refusal = self._refuse(request, version)
        if refusal:
            return refusal
        with self._lock:
            checks = [check.as_json() for check in self.checks]
        if version == "2.0":
            return self._answer({"checks": checks})
        limit = _integer(request.param("limit"), DEFAULT_PAGE_LIMIT)
        offset = _integer(request.param("offset"), 0)
        if limit is None or limit < 1:
            return self._error(400, "Invalid parameter value: limit")
        if offset is None or offset < 0:
            return self._error(400, "Invalid parameter value: offset")
        page = checks[offset : offset + min(limit, self.page_limit)]
        return self._answer(
            {
                "checks": page,
                "counts": {"total": len(checks), "limited": len(page), "filtered": len(checks)},
            }
        )

    @route("GET", API_PREFIX + r"summary\.performance/(?P<check_id>[^/]+)")
    def summary_performance(self, request: RecordedRequest, version: str, check_id: str) -> Response:
        refusal = self._refuse(request, version)
        if refusal:
            return refusal
        if not check_id.isdigit() or not any(c.id == int(check_id) for c in self.checks):
            return self._error(403, f"Check with id {check_id} not found")
        now = int(time.time())
        to = _integer(request.param("to"), now)
        if to is None:
            return self._error(400, "Invalid parameter value: to")
        start = _integer(request.param("from"), to - 10 * HOUR)
        if start is None:
            return self._error(400, "Invalid parameter value: from")
        resolution = request.param("resolution") or "hour"
        if resolution != "hour":
            return self._error(400, f"the stand-in serves resolution=hour only, not {resolution!r}")
        if start > to:
            return self._error(400, "Invalid parameter value: from must not be after to")
        if to - start > MAX_HOURLY_SPAN:
            return self._error(
                400, f"Invalid time span: {to - start} s is more than 7 days at resolution hour"
            )
        order = request.param("order") or "asc"
        if order not in ("asc", "desc"):
            return self._error(400, "Invalid parameter value: order")
        include_uptime = (request.param("includeuptime") or "false").lower() == "true"
        first = -(-start // HOUR) * HOUR  # the first hour that starts at or after `from`
        hours = []
        for starttime in range(first, to, HOUR):
            values = self.hour_summary(int(check_id), starttime)
            if not include_uptime:
                values = {"starttime": starttime, "avgresponse": values["avgresponse"]}
            hours.append(values)
        if order == "desc":
            hours.reverse()
        return self._answer({"summary": {"hours": hours}})

    # Pingdom's manners ---------------------------------------------------------------------------

    def dispatch(self, request: RecordedRequest) -> Response:
        response = super().dispatch(request)
        # Every answer, errors included, carries the rate-limit headers.
        for name, value in self._rate_limit_headers(count=False).items():
            response.headers.setdefault(name, value)
        return response

    def not_found(self, request: RecordedRequest) -> Response:
        return self._error(404, f"no such resource: {request.path}")

    def method_not_allowed(self, request: RecordedRequest) -> Response:
        return self._error(405, "Method not allowed")

    def fault_response(self, fault: Fault, request: RecordedRequest) -> Response:
        headers = self._rate_limit_headers(count=True)
        if fault.status == 429:
            headers["Req-Limit-Short"] = _limit_header(0, INJECTED_429_RESET)
        headers.update(fault.headers)
        if fault.body is not None:
            return Response(fault.status, fault.body, headers)
        message = (
            "Request limit exceeded, try again later"
            if fault.status == 429
            else f"injected {fault.status}"
        )
        return Response(fault.status, _error_body(fault.status, message), headers)

    def _refuse(self, request: RecordedRequest, version: str) -> Response | None:
        """An error answer when the request is over the rate limit or not authenticated."""
        with self._lock:
            now = time.monotonic()
            for allowance in (self._short, self._long):
                remaining, _ = allowance.state(now)
                if remaining == 0:
                    return self._error(429, "Request limit exceeded, try again later")
            self._short.used += 1
            self._long.used += 1
        authorization = request.header("Authorization") or ""
        if version == "3.1":
            if authorization == f"Bearer {self.api_token}":
                return None
            if _basic(authorization) == (self.api_token, ""):
                return None
            return self._error(401, "Invalid or missing API token")
        if _basic(authorization) != (self.user, self.password):
            return self._error(401, "Invalid email and/or password")
        app_key = request.header("App-Key")
        if app_key is None:
            return self._error(403, "Missing application key. Please see the documentation.")
        if app_key != self.app_key:
            return self._error(403, "Invalid application key")
        account_email = request.header("Account-Email")
        if account_email != self.account_email and (
            account_email is not None or self.account_email is not None
        ):
            return self._error(403, "Account-Email does not name an account you may use")
        return None

    def _rate_limit_headers(self, *, count: bool) -> dict[str, str]:
        with self._lock:
            now = time.monotonic()
            headers = {}
            for name, allowance in (("Req-Limit-Short", self._short), ("Req-Limit-Long", self._long)):
                allowance.state(now)
                if count:
                    allowance.used += 1
                headers[name] = _limit_header(*allowance.state(now))
            return headers

    def _answer(self, body: Any) -> Response:
        return Response(200, body)

    def _error(self, status: int, message: str) -> Response:
        return Response(status, _error_body(status, message))


def _error_body(status: int, message: str) -> dict[str, Any]:
    description = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    return {"error": {"statuscode": status, "statusdesc": description, "errormessage": message}}


def _limit_header(remaining: int, reset: int) -> str:
    return f"Remaining: {remaining} Time until reset: {reset}"


def _integer(value: str | None, default: int) -> int | None:
    """`default` for a missing parameter, the integer for digits, None for anything else."""
    if value is None or value == "":
        return default
    return int(value) if re.fullmatch(r"-?\d+", value) else None


def _basic(authorization: str) -> tuple[str, str] | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password
