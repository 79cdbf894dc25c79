"""A Pingdom or realtime run imports only what it uses: 54 realtime jobs run every two minutes.

Each test runs a fresh interpreter (the modules a run imports cannot be seen from a process that
has already imported them all) and lists what it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.google_oauth import OAuthClient
from performanceplatform.collector.standins.pingdom import PingdomStandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.cli import REPO_ROOT, ConfigFiles
from tests.support.google import GA4_PROPERTY, Ga4Collector, GaCollector, oauth2client_tokens, write_user_credentials

GOOGLE = ("google", "googleapiclient", "google_auth_httplib2", "httplib2", "oauth2client", "uritemplate")
# What a Google API client built from a discovery document brings (Universal Analytics' only).
DISCOVERY_CLIENT = ("googleapiclient", "google_auth_httplib2", "httplib2", "uritemplate", "pyparsing")
# What only GA rows, mappings and plugins need.
RECORD_BUILDING = (
    "performanceplatform.collector.records",
    "performanceplatform.collector.plugins",
    "performanceplatform.collector.py2compat",
    "performanceplatform.collector.ga.rows",
)
BACKFILLS = ("performanceplatform.collector.backfill",)
# HTTP libraries the project does not use itself (`connections` speaks HTTP/1.1 itself).
HTTP_LIBRARIES = ("urllib3", "requests")
# The standard library's HTTP client and the email parser behind its headers: google-auth's token
# requests bring them; a run of the project's own HTTP does not.
STDLIB_HTTP_CLIENT = ("http.client", "email")
# What only a GA4 report (not a realtime count) needs: its query's translation, the property
# metadata check and its nearest-name suggestions; and the gzip of a large Backdrop body.
REPORT_ONLY = (
    "performanceplatform.collector.ga.data_api.query",
    "performanceplatform.collector.ga.data_api.pages",
    "performanceplatform.collector.ga.migration.metadata",
    "difflib",
    "gzip",
)
# The GA4 migration file's reader and model: only for a run that names a migration file.
MIGRATION_FILE = ("performanceplatform.collector.ga.migration.map_file",)


def modules_after(code: str) -> tuple[list[str], str]:
    """Run `code` in a fresh interpreter; the modules loaded afterwards, and what it printed."""
    script = code + "\nimport json, sys\nprint('MODULES=' + json.dumps(sorted(sys.modules)))\n"
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    *printed, last = completed.stdout.strip().splitlines()
    return json.loads(last.removeprefix("MODULES=")), "\n".join(printed)


def loaded(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [name for name in modules if any(name == p or name.startswith(p + ".") for p in prefixes)]


def run_main(argv: list[str]) -> str:
    return f"from performanceplatform.collector.main import main\nprint('EXIT', main({argv!r}))"


def ga4_realtime_args(ga4_collector: Ga4Collector, credentials: Path) -> list[str]:
    """The arguments of a GA4 realtime run that finds 42 people on the site."""
    ga4_collector.api.realtime_rows = [{"activeUsers": "42"}]
    configs = ga4_collector.configs
    query = configs.query("performanceplatform.collector.ga.realtime",
                          {"ids": GA4_PROPERTY, "metrics": "rt:activeUsers"}, data_group=DATA_GROUP,
                          data_type=DATA_TYPE)
    return configs.args(query=query, backdrop=configs.backdrop(f"{ga4_collector.backdrop.url}/data"),
                        credentials=credentials, token=configs.token(TOKEN))


def test_a_pingdom_backfill_imports_neither_google_nor_the_record_builder(
    configs: ConfigFiles, backdrop: BackdropStandIn, pingdom: PingdomStandIn
) -> None:
    query = configs.query("performanceplatform.collector.pingdom", {"name": "carers_allowance"},
                          data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=configs.credentials(pingdom.credentials()), token=configs.token(TOKEN))

    modules, printed = modules_after(run_main([*argv, "-s", "2013-05-01", "-e", "2013-05-20"]))

    assert printed == "EXIT 0"
    assert len(backdrop.records(DATA_GROUP, DATA_TYPE)) == 19 * 24
    assert loaded(modules, GOOGLE) == []
    assert loaded(modules, RECORD_BUILDING) == []
    # What it does use: three weeks fetched at once, pushed as they arrive.
    assert loaded(modules, BACKFILLS) != []


def test_a_pingdom_run_without_dates_imports_no_dateutil(
    configs: ConfigFiles, backdrop: BackdropStandIn, pingdom: PingdomStandIn
) -> None:
    query = configs.query("performanceplatform.collector.pingdom", {"name": "carers_allowance"},
                          data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=configs.credentials(pingdom.credentials()), token=configs.token(TOKEN))

    modules, printed = modules_after(run_main(argv))

    assert printed == "EXIT 0"
    assert len(backdrop.records(DATA_GROUP, DATA_TYPE)) == 24
    assert loaded(modules, (*GOOGLE, *RECORD_BUILDING, *HTTP_LIBRARIES, *STDLIB_HTTP_CLIENT, "dateutil")) == []


def test_a_pingdom_run_with_plugins_imports_the_plugins_it_uses(
    configs: ConfigFiles, backdrop: BackdropStandIn, pingdom: PingdomStandIn
) -> None:
    query = configs.query("performanceplatform.collector.pingdom", {"name": "carers_allowance"},
                          {"plugins": ["RemoveKey('unmonitored')"]}, data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=configs.credentials(pingdom.credentials()), token=configs.token(TOKEN))

    modules, printed = modules_after(run_main(argv))

    assert printed == "EXIT 0"
    assert "unmonitored" not in backdrop.records(DATA_GROUP, DATA_TYPE)[0]
    assert "performanceplatform.collector.plugins" in modules
    assert loaded(modules, GOOGLE) == []


def test_importing_the_realtime_path_loads_no_google_no_record_builder_and_no_backfill_machinery() -> None:
    modules, _ = modules_after(
        "import performanceplatform.collector.main, performanceplatform.collector.runner\n"
        "import performanceplatform.collector.ga.realtime"
    )
    assert loaded(modules, (*GOOGLE, *RECORD_BUILDING, *BACKFILLS, "dateutil")) == []


def test_a_ga4_realtime_run_builds_no_discovery_client_and_imports_no_record_builder_or_backfill(
    ga4_collector: Ga4Collector,
) -> None:
    argv = ga4_realtime_args(ga4_collector, ga4_collector.credentials_path)

    modules, printed = modules_after(
        run_main([*argv, "--department-codes", str(ga4_collector.configs.department_codes())])
    )

    assert printed == "EXIT 0"
    records: list[dict[str, Any]] = ga4_collector.records()
    assert [record["unique_visitors"] for record in records] == [42]
    # The Data API is asked through the project's HTTP client, google-auth only signing the token
    # request: no discovery-based client, no httplib2, no requests.
    assert "google.auth" in modules
    assert loaded(modules, (*DISCOVERY_CLIENT, *HTTP_LIBRARIES, *RECORD_BUILDING, *BACKFILLS, "dateutil")) == []
    assert loaded(modules, (*REPORT_ONLY, *MIGRATION_FILE)) == []


@pytest.mark.parametrize(("minutes_left", "refreshed"), [(60, False), (4, True)])
def test_a_ga4_realtime_run_on_stored_user_tokens_imports_google_auth_only_to_refresh_them(
    ga4_collector: Ga4Collector, google_oauth_client: OAuthClient, tmp_path: Path, minutes_left: int, refreshed: bool
) -> None:
    # Production's GA credentials: CLIENT_SECRETS + STORAGE_PATH, an access token stored by the
    # run before. Its 35 realtime jobs run every two minutes; a stored token serves an hour of them.
    oauth = ga4_collector.oauth
    stored_token = oauth.issue_access_token()
    expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=minutes_left)
    storage = oauth2client_tokens(google_oauth_client, oauth.add_refresh_token(google_oauth_client),
                                  token_uri=oauth.token_url, access_token=stored_token, expiry=expiry)
    files = write_user_credentials(tmp_path / "user", oauth, google_oauth_client, storage=storage,
                                   API_ROOT=f"{ga4_collector.api.url}/")
    argv = ga4_realtime_args(ga4_collector, files.credentials_path)

    modules, printed = modules_after(run_main(argv))

    assert printed == "EXIT 0"
    assert [record["unique_visitors"] for record in ga4_collector.records()] == [42]
    assert oauth.refreshes == (1 if refreshed else 0)
    assert (files.storage()["access_token"] == stored_token) is not refreshed
    # Less than five minutes left is too little: the token is refreshed through google-auth.
    assert (loaded(modules, ("google", "cryptography")) != []) is refreshed
    assert (loaded(modules, STDLIB_HTTP_CLIENT) != []) is refreshed


def test_a_universal_analytics_realtime_run_imports_no_record_builder_or_backfill(ga_collector: GaCollector) -> None:
    ga_collector.ga.realtime_rows = [["7"]]
    configs = ga_collector.configs
    query = configs.query("performanceplatform.collector.ga.realtime", {"ids": "ga:1", "metrics": "rt:activeUsers"},
                          data_group=DATA_GROUP, data_type=DATA_TYPE)
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{ga_collector.backdrop.url}/data"),
                        credentials=ga_collector.credentials_path, token=configs.token(TOKEN))

    modules, printed = modules_after(run_main(argv))

    assert printed == "EXIT 0"
    assert [record["unique_visitors"] for record in ga_collector.records()] == [7]
    assert "googleapiclient.discovery" in modules
    assert loaded(modules, (*RECORD_BUILDING, *BACKFILLS, "dateutil")) == []


def test_the_discovery_document_is_parsed_once_however_many_threads_build_a_client() -> None:
    _, printed = modules_after(
        "import threading\n"
        "import httplib2\n"
        "from performanceplatform.collector.ga import google_api as client\n"
        "services = []\n"
        "def build():\n"
        "    services.append(client.build_service('analyticsdata', 'v1beta', httplib2.Http(), 'http://127.0.0.1:9/'))\n"
        "threads = [threading.Thread(target=build) for _ in range(4)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "build()\n"
        "print(len(services), len({id(s) for s in services}), len(client._DISCOVERY_DOCUMENTS))\n"
        "print(all(s._rootDesc is client.discovery_document('analyticsdata', 'v1beta') for s in services))"
    )
    assert printed == "5 5 1\nTrue"
