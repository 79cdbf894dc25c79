"""Every stand-in pp-collector talks to, behind one local port, with the example accounts and made-up data.

`LocalStandIns` serves, on 127.0.0.1, under one base URL:

=============================  ======================================================================
path                           stand-in
=============================  ======================================================================
``/token``, ``/auth``          Google OAuth (refresh-token, JWT-bearer and authorization-code grants)
``/analytics/v3/``             Google Analytics Core Reporting v3 and Real Time v3
``/v1beta/``                   Google Analytics Data API (GA4): ``runReport``, ``runRealtimeReport``
``/api/2.0/``, ``/api/3.1/``   Pingdom
``/matomo/index.php``          Matomo's Reporting API (``piwik.core``, ``piwik.realtime``)
``/data/``                     Backdrop (write API, and ``GET /data/<group>/<type>`` for what landed)
``/collector/``                Stagecraft (``pp-collector -l SLUG``)
=============================  ======================================================================

One base URL means one credentials file can point every Google API at it (`API_ROOT`), as one
file points them all at `https://www.googleapis.com/` in production, and the files in `examples/`
only ever name `http://127.0.0.1:8080`.

The stand-ins accept the example accounts (`EXAMPLE_*` below, the same placeholders the files in
`examples/` hold) and answer every query with made-up numbers derived from a seed and the query,
so the same command always collects the same records. Used by the demo
(`performanceplatform.collector.demo`), the stand-ins command
(`python -m performanceplatform.collector.standins`) and the tests of both.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.google_analytics import GoogleAnalyticsStandIn
from performanceplatform.collector.standins.google_analytics_data import GoogleAnalyticsDataStandIn, answers_a_fraction
from performanceplatform.collector.standins.google_oauth import ANALYTICS_READONLY, GoogleOAuthStandIn
from performanceplatform.collector.standins.matomo import MatomoStandIn
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from performanceplatform.collector.standins.server import Fault, RecordedRequest, Response, StandIn
from performanceplatform.collector.standins.stagecraft import StagecraftStandIn

DEFAULT_PORT = 8080
DEFAULT_SEED = 2014
# The base URL the files in examples/ name; the demo and the tests replace it with the real one.
EXAMPLES_BASE_URL = f"http://127.0.0.1:{DEFAULT_PORT}"

# The example accounts: placeholders that only these stand-ins accept, never real secrets. The
# files in examples/ hold the same values; tests/test_examples.py proves the two agree.
EXAMPLE_CLIENT_ID = "example-client-id.apps.googleusercontent.com"
EXAMPLE_CLIENT_SECRET = "example-client-secret"  # noqa: S105
EXAMPLE_REFRESH_TOKEN = "example-refresh-token"  # noqa: S105
EXAMPLE_SERVICE_ACCOUNTS = (
    "pp-collector@example-project.iam.gserviceaccount.com",
    "pp-collector-p12@example-project.iam.gserviceaccount.com",
)
EXAMPLE_BACKDROP_TOKENS = {
    "ga": "example-ga-token",
    "ga-realtime": "example-ga-realtime-token",
    "ga-trending": "example-ga-trending-token",
    "ga-content": "example-ga-content-token",
    "pingdom": "example-pingdom-token",
    "transactions": "example-transactions-token",
    "matomo": "example-matomo-token",
    "matomo-realtime": "example-matomo-realtime-token",
}
EXAMPLE_OMNISCIENT_TOKEN = "example-omniscient-token"  # noqa: S105
EXAMPLE_PINGDOM_CHECKS = ("Carers Allowance", "Register to vote", "find-an-apprenticeship")
EXAMPLE_PINGDOM_USER = "monitoring@example.gov.uk"
EXAMPLE_PINGDOM_PASSWORD = "example-pingdom-password"  # noqa: S105
EXAMPLE_PINGDOM_APP_KEY = "example-pingdom-app-key"
EXAMPLE_PINGDOM_API_TOKEN = "example-pingdom-api-token"  # noqa: S105
EXAMPLE_MATOMO_TOKEN_AUTH = "example-matomo-token-auth"  # noqa: S105
# The sites of the example Matomo: the site ids the production query files name.
EXAMPLE_MATOMO_SITES = ("1", "9")
# The custom dimensions of the example GA4 properties, as examples/ga4-map.json maps UA's event
# fields and custom dimension onto them (getMetadata lists them; reports accept them).
EXAMPLE_GA4_CUSTOM_DIMENSIONS = {
    "properties/123456789": ("customEvent:event_category", "customEvent:event_label"),
    "properties/987654321": ("customEvent:organisation",),
}
EXAMPLE_STAGECRAFT_COLLECTOR = {
    "slug": "carers-allowance-monitoring",
    "entry_point": "performanceplatform.collector.pingdom",
    "data_group": "carers-allowance",
    "data_type": "monitoring",
    "query": {"name": "Carers Allowance"},
    "options": {},
    "provider": "pingdom",
}


class LocalStandIns(StandIn):
    """Google OAuth, Google Analytics (v3 and GA4), Pingdom, Matomo, Backdrop and Stagecraft on one port.

    Each service is its own stand-in (`oauth`, `analytics`, `analytics_data`, `pingdom`, `matomo`,
    `backdrop`, `stagecraft`), reachable as an attribute for inspection; this server hands every request to
    the one whose path prefix it matches, and records it in both. Faults injected here
    (`fail_next(..., path=)`) answer in the owning service's error shape.
    """

    name = "pp-collector-stand-ins"

    def __init__(
        self,
        port: int = 0,
        *,
        seed: int = DEFAULT_SEED,
        database: str | Path | None = None,
        backdrop_tokens: Iterable[str] = (),
    ):
        super().__init__("127.0.0.1", port)
        self.seed = seed
        self.oauth = GoogleOAuthStandIn()
        self.analytics = GoogleAnalyticsStandIn(
            authorize=lambda request: self.oauth.check_bearer(request, ANALYTICS_READONLY)
        )
        self.analytics_data = GoogleAnalyticsDataStandIn(
            authorize=lambda request: self.oauth.check_bearer(request, ANALYTICS_READONLY)
        )
        self.numbers = SeededNumbers(seed)
        # The GA4 stand-in answers from rows set beforehand; each report's are made up just before
        # it is answered, one report at a time.
        self._data_api_lock = threading.Lock()
        self.pingdom = PingdomStandIn(
            EXAMPLE_PINGDOM_CHECKS,
            user=EXAMPLE_PINGDOM_USER,
            password=EXAMPLE_PINGDOM_PASSWORD,
            app_key=EXAMPLE_PINGDOM_APP_KEY,
            api_token=EXAMPLE_PINGDOM_API_TOKEN,
        )
        self.matomo = MatomoStandIn(token_auth=EXAMPLE_MATOMO_TOKEN_AUTH, sites=EXAMPLE_MATOMO_SITES, seed=seed)
        self.backdrop = BackdropStandIn(
            database=database, open_tokens={*EXAMPLE_BACKDROP_TOKENS.values(), *backdrop_tokens}
        )
        self.stagecraft = StagecraftStandIn(EXAMPLE_OMNISCIENT_TOKEN)
        # Longest prefixes first would matter if two overlapped; none do.
        self.mounts: list[tuple[str, str, StandIn]] = [
            ("/token", "Google OAuth token endpoint", self.oauth),
            ("/auth", "Google OAuth consent page", self.oauth),
            ("/v1/userinfo", "Google OAuth user info", self.oauth),
            ("/analytics/v3/", "Google Analytics Core Reporting and Real Time v3", self.analytics),
            ("/v1beta/", "Google Analytics Data API (GA4)", self.analytics_data),
            ("/api/", "Pingdom API 2.0 and 3.1", self.pingdom),
            ("/matomo/", "Matomo Reporting API (index.php)", self.matomo),
            ("/data/", "Backdrop", self.backdrop),
            ("/_status", "Backdrop status", self.backdrop),
            ("/collector/", "Stagecraft", self.stagecraft),
        ]
        self._seed_accounts()

    def _seed_accounts(self) -> None:
        client = self.oauth.add_client(EXAMPLE_CLIENT_ID, EXAMPLE_CLIENT_SECRET)
        self.oauth.add_refresh_token(client, refresh_token=EXAMPLE_REFRESH_TOKEN)
        for account in EXAMPLE_SERVICE_ACCOUNTS:
            # No public key: any key signs for these accounts, so a contributor can use their own
            # throwaway key with the example account name.
            self.oauth.add_service_account(account)
        self.analytics.core_handler = self._core_rows
        realtime = random.Random(f"{self.seed}|realtime")
        self.analytics.realtime_rows = [[realtime.randint(20, 400)]]
        for property_, dimensions in EXAMPLE_GA4_CUSTOM_DIMENSIONS.items():
            self.analytics_data.define(property_, custom_dimensions=dimensions)
        self.analytics_data.realtime_rows = [
            {"activeUsers": str(realtime.randint(20, 400)), "screenPageViews": str(realtime.randint(400, 900)),
             "eventCount": str(realtime.randint(900, 3000))}
        ]
        collector = EXAMPLE_STAGECRAFT_COLLECTOR
        self.stagecraft.add_collector(
            collector["slug"],
            entry_point=collector["entry_point"],
            data_group=collector["data_group"],
            data_type=collector["data_type"],
            query=collector["query"],
            options=collector["options"],
            provider=collector["provider"],
            bearer_token=EXAMPLE_BACKDROP_TOKENS["pingdom"],
        )

    # Lifecycle: the services are started too, on ports of their own, because some build URLs of
    # their own (the OAuth stand-in checks a JWT's audience against its token URL); nothing is
    # sent to those ports.

    def start(self) -> LocalStandIns:
        started: list[StandIn] = []
        try:
            for service in self.services():
                service.start()
                started.append(service)
            super().start()
        except BaseException:
            for service in started:
                service.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            for service in self.services():
                service.stop()

    def services(self) -> list[StandIn]:
        unique: list[StandIn] = []
        for _, _, service in self.mounts:
            if service not in unique:
                unique.append(service)
        return unique

    # What is where ------------------------------------------------------------------------------

    def endpoints(self) -> list[tuple[str, str]]:
        """(URL, what answers there), for people."""
        return [(f"{self.url}{prefix}", description) for prefix, description, _ in self.mounts]

    def _owner(self, path: str) -> StandIn | None:
        for prefix, _, service in self.mounts:
            if path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/"):
                return service
        return None

    def dispatch(self, request: RecordedRequest) -> Response:
        if request.path == "/" and request.method == "GET":
            return Response(
                200,
                {"stand-ins": [{"url": url, "serves": description} for url, description in self.endpoints()]},
            )
        owner = self._owner(request.path)
        if owner is None:
            return self.not_found(request)
        # The service keeps its own record too, so its helpers (summary_windows, ...) see it.
        owner.requests.append(request)
        if owner is self.analytics_data and request.path.endswith(":runReport"):
            with self._data_api_lock:
                self._seed_report(request)
                return owner.dispatch(request)
        return owner.dispatch(request)

    def not_found(self, request: RecordedRequest) -> Response:
        served = ", ".join(prefix for prefix, _, _ in self.mounts)
        return Response(
            404, {"status": "error", "message": f"no stand-in serves {request.path}; paths served: {served}"}
        )

    def fault_response(self, fault: Fault, request: RecordedRequest) -> Response:
        owner = self._owner(request.path)
        return (owner or super()).fault_response(fault, request)

    # Made-up numbers ----------------------------------------------------------------------------

    def _core_rows(self, params: Mapping[str, str]) -> list[list[str]]:
        """Core Reporting v3: rows of strings, dimensions then metrics, sorted as `sort` asks."""
        dimensions = _bare(params.get("dimensions"))
        metrics = _bare(params.get("metrics"))
        start = datetime.strptime(params["start-date"], "%Y-%m-%d").date()
        end = datetime.strptime(params["end-date"], "%Y-%m-%d").date()
        rows = self.numbers.rows(params["ids"], dimensions, metrics, start, end, _exact_filters(params.get("filters")))
        table = [[row[name] for name in dimensions + metrics] for row in rows]
        return _sorted(table, params.get("sort"), dimensions + metrics)

    def _seed_report(self, request: RecordedRequest) -> None:
        """GA4 `runReport`: rows for each of the request's date ranges (the stand-in filters,
        sorts and pages them). A request it cannot read is left for the stand-in to refuse."""
        self.analytics_data.row_sets.clear()
        try:
            body = json.loads(request.body or b"{}")
            dimensions = [item["name"] for item in body.get("dimensions") or []]
            metrics = [item["name"] for item in body.get("metrics") or []]
            ranges = [(_day(item["startDate"]), _day(item["endDate"]), item.get("name"))
                      for item in body.get("dateRanges") or []]
        except (ValueError, TypeError, KeyError, AttributeError):
            return
        property_ = request.path.removeprefix("/v1beta/").split(":")[0]
        fixed = _ga4_exact_filters(body.get("dimensionFilter"))
        for start, end, name in ranges:
            rows = self.numbers.rows(f"{property_}|{name}", dimensions, metrics, start, end, fixed, ga4=True)
            self.analytics_data.add_rows(rows, start_date=start, end_date=end)


class SeededNumbers:
    """Made-up report rows for any query, the same every time for the same seed and query.

    Dimensions take values from a small vocabulary (`deviceCategory`: desktop, mobile, tablet;
    page paths and titles in pairs; dates: every day of the period; anything else: three numbered
    values; a dimension a filter fixes with `==`: that value), in every combination. Metrics are
    random numbers of a plausible size, drawn from a generator seeded with the seed, the view or
    property, the period and the row's dimension values. Names are Universal Analytics' (without
    `ga:`) or GA4's. Rates are percentages, as Universal Analytics answered them, but for GA4
    (`ga4`) those the Data API answers as fractions (`bounceRate` 0.4495, not 44.95).
    """

    def __init__(self, seed: int, *, max_rows: int = 1000):
        self.seed = seed
        self.max_rows = max_rows

    def rows(
        self,
        source: str,
        dimensions: Sequence[str],
        metrics: Sequence[str],
        start: date,
        end: date,
        fixed: Mapping[str, str] | None = None,
        *,
        ga4: bool = False,
    ) -> list[dict[str, str]]:
        """Rows for a report; `fixed` gives dimensions a single value (a query's `==` filter);
        `ga4`: the report is the Data API's."""
        days = (end - start).days + 1
        # A row per day has a day's numbers; a row for the whole period, the period's.
        row_days = 1 if any(name in DATE_DIMENSIONS for name in dimensions) else days
        rows = []
        for values in itertools.islice(_dimension_values(dimensions, start, end, fixed or {}), self.max_rows):
            generator = random.Random(f"{self.seed}|{source}|{start}|{end}|{'|'.join(values.values())}")
            rows.append({
                **values,
                **{name: _metric_value(name, generator, row_days, fraction=ga4 and answers_a_fraction(name))
                   for name in metrics},
            })
        return rows


DATE_DIMENSIONS = ("date", "day", "month", "year", "dayOfWeek")
PAGE_PATHS = ("pagePath", "landingPagePath", "pagePathPlusQueryString", "landingPage",
              "landingPagePlusQueryString", "unifiedPagePathScreen")
PAGE_TITLES = ("pageTitle", "unifiedScreenName")
PAGES = (
    ("/carers-allowance", "Carer's Allowance - GOV.UK"),
    ("/carers-allowance/how-to-claim", "Carer's Allowance: How to claim - GOV.UK"),
    ("/register-to-vote", "Register to vote - GOV.UK"),
    ("/renew-driving-licence", "Renew your driving licence - GOV.UK"),
    ("/vehicle-tax", "Tax your vehicle - GOV.UK"),
)
VOCABULARY: dict[str, Sequence[str]] = {
    "deviceCategory": ("desktop", "mobile", "tablet"),
    "browser": ("Chrome", "Safari", "Edge", "Firefox"),
    "userType": ("New Visitor", "Returning Visitor"),
    "visitorType": ("New Visitor", "Returning Visitor"),
    "newVsReturning": ("new", "returning"),
    "operatingSystem": ("Windows", "iOS", "Android", "Macintosh"),
    "medium": ("organic", "referral", "(none)"),
    "sessionMedium": ("organic", "referral", "(none)"),
    "source": ("google", "gov.uk", "(direct)"),
    "sessionSource": ("google", "gov.uk", "(direct)"),
    "country": ("United Kingdom", "Ireland", "France"),
    "eventCategory": ("start", "done"),
    "eventAction": ("clicked", "submitted"),
    "eventLabel": ("carers:claim", "carers:eligibility"),
    "eventName": ("page_view", "form_start", "form_submit"),
    # The example GA4 properties' custom dimensions (EXAMPLE_GA4_CUSTOM_DIMENSIONS), as UA's were.
    "customEvent:event_category": ("start", "done"),
    "customEvent:event_label": ("carers:claim", "carers:eligibility"),
    "customEvent:organisation": ("<D1>", "<D2>"),
}


def _bare(value: str | None) -> list[str]:
    """Core Reporting's comma-joined names, without their `ga:`."""
    return [name.removeprefix("ga:") for name in value.split(",")] if value else []


def _exact_filters(filters: str | None) -> dict[str, str]:
    """The `ga:name==value` terms a Core Reporting filter ANDs in: every row has that value."""
    fixed = {}
    for term in re.split(r"(?<!\\);", filters or ""):
        match = re.fullmatch(r"ga:(\w+)==([^,]*)", term)
        if match:
            fixed[match.group(1)] = match.group(2)
    return fixed


def _ga4_exact_filters(expression: Any) -> dict[str, str]:
    """The exact `stringFilter`s a GA4 `dimensionFilter` ANDs in (itself, or in its `andGroup`):
    every row has that value, as with `_exact_filters`."""
    if not isinstance(expression, Mapping):
        return {}
    group = expression.get("andGroup")
    items = group.get("expressions", []) if isinstance(group, Mapping) else [expression]
    fixed = {}
    for item in items:
        primitive = item.get("filter") if isinstance(item, Mapping) else None
        string_filter = primitive.get("stringFilter") if isinstance(primitive, Mapping) else None
        if isinstance(string_filter, Mapping) and string_filter.get("matchType", "EXACT") == "EXACT":
            fixed[str(primitive.get("fieldName"))] = str(string_filter.get("value", ""))
    return fixed


def _dimension_values(
    dimensions: Sequence[str], start: date, end: date, fixed: Mapping[str, str]
) -> Iterable[dict[str, str]]:
    """Every combination of the dimensions' values, in a stable order."""
    axes: list[list[dict[str, str]]] = []
    if any(name in DATE_DIMENSIONS for name in dimensions):
        axes.append([_date_parts(start + timedelta(days=offset)) for offset in range((end - start).days + 1)])
    if any(name in PAGE_PATHS + PAGE_TITLES for name in dimensions):
        axes.append([
            {**dict.fromkeys(PAGE_PATHS, path), **dict.fromkeys(PAGE_TITLES, title)} for path, title in PAGES
        ])
    for name in dimensions:
        if name in fixed:
            axes.append([{name: fixed[name]}])
        elif name not in DATE_DIMENSIONS + PAGE_PATHS + PAGE_TITLES:
            axes.append([{name: value} for value in VOCABULARY.get(name, [f"{name} {n}" for n in (1, 2, 3)])])
    for combination in itertools.product(*axes):
        merged = {key: value for part in combination for key, value in part.items()}
        yield {name: merged[name] for name in dimensions}


def _date_parts(day: date) -> dict[str, str]:
    return {
        "date": day.strftime("%Y%m%d"),
        "day": day.strftime("%d"),
        "month": day.strftime("%m"),
        "year": day.strftime("%Y"),
        "dayOfWeek": str((day.weekday() + 1) % 7),
    }


def _metric_value(name: str, generator: random.Random, days: int, *, fraction: bool = False) -> str:
    lowered = name.lower()
    if fraction or "rate" in lowered or "percent" in lowered:
        percentage = f"{generator.uniform(5, 80):.2f}"
        # A GA4 fraction is its Universal Analytics twin divided by 100: 0.4495 for 44.95.
        return str(Decimal(percentage).scaleb(-2)) if fraction else percentage
    if "duration" in lowered or "timeon" in lowered:
        return f"{generator.uniform(20, 400):.1f}"
    if "goal" in lowered or "conversion" in lowered:
        return str(generator.randint(0, 40) * days)
    if "pageview" in lowered or "hits" in lowered:
        return str(generator.randint(200, 3000) * days)
    return str(generator.randint(20, 900) * days)


def _sorted(rows: list[list[Any]], sort: str | None, columns: list[str]) -> list[list[Any]]:
    # Applied last key first: Python's sort is stable, so earlier keys end up deciding.
    for key in reversed(_bare(sort.replace("-ga:", "-") if sort else None)):
        descending = key.startswith("-")
        name = key.lstrip("-")
        if name not in columns:
            continue
        index = columns.index(name)
        rows.sort(key=lambda row, index=index: _sort_value(row[index]), reverse=descending)
    return rows


def _sort_value(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def _day(value: str) -> date:
    """A Data API date (`2024-05-06`, `yesterday`, `7daysAgo`, `today`), as the stand-in reads it."""
    today = datetime.now(UTC).date()
    relative = {"today": today, "yesterday": today - timedelta(days=1)}
    if value in relative:
        return relative[value]
    match = re.fullmatch(r"(\d+)daysAgo", value)
    if match:
        return today - timedelta(days=int(match.group(1)))
    return datetime.strptime(value, "%Y-%m-%d").date()
