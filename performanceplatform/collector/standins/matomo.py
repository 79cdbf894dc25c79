"""A stand-in for Matomo's Reporting API, as Matomo 5 answers it today or as Piwik 2.x did.

Endpoint: `GET` or `POST` to `index.php` (any path ending in `/index.php` or `/`, so that it can be
mounted under a prefix) with `module=API`, `method`, `idSite`, `format=json` and the method's own
parameters. Parameters are read from the query string and from a form-encoded body, the query
string winning, as Matomo's `Common::getRequestVar` reads `$_GET + $_POST`.

Methods: `API.get` and `Goals.get` (one object a period), `DevicesDetection.getType` and
`DevicesDetection.getBrowserVersions` (rows a period, sorted by visits, cut at `filter_limit`:
Matomo's default of 100 unless the request sets one; `-1` is every row), `Live.getCounters`
(`lastMinutes`), and with `flavour="piwik2"` also `UserSettings.getBrowserVersion`. Periods: `day`,
`week` (Monday to Sunday), `month` and `year`, for a `date` of `first,last`, `previousN`, `lastN`
(each answered as an object keyed by period) or one date (answered bare). A week's key is
`2015-02-02,2015-02-08` from Matomo 5 and `From 2015-02-02 to 2015-02-08` from Piwik 2.

Numbers are made up from a seed, the site, the method, the period and the row, so the same request
always gets the same answer; `set_report` replaces them with given rows for given periods, and
`set_counters` gives `Live.getCounters` its answer.

Authentication: `token_auth` in the POST body, or in the query string unless `post_tokens_only`
(Matomo 5's default for the tokens it creates), which then answers 401 with Matomo's message. A
wrong or missing token is 401 from Matomo 5 and `{"result": "error"}` with status 200 from Piwik 2.
Errors are Matomo's `{"result": "error", "message": ...}`: an unknown site or a disabled visits log
(`visits_log_enabled = False`, for `Live` methods) with status 200, an unknown method with 400.
`fail_next(429, headers={"Retry-After": "1"})` answers like Matomo Cloud's rate limit.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from performanceplatform.collector.standins.server import (
    Fault,
    RecordedRequest,
    Response,
    StandIn,
    route,
)

MATOMO_5 = "matomo5"
PIWIK_2 = "piwik2"
FLAVOURS = (MATOMO_5, PIWIK_2)
DEFAULT_FILTER_LIMIT = 100
DEFAULT_SITES = ("1", "9")
# The stand-in's own token, known to tests: not a secret.
DEFAULT_TOKEN_AUTH = "matomo-stand-in-token-auth"  # noqa: S105
DEFAULT_SEED = 2014
PERIODS = ("day", "week", "month", "year")

# Matomo's own words.
AUTHENTICATION_FAILED = (
    "Unable to authenticate with the provided token. It is either invalid, expired or is required to be sent "
    "as a POST parameter."
)
VISITS_LOG_OFF = (
    "Visits log is deactivated globally. A user with super user access can enable this feature in the general "
    "settings."
)

DEVICE_TYPES = ("Desktop", "Smartphone", "Tablet")
BROWSER_VERSIONS = ("Chrome 124.0", "Safari 17.4", "Edge 124.0", "Firefox 125.0", "Samsung Browser 24.0")
PIWIK_2_BROWSER_VERSIONS = ("Chrome 40.0", "Internet Explorer 11.0", "Firefox 35.0", "Safari 8.0")
REPORTS = {
    "DevicesDetection.getType": DEVICE_TYPES,
    "DevicesDetection.getBrowserVersions": BROWSER_VERSIONS,
}
PIWIK_2_REPORTS = {**REPORTS, "UserSettings.getBrowserVersion": PIWIK_2_BROWSER_VERSIONS}
NUMERIC_METHODS = ("API.get", "Goals.get")
LIVE_METHODS = ("Live.getCounters",)


@dataclass(frozen=True)
class ApiCall:
    """One API request as the stand-in read it: its parameters and where its token came from."""

    parameters: dict[str, str]
    token_in: str | None  # "body", "url" or None
    status: int | None


class _Refused(Exception):
    def __init__(self, response: Response):
        super().__init__(response.body)
        self.response = response


class MatomoStandIn(StandIn):
    name = "matomo"

    def __init__(
        self,
        *,
        flavour: str = MATOMO_5,
        token_auth: str = DEFAULT_TOKEN_AUTH,
        sites: Iterable[str] = DEFAULT_SITES,
        post_tokens_only: bool = True,
        seed: int = DEFAULT_SEED,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        super().__init__(host, port)
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")
        self.flavour = flavour
        self.token_auth = token_auth
        self.sites = {str(site) for site in sites}
        self.post_tokens_only = post_tokens_only
        self.seed = seed
        self.visits_log_enabled = True
        # method -> {first day of a period: rows or object}, replacing the made-up numbers.
        self._reports: dict[str, dict[date, Any]] = {}
        self._counters: dict[str, Any] | None = None

    # Configuration and inspection, for tests and the demo -------------------------------------------

    def credentials(self, path: str = "/index.php") -> dict[str, str]:
        """A credentials file's contents that this stand-in accepts."""
        return {"url": f"{self.url}{path}", "token_auth": self.token_auth}

    def set_report(self, method: str, by_period: Mapping[date, Any]) -> None:
        """Answer `method` with these rows (or object) for the periods starting on these days, and
        with no rows for any other period."""
        with self._lock:
            self._reports[method] = dict(by_period)

    def set_counters(self, counters: Mapping[str, Any]) -> None:
        """Answer `Live.getCounters` with these counters, as given (numbers, or Piwik 2's strings)."""
        with self._lock:
            self._counters = dict(counters)

    def api_calls(self, method: str | None = None) -> list[ApiCall]:
        """Every API request received (of `method`, if given), in order."""
        calls = []
        with self._lock:
            requests = list(self.requests)
        for request in requests:
            parameters, transport = _parameters(request)
            if method is None or parameters.get("method") == method:
                calls.append(ApiCall(parameters, transport, request.status))
        return calls

    def period_key(self, first: date, period: str) -> str:
        """How this flavour names the period starting on `first`."""
        if period == "day":
            return first.isoformat()
        if period == "week":
            last = (first + timedelta(days=6)).isoformat()
            return f"From {first.isoformat()} to {last}" if self.flavour == PIWIK_2 else f"{first.isoformat()},{last}"
        if period == "month":
            return first.strftime("%Y-%m")
        return first.strftime("%Y")

    def counters(self, site_id: str, last_minutes: int) -> dict[str, int]:
        """What `Live.getCounters` answers (as numbers) for a site and a number of minutes."""
        generator = random.Random(f"{self.seed}|{site_id}|live|{last_minutes}")
        visitors = generator.randint(3, 40) * max(1, last_minutes)
        visits = visitors + generator.randint(0, 5)
        return {
            "visits": visits,
            "actions": visits * generator.randint(2, 6),
            "visitors": visitors,
            "visitsConverted": generator.randint(0, visits // 3),
        }

    # The API ----------------------------------------------------------------------------------------

    @route("GET", r"/(?:.*/)?(?:index\.php)?")
    @route("POST", r"/(?:.*/)?(?:index\.php)?")
    def api(self, request: RecordedRequest) -> Response:
        parameters, transport = _parameters(request)
        try:
            if parameters.get("module") != "API":
                return _error(400, "The stand-in serves the Reporting API only: expected module=API")
            if parameters.get("format", "xml").lower() != "json":
                return _error(400, "The stand-in answers format=json only")
            method = parameters.get("method", "")
            self._authenticate(parameters, transport)
            site = self._site(parameters)
            if method in LIVE_METHODS:
                return Response(200, self._live(parameters, site))
            if method not in self._reports and method not in NUMERIC_METHODS and method not in self._known_reports():
                return _error(400, _unknown_method(method, self.flavour))
            return Response(200, self._report(method, parameters, site))
        except _Refused as refusal:
            return refusal.response

    def _known_reports(self) -> Mapping[str, tuple[str, ...]]:
        return PIWIK_2_REPORTS if self.flavour == PIWIK_2 else REPORTS

    def _authenticate(self, parameters: Mapping[str, str], transport: str | None) -> None:
        token = parameters.get("token_auth")
        accepted = token == self.token_auth
        if accepted and transport == "url" and self.post_tokens_only and self.flavour == MATOMO_5:
            accepted = False
        if accepted:
            return
        site = parameters.get("idSite", "")
        if self.flavour == PIWIK_2:
            raise _Refused(_error(200, f"You can't access this resource as it requires a 'view' access for the "
                                       f"website id = {site}."))
        if token is None:
            raise _Refused(_error(401, f"You can't access this resource as it requires 'view' access for the "
                                       f"website id = {site}."))
        raise _Refused(_error(401, AUTHENTICATION_FAILED))

    def _site(self, parameters: Mapping[str, str]) -> str:
        site = parameters.get("idSite")
        if not site:
            raise _Refused(_error(200, "Please specify a value for 'idSite'."))
        if site not in self.sites:
            raise _Refused(_error(200, f"An unexpected website was found in the request: website id was set to "
                                       f"'{site}' ."))
        return site

    def _live(self, parameters: Mapping[str, str], site: str) -> list[dict[str, Any]]:
        if not self.visits_log_enabled:
            raise _Refused(_error(200, VISITS_LOG_OFF))
        minutes = parameters.get("lastMinutes", "")
        if not minutes.isdigit():
            raise _Refused(_error(200, "Please specify a value for 'lastMinutes'."))
        with self._lock:
            given = self._counters
        if given is not None:
            return [given]
        counters = self.counters(site, int(minutes))
        if self.flavour == PIWIK_2:
            return [{name: str(value) for name, value in counters.items()}]  # Piwik 2 sent strings
        return [counters]

    def _report(self, method: str, parameters: Mapping[str, str], site: str) -> Any:
        period = parameters.get("period", "")
        if period not in PERIODS:
            raise _Refused(_error(200, f"The period '{period}' is not supported. Try any of the following instead: "
                                       f"{', '.join(PERIODS)}"))
        firsts, multiple = _requested_periods(parameters.get("date", ""), period, datetime.now(UTC).date())
        answers = {
            self.period_key(first, period): self._period_answer(method, parameters, site, first, period)
            for first in firsts
        }
        if multiple:
            return answers
        return next(iter(answers.values()))

    def _period_answer(self, method: str, parameters: Mapping[str, str], site: str, first: date, period: str) -> Any:
        with self._lock:
            given = self._reports.get(method)
        if given is not None:
            answer = given.get(first, [])
        elif method in NUMERIC_METHODS:
            return self._numbers(method, parameters, site, first, period)
        else:
            answer = self._rows(method, site, first, period)
        return _limited(answer, parameters.get("filter_limit"), DEFAULT_FILTER_LIMIT if self.flavour == MATOMO_5
                        else None)

    def _numbers(self, method: str, parameters: Mapping[str, str], site: str, first: date, period: str) -> dict:
        days = _days(first, period)
        generator = random.Random(f"{self.seed}|{site}|{method}|{parameters.get('idGoal', '')}|{first}|{period}")
        visits = generator.randint(40, 400) * days
        if method == "Goals.get":
            converted = generator.randint(0, visits // 4)
            return {
                "nb_conversions": converted + generator.randint(0, 3),
                "nb_visits_converted": converted,
                "revenue": 0,
                "conversion_rate": f"{100 * converted / visits:.2f}%",
            }
        actions = visits * generator.randint(2, 5)
        return {
            "nb_visits": visits,
            "nb_actions": actions,
            "nb_visits_converted": generator.randint(0, visits // 4),
            "bounce_count": generator.randint(0, visits // 2),
            "sum_visit_length": visits * generator.randint(30, 300),
            "max_actions": generator.randint(5, 60),
            "bounce_rate": f"{generator.randint(10, 70)}%",
            "nb_actions_per_visit": round(actions / visits, 1),
        }

    def _rows(self, method: str, site: str, first: date, period: str) -> list[dict[str, Any]]:
        days = _days(first, period)
        rows = []
        for label in self._known_reports()[method]:
            generator = random.Random(f"{self.seed}|{site}|{method}|{first}|{period}|{label}")
            visits = generator.randint(5, 300) * days
            rows.append({
                "label": label,
                "nb_visits": visits,
                "nb_actions": visits * generator.randint(1, 6),
                "max_actions": generator.randint(3, 40),
                "sum_visit_length": visits * generator.randint(20, 400),
                "bounce_count": generator.randint(0, visits // 2),
                "nb_visits_converted": generator.randint(0, visits // 5),
                "segment": f"deviceType=={label}" if method == "DevicesDetection.getType" else "",
            })
        return sorted(rows, key=lambda row: -row["nb_visits"])

    # Matomo's manners ------------------------------------------------------------------------------

    def not_found(self, request: RecordedRequest) -> Response:
        return _error(404, f"no such page: {request.path}")

    def fault_response(self, fault: Fault, request: RecordedRequest) -> Response:
        if fault.body is not None:
            return Response(fault.status, fault.body, dict(fault.headers))
        message = "Rate limit exceeded, please try again later" if fault.status == 429 else f"injected {fault.status}"
        return Response(fault.status, {"result": "error", "message": message}, dict(fault.headers))


def _parameters(request: RecordedRequest) -> tuple[dict[str, str], str | None]:
    """The request's parameters (`$_GET + $_POST`) and where `token_auth` came from."""
    form: dict[str, list[str]] = {}
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if request.body and content_type == "application/x-www-form-urlencoded":
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    parameters = {name: values[-1] for name, values in form.items()}
    parameters.update({name: values[-1] for name, values in request.query.items()})
    transport = "url" if "token_auth" in request.query else "body" if "token_auth" in form else None
    return parameters, transport


def _requested_periods(date_text: str, period: str, today: date) -> tuple[list[date], bool]:
    """The first days of the periods `date` names, and whether it names several (a keyed answer)."""
    relative = re.fullmatch(r"(previous|last)(\d+)", date_text)
    if relative:
        count = int(relative.group(2))
        current = _period_first(today, period)
        last = _step(current, period, -1) if relative.group(1) == "previous" else current
        return [_step(last, period, -offset) for offset in reversed(range(count))], True
    if "," in date_text:
        first_text, _, last_text = date_text.partition(",")
        first, last = _parse_day(first_text, today), _parse_day(last_text, today)
        if last < first:
            raise _Refused(_error(200, f"The date range '{date_text}' ends before it starts."))
        firsts = [_period_first(first, period)]
        while _step(firsts[-1], period, 1) <= last:
            firsts.append(_step(firsts[-1], period, 1))
        return firsts, True
    return [_period_first(_parse_day(date_text, today), period)], False


def _parse_day(text: str, today: date) -> date:
    if text in ("today", "now"):
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Refused(_error(200, f"Date format must be: YYYY-MM-DD, or 'today' or 'yesterday' or any keyword "
                                   f"supported by the strtotime function (see http://php.net/strtotime for more "
                                   f"information): {text}")) from None


def _period_first(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "year":
        return day.replace(month=1, day=1)
    return day


def _step(first: date, period: str, count: int) -> date:
    """The first day of the period `count` periods after (or before) the one starting on `first`."""
    if period == "day":
        return first + timedelta(days=count)
    if period == "week":
        return first + timedelta(weeks=count)
    months = first.month - 1 + count * (12 if period == "year" else 1)
    return first.replace(year=first.year + months // 12, month=months % 12 + 1)


def _days(first: date, period: str) -> int:
    return (_step(first, period, 1) - first).days


def _limited(answer: Any, filter_limit: str | None, default: int | None) -> Any:
    if not isinstance(answer, list):
        return answer
    limit = default if filter_limit is None else int(filter_limit) if re.fullmatch(r"-?\d+", filter_limit) else default
    if limit is None or limit < 0:
        return answer
    return answer[:limit]


def _unknown_method(method: str, flavour: str) -> str:
    module, _, name = method.partition(".")
    # UserSettings went in Piwik 2.14: Matomo has no such plugin.
    plugins = {"API", "Goals", "DevicesDetection", "Live", *(("UserSettings",) if flavour == PIWIK_2 else ())}
    if module not in plugins:
        return f"The plugin {module} is not enabled. You can activate the plugin on Settings > Plugins page in Matomo."
    return f"The method '{name}' does not exist or is not available in the module '{module}'."


def _error(status: int, message: str) -> Response:
    return Response(status, {"result": "error", "message": message})
