"""Fixtures: see the module name."""

# =================================================================================================
# Google OAuth: the token endpoint / consent page stand-in, OAuth clients, RSA keys, and ready
# credentials files in every shape. Owned by the GA credentials engineer (ga/auth.py,
# standins/google_oauth.py, tools/generate-ga-credentials.py); the GA API section follows.
#
# Fixtures: `google_oauth` (a running GoogleOAuthStandIn), `google_oauth_client` (an OAuth client
# registered with it), `google_key_pair` (a session-wide throwaway RSA key: PEM, PKCS#1 PEM, .p12),
# `google_service_account` (that key registered as a service account), `google_user_credentials`
# (ga.json + client_secret.json + an oauth2client storage file whose access token has expired).
# Helpers: `write_user_credentials`, `oauth2client_tokens`, `authorized_user_tokens`, `write_json`.
# =================================================================================================

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from performanceplatform.collector.standins.google_oauth import (
    ANALYTICS_READONLY,
    GoogleOAuthStandIn,
    OAuthClient,
)

SERVICE_ACCOUNT_EMAIL = "pp-collector@stand-in-project.iam.gserviceaccount.com"
OAUTH2CLIENT_EXPIRY_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class GoogleKeyPair:
    """A throwaway RSA key in the forms Google has handed out: PEM (in JSON keys) and .p12."""

    private_key: rsa.RSAPrivateKey

    @property
    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def pem_pkcs1(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def p12(self, password: bytes = b"notasecret") -> bytes:
        return pkcs12.serialize_key_and_certificates(
            b"privatekey",
            self.private_key,
            None,
            None,
            serialization.BestAvailableEncryption(password),
        )

    def secret_fragments(self) -> list[str]:
        """The base64 lines of the PEM: none may ever appear in output."""
        return [line for line in self.pem.decode().splitlines() if not line.startswith("-----")]


@dataclass(frozen=True)
class ServiceAccount:
    email: str
    key: GoogleKeyPair

    def json_key(self, token_uri: str) -> dict[str, Any]:
        """A service-account JSON key as the Cloud console downloads it."""
        return {
            "type": "service_account",
            "project_id": "stand-in-project",
            "private_key_id": "0123456789abcdef0123456789abcdef01234567",
            "private_key": self.key.pem.decode(),
            "client_email": self.email,
            "client_id": "123456789012345678901",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
        }


@dataclass
class UserCredentialsFiles:
    """A GA credentials file of the CLIENT_SECRETS + STORAGE_PATH shape and the files it names."""

    credentials_path: Path
    client_secrets_path: Path
    storage_path: Path
    client: OAuthClient
    refresh_token: str

    def config(self) -> dict[str, Any]:
        return json.loads(self.credentials_path.read_text())

    def storage(self) -> dict[str, Any]:
        return json.loads(self.storage_path.read_text())


def write_json(path: Path, data: Any, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    os.chmod(path, mode)
    return path


def oauth2client_tokens(
    client: OAuthClient,
    refresh_token: str,
    *,
    token_uri: str,
    access_token: str | None = None,
    expiry: datetime | None = None,
    scopes: tuple[str, ...] = (ANALYTICS_READONLY,),
) -> dict[str, Any]:
    """Stored tokens exactly as oauth2client's file Storage wrote them (every key it wrote)."""
    return {
        "_class": "OAuth2Credentials",
        "_module": "oauth2client.client",
        "access_token": access_token,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "id_token": None,
        "id_token_jwt": None,
        "invalid": False,
        "refresh_token": refresh_token,
        "revoke_uri": "https://oauth2.googleapis.com/revoke",
        "scopes": list(scopes),
        "token_expiry": expiry.strftime(OAUTH2CLIENT_EXPIRY_FORMAT) if expiry else None,
        "token_info_uri": "https://oauth2.googleapis.com/tokeninfo",
        "token_response": {"access_token": access_token, "expires_in": 3600, "token_type": "Bearer"},
        "token_uri": token_uri,
        "user_agent": None,
    }


def authorized_user_tokens(
    client: OAuthClient,
    refresh_token: str,
    *,
    token_uri: str | None,
    access_token: str | None = None,
    expiry: datetime | None = None,
) -> dict[str, Any]:
    """Stored tokens in google-auth's `authorized_user` format."""
    data: dict[str, Any] = {
        "type": "authorized_user",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "refresh_token": refresh_token,
    }
    if token_uri is not None:
        data["token_uri"] = token_uri
    if access_token is not None:
        data["token"] = access_token
    if expiry is not None:
        data["expiry"] = expiry.isoformat() + "Z"
    return data


def write_user_credentials(
    directory: Path,
    google_oauth: GoogleOAuthStandIn,
    client: OAuthClient,
    *,
    storage: dict[str, Any] | None = None,
    relative_paths: bool = False,
    **extra: Any,
) -> UserCredentialsFiles:
    """ga.json, client_secret.json and storage.db in `directory`, as the credentials tool lays them out.

    `storage` defaults to oauth2client tokens with no access token, so the first use refreshes.
    `extra` keys (API_ROOT, say) go into ga.json.
    """
    refresh_token = google_oauth.add_refresh_token(client)
    if storage is None:
        storage = oauth2client_tokens(client, refresh_token, token_uri=google_oauth.token_url)
    else:
        refresh_token = storage.get("refresh_token", refresh_token)
    client_secrets_path = write_json(directory / "ga" / "client_secret.json", google_oauth.client_secrets(client))
    storage_path = write_json(directory / "ga" / "storage.db", storage)
    paths = (
        {"CLIENT_SECRETS": "ga/client_secret.json", "STORAGE_PATH": "ga/storage.db"}
        if relative_paths
        else {"CLIENT_SECRETS": str(client_secrets_path), "STORAGE_PATH": str(storage_path)}
    )
    credentials_path = write_json(directory / "ga.json", {**paths, **extra})
    return UserCredentialsFiles(credentials_path, client_secrets_path, storage_path, client, refresh_token)


@pytest.fixture(scope="session")
def google_key_pair() -> GoogleKeyPair:
    return GoogleKeyPair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def google_oauth() -> Iterator[GoogleOAuthStandIn]:
    stand_in = GoogleOAuthStandIn()
    stand_in.start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


@pytest.fixture
def google_oauth_client(google_oauth: GoogleOAuthStandIn) -> OAuthClient:
    return google_oauth.add_client()


@pytest.fixture
def google_service_account(google_oauth: GoogleOAuthStandIn, google_key_pair: GoogleKeyPair) -> ServiceAccount:
    google_oauth.add_service_account(SERVICE_ACCOUNT_EMAIL, google_key_pair.public_pem)
    return ServiceAccount(SERVICE_ACCOUNT_EMAIL, google_key_pair)


@pytest.fixture
def google_user_credentials(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient
) -> UserCredentialsFiles:
    return write_user_credentials(tmp_path / "creds", google_oauth, google_oauth_client)



# =================================================================================================
# Google Analytics API stand-in (GA collectors: ga, ga.trending, ga.realtime, content.table).
# Owned by the GA collectors' engineer; the OAuth section above is someone else's.
#
# Fixtures: `ga_api` (a running GoogleAnalyticsStandIn accepting any bearer token), `ga_client`
# (a GoogleAnalyticsClient on `ga_api` with a fixed token), `ga_collector` (the whole stack for
# CLI runs: GA stand-in that only accepts tokens the OAuth stand-in issued, a service-account
# credentials file with API_ROOT, the Backdrop stand-in; `.run(...)` and `.records()`).
# =================================================================================================

from performanceplatform.collector.standins.backdrop import BackdropStandIn  # noqa: E402
from performanceplatform.collector.standins.google_analytics import GoogleAnalyticsStandIn  # noqa: E402
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN  # noqa: E402
from tests.support.cli import CliResult, ConfigFiles, run_cli  # noqa: E402

GA_ACCESS_TOKEN = "ya29.ga-stand-in-access-token"


@pytest.fixture
def ga_api() -> Iterator[GoogleAnalyticsStandIn]:
    """A running Core Reporting + Real Time stand-in; it accepts any bearer token."""
    stand_in = GoogleAnalyticsStandIn()
    stand_in.start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


def core_reporting_client(ga_api: GoogleAnalyticsStandIn, **settings: Any) -> Any:
    """A `CoreReportingClient` talking to `ga_api` with a fixed access token."""
    import google.oauth2.credentials

    from performanceplatform.collector.ga.core_reporting.client import CoreReportingClient

    return CoreReportingClient.build(
        google.oauth2.credentials.Credentials(token=GA_ACCESS_TOKEN),
        api_endpoint=f"{ga_api.url}/analytics/v3/",
        **settings,
    )


@pytest.fixture
def ga_client(ga_api: GoogleAnalyticsStandIn) -> Iterator[Any]:
    """A `CoreReportingClient` talking to `ga_api` with a fixed access token."""
    client = core_reporting_client(ga_api)
    try:
        yield client
    finally:
        client.close()


@dataclass
class GaCollector:
    """`pp-collector` runs of a GA entrypoint against the stand-ins, pushing to `DATA_GROUP`/`DATA_TYPE`."""

    configs: ConfigFiles
    ga: GoogleAnalyticsStandIn
    oauth: GoogleOAuthStandIn
    backdrop: BackdropStandIn
    credentials_path: Path

    def run(
        self,
        entrypoint: str,
        query: dict[str, Any],
        options: dict[str, Any] | None = None,
        *args: str,
        department_codes: bool = True,
    ) -> CliResult:
        """Write the query file and run the CLI; `args` are extra flags (-s, -e, --dry-run ...)."""
        query_path = self.configs.query(
            f"performanceplatform.collector.{entrypoint}", query, options,
            data_group=DATA_GROUP, data_type=DATA_TYPE,
        )
        return self.run_file(query_path, *args, department_codes=department_codes)

    def run_file(self, query_path: Path, *args: str, department_codes: bool = True) -> CliResult:
        argv = self.configs.args(
            query=query_path,
            backdrop=self.configs.backdrop(f"{self.backdrop.url}/data"),
            credentials=self.credentials_path,
            token=self.configs.token(TOKEN),
        )
        if department_codes:
            argv += ["--department-codes", str(self.configs.department_codes())]
        return run_cli([*argv, *args])

    def records(self) -> list[dict[str, Any]]:
        return self.backdrop.records(DATA_GROUP, DATA_TYPE)

    def credentials(self) -> dict[str, Any]:
        """The credentials file's contents, for calling a collector's `main` directly."""
        return json.loads(self.credentials_path.read_text())

    def data_set_config(self) -> dict[str, Any]:
        """The `data_set_config` the CLI would hand a collector's `main`."""
        return {"url": self.backdrop.data_url(DATA_GROUP, DATA_TYPE), "token": TOKEN,
                "data-group": DATA_GROUP, "data-type": DATA_TYPE, "dry_run": False}


def service_account_credentials(
    configs: ConfigFiles, oauth: GoogleOAuthStandIn, account: ServiceAccount, *, api_root: str, name: str
) -> Path:
    """`creds/<name>.json`: a SERVICE_ACCOUNT_KEY credentials file reaching the API stand-in at `api_root`."""
    key_path = write_json(configs.root / "creds" / f"{name}-service-account.json", account.json_key(oauth.token_url))
    credentials = {"SERVICE_ACCOUNT_KEY": str(key_path), "API_ROOT": api_root}
    return write_json(configs.root / "creds" / f"{name}.json", credentials)


@pytest.fixture
def ga_collector(
    configs: ConfigFiles,
    backdrop: BackdropStandIn,
    google_oauth: GoogleOAuthStandIn,
    google_service_account: ServiceAccount,
) -> Iterator[GaCollector]:
    stand_in = GoogleAnalyticsStandIn(
        authorize=lambda request: google_oauth.check_bearer(request, ANALYTICS_READONLY)
    )
    stand_in.start()
    credentials_path = service_account_credentials(
        configs, google_oauth, google_service_account, api_root=f"{stand_in.url}/", name="ga"
    )
    try:
        yield GaCollector(configs, stand_in, google_oauth, backdrop, credentials_path)
    finally:
        stand_in.stop()


# =================================================================================================
# GA4 Data API stand-in (GA collectors for `properties/<n>` ids: ga, ga.trending, ga.realtime,
# content.table). Owned by the GA4 engineer; the sections above are someone else's.
#
# Fixtures: `ga4_api` (a running GoogleAnalyticsDataStandIn accepting any bearer token),
# `ga4_collector` (the whole stack for CLI runs: the Data API stand-in accepting only tokens the
# OAuth stand-in issued, a service-account credentials file whose API_ROOT is the stand-in, the
# Backdrop stand-in; `.run(...)`, `.records()`, `.bodies()`).
# =================================================================================================

from performanceplatform.collector.standins.google_analytics_data import GoogleAnalyticsDataStandIn  # noqa: E402

GA4_PROPERTY = "properties/123456789"


@pytest.fixture
def ga4_api() -> Iterator[GoogleAnalyticsDataStandIn]:
    """A running GA4 Data API stand-in; it accepts any bearer token."""
    stand_in = GoogleAnalyticsDataStandIn()
    stand_in.start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


@dataclass
class Ga4Collector:
    """`pp-collector` runs of a GA entrypoint with a GA4 query, pushing to `DATA_GROUP`/`DATA_TYPE`."""

    configs: ConfigFiles
    api: GoogleAnalyticsDataStandIn
    oauth: GoogleOAuthStandIn
    backdrop: BackdropStandIn
    credentials_path: Path

    def run(self, entrypoint: str, query: dict[str, Any], options: dict[str, Any] | None = None,
            *args: str, department_codes: bool = True) -> CliResult:
        """Write the query file and run the CLI; `args` are extra flags (-s, -e, --dry-run ...)."""
        query_path = self.configs.query(
            f"performanceplatform.collector.{entrypoint}", query, options, data_group=DATA_GROUP, data_type=DATA_TYPE
        )
        return self.run_file(query_path, *args, department_codes=department_codes)

    def run_file(self, query_path: Path, *args: str, department_codes: bool = True) -> CliResult:
        argv = self.configs.args(
            query=query_path,
            backdrop=self.configs.backdrop(f"{self.backdrop.url}/data"),
            credentials=self.credentials_path,
            token=self.configs.token(TOKEN),
        )
        if department_codes:
            argv += ["--department-codes", str(self.configs.department_codes())]
        return run_cli([*argv, *args])

    def records(self) -> list[dict[str, Any]]:
        return self.backdrop.records(DATA_GROUP, DATA_TYPE)

    def bodies(self) -> list[dict[str, Any]]:
        """The runReport request bodies the stand-in received, in order."""
        return self.api.report_bodies()


@pytest.fixture
def ga4_collector(
    configs: ConfigFiles,
    backdrop: BackdropStandIn,
    google_oauth: GoogleOAuthStandIn,
    google_service_account: ServiceAccount,
) -> Iterator[Ga4Collector]:
    stand_in = GoogleAnalyticsDataStandIn(
        authorize=lambda request: google_oauth.check_bearer(request, ANALYTICS_READONLY)
    )
    stand_in.start()
    # Files of its own, so that a test can also use `ga_collector` (v3) and compare the two.
    credentials_path = service_account_credentials(
        configs, google_oauth, google_service_account, api_root=f"{stand_in.url}/", name="ga4"
    )
    try:
        yield Ga4Collector(configs, stand_in, google_oauth, backdrop, credentials_path)
    finally:
        stand_in.stop()


# =================================================================================================
# Both GA sources behind one fixture: `ga_source` runs each test once against Core Reporting v3
# (a UA view id) and once against the GA4 Data API (a property), with the same rows and the same
# expected records, since a query's records must not depend on which API answered it.
# =================================================================================================

# The GA4 name the Data API answers under, for each name the tests' queries write (written here,
# not taken from the collector's own table, so that a wrong translation fails the GA4 runs).
GA4_ANSWERS_UNDER = {
    "visitors": "totalUsers",
    "users": "totalUsers",
    "visits": "sessions",
    "sessions": "sessions",
    "pageviews": "screenPageViews",
    "browser": "browser",
    "deviceCategory": "deviceCategory",
    "date": "date",
    "pagePath": "pagePathPlusQueryString",
    "pageTitle": "pageTitle",
}
UA_VIEW = "ga:74473500"


@dataclass
class GaSourceRuns:
    """`pp-collector` runs of a GA entrypoint against one source's stand-in (`name`: "core_reporting"
    or "data_api")."""

    name: str
    query_id: str
    collector: GaCollector | Ga4Collector

    @property
    def stand_in(self) -> GoogleAnalyticsStandIn | GoogleAnalyticsDataStandIn:
        return self.collector.ga if isinstance(self.collector, GaCollector) else self.collector.api

    def query(self, **keys: Any) -> dict[str, Any]:
        """A `ga` query object for this source: the keys given, and the source's id."""
        return {"id": self.query_id, **keys}

    def realtime_query(self, **keys: Any) -> dict[str, Any]:
        """A `ga.realtime` query object for this source: the keys given, and the source's `ids`."""
        return {"ids": self.query_id, **keys}

    def add_rows(
        self,
        names: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        start_date: str | None = None,
        end_date: str | None = None,
    ) -> None:
        """Rows (values in the order of `names`: the query's dimensions, then its metrics, as written)
        that the stand-in answers for the period starting (and ending) on these dates."""
        if isinstance(self.collector, GaCollector):
            self.collector.ga.add_core_rows(
                [[str(value) for value in row] for row in rows], start_date=start_date, end_date=end_date
            )
        else:
            self.collector.api.add_rows(
                [{GA4_ANSWERS_UNDER[name]: str(value) for name, value in zip(names, row, strict=True)} for row in rows],
                start_date=start_date,
                end_date=end_date,
            )

    def run(self, entrypoint: str, query: dict[str, Any], options: dict[str, Any] | None = None,
            *args: str) -> CliResult:
        return self.collector.run(entrypoint, query, options, *args)

    def report_requests(self) -> list[Any]:
        if isinstance(self.collector, GaCollector):
            return self.collector.ga.core_requests()
        return self.collector.api.report_requests()

    def periods_asked(self) -> list[tuple[str, str]]:
        """(first day, last day) of each report request, sorted: periods are fetched several at a
        time, so they reach the stand-in in any order. A GA4 request that pages asks again."""
        if isinstance(self.collector, GaCollector):
            asked = [(r.param("start-date"), r.param("end-date")) for r in self.report_requests()]
        else:
            asked = [(b["dateRanges"][0]["startDate"], b["dateRanges"][0]["endDate"]) for b in self.collector.bodies()]
        return sorted((str(start), str(end)) for start, end in asked)

    def fail_next_rate_limited(self, times: int = 1) -> None:
        """The API's own 429 for a rate or quota limit, worth retrying."""
        if isinstance(self.collector, GaCollector):
            self.collector.ga.fail_next_with(429, "rateLimitExceeded", "Quota exceeded", times=times)
        else:
            self.collector.api.exhaust_quota("concurrent", times=times)

    def fail_next_forbidden(self) -> None:
        """The API's own 403: the credentials may not read this view or property."""
        if isinstance(self.collector, GaCollector):
            self.collector.ga.fail_next_with(403, "insufficientPermissions", "User does not have any Google "
                                             "Analytics account.")
        else:
            self.collector.api.fail_next_with(403, "User does not have sufficient permissions for this property.",
                                              status="PERMISSION_DENIED")

    def records(self) -> list[dict[str, Any]]:
        return self.collector.records()

    def count_active_now(self, people: int) -> None:
        """What the realtime report answers: `people` on the site."""
        if isinstance(self.collector, GaCollector):
            self.collector.ga.realtime_rows = [[str(people)]]
        else:
            self.collector.api.realtime_rows = [{"activeUsers": str(people)}]

    def realtime_requests(self) -> list[Any]:
        if isinstance(self.collector, GaCollector):
            return self.collector.ga.realtime_requests()
        return self.collector.api.realtime_requests()

    def credentials(self) -> dict[str, Any]:
        """The credentials file's contents, for calling a collector's `main` directly."""
        return json.loads(self.collector.credentials_path.read_text())

    def data_set_config(self) -> dict[str, Any]:
        """The `data_set_config` the CLI would hand a collector's `main`."""
        backdrop = self.collector.backdrop
        return {"url": backdrop.data_url(DATA_GROUP, DATA_TYPE), "token": TOKEN,
                "data-group": DATA_GROUP, "data-type": DATA_TYPE, "dry_run": False}

    @property
    def organisation(self) -> str:
        """How a query names the custom dimension holding a page's organisation: UA numbered its
        custom dimensions, GA4 names them."""
        return "dimension9" if isinstance(self.collector, GaCollector) else "customEvent:organisation"

    def add_table(self, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Rows of every field in `names` (dimensions, including ones the queries only filter on, then
        metrics), from which the source answers each report request as the real API does: the rows its
        filters match, sorted by its sort, holding the fields it asks for. The GA4 stand-in does that
        itself (a `customEvent:` name becomes one of the property's custom dimensions); Core
        Reporting's stand-in answers them through `CoreReportingTable`."""
        if isinstance(self.collector, GaCollector):
            assert self.collector.ga.core_handler is None, "one table per test"
            self.collector.ga.core_handler = CoreReportingTable(names, [list(row) for row in rows])
            return
        custom = [name for name in names if name.startswith("customEvent:")]
        if custom:
            self.collector.api.define(self.query_id, custom_dimensions=custom)
        self.collector.api.add_rows(
            [{name if name in custom else GA4_ANSWERS_UNDER[name]: str(value)
              for name, value in zip(names, row, strict=True)} for row in rows]
        )

    def add_trending_rows(
        self, names: Sequence[str], rows: Iterable[Sequence[Any]], *, weeks: tuple[tuple[str, str], tuple[str, str]]
    ) -> None:
        """A trending query's fortnight, one row per page and day: values in the order of `names` (the
        query's dimensions, "date" as "YYYY-MM-DD", then its metric); `weeks` the first and last day of
        each week. Core Reporting answers them by day, month and year over the fortnight; GA4 sums
        each page's days into the two named weeks it is asked for."""
        day_at = names.index("date")
        dimensions = [name for name in names[:-1] if name != "date"]
        if isinstance(self.collector, GaCollector):
            core_rows = []
            for row in rows:
                year, month, day = str(row[day_at]).split("-")
                values = [value for index, value in enumerate(row[:-1]) if index != day_at]
                core_rows.append([*values, day, month, year, row[-1]])
            self.collector.ga.add_core_rows(core_rows, start_date=weeks[0][0], end_date=weeks[1][1])
            return
        sums: list[dict[tuple[Any, ...], int]] = [{}, {}]
        for row in rows:
            day = str(row[day_at])
            (week,) = [index for index, (first, last) in enumerate(weeks) if first <= day <= last]
            key = tuple(value for index, value in enumerate(row[:-1]) if index != day_at)
            sums[week][key] = sums[week].get(key, 0) + int(row[-1])
        for (first, last), totals in zip(weeks, sums, strict=True):
            self.collector.api.add_rows(
                [{**{GA4_ANSWERS_UNDER[name]: value for name, value in zip(dimensions, key, strict=True)},
                  GA4_ANSWERS_UNDER[names[-1]]: str(total)} for key, total in totals.items()],
                start_date=first,
                end_date=last,
            )


# A Core Reporting filter term: `ga:<name><operator><value>`.
CORE_FILTER_TERM = re.compile(r"ga:(?P<name>\w+)(?P<operator>==|!=|>=|<=|>|<|=@|!@|=~|!~)(?P<value>.*)", re.DOTALL)
# Terms are separated by unescaped `;` (AND) and `,` (OR, which binds tighter).
CORE_AND = re.compile(r"(?<!\\);")
CORE_OR = re.compile(r"(?<!\\),")


@dataclass
class CoreReportingTable:
    """A `core_handler` for the Core Reporting stand-in answering from a table of rows as Core
    Reporting does: the rows its `filters` parameter matches, sorted by `sort`, holding the
    `dimensions` and `metrics` it asks for (one row per table row: the table holds no two rows
    that would be summed)."""

    names: Sequence[str]
    rows: list[list[Any]]

    def __call__(self, params: Mapping[str, str]) -> list[list[str]]:
        rows = [dict(zip(self.names, map(str, row), strict=True)) for row in self.rows]
        if params.get("filters"):
            rows = [row for row in rows if core_filter_matches(params["filters"], row)]
        for key in reversed(params["sort"].split(",") if params.get("sort") else []):
            name = key.lstrip("-").removeprefix("ga:")
            rows.sort(key=lambda row, name=name: _sort_key(row[name]), reverse=key.startswith("-"))
        asked = [name.removeprefix("ga:") for part in ("dimensions", "metrics")
                 for name in (params[part].split(",") if params.get(part) else [])]
        return [[row[name] for name in asked] for row in rows]


def core_filter_matches(filters: str, row: Mapping[str, str]) -> bool:
    """Whether `row` (UA name → value) passes a Core Reporting `filters` parameter."""
    return all(any(_core_term_matches(term, row) for term in CORE_OR.split(group)) for group in CORE_AND.split(filters))


def _core_term_matches(term: str, row: Mapping[str, str]) -> bool:
    match = CORE_FILTER_TERM.fullmatch(term)
    assert match is not None, f"not a Core Reporting filter: {term!r}"
    name, operator, value = match["name"], match["operator"], re.sub(r"\\([,;\\])", r"\1", match["value"])
    actual = row[name]
    if operator in ("=~", "!~"):
        return bool(re.search(value, actual, re.IGNORECASE)) == (operator == "=~")
    if operator in ("=@", "!@"):
        return (value.lower() in actual.lower()) == (operator == "=@")
    if operator in ("==", "!="):
        return (actual == value) == (operator == "==")
    comparisons = {">": float.__gt__, "<": float.__lt__, ">=": float.__ge__, "<=": float.__le__}
    return comparisons[operator](float(actual), float(value))


def _sort_key(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


@pytest.fixture(params=["core_reporting", "data_api"])
def ga_source(request: pytest.FixtureRequest) -> GaSourceRuns:
    if request.param == "core_reporting":
        return GaSourceRuns("core_reporting", UA_VIEW, request.getfixturevalue("ga_collector"))
    return GaSourceRuns("data_api", GA4_PROPERTY, request.getfixturevalue("ga4_collector"))
