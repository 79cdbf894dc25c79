"""No secret in any output of a full run at DEBUG: stdout, stderr, both log files, dry runs, errors."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from freezegun import freeze_time

from performanceplatform.collector.standins.google_analytics import GoogleAnalyticsStandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN
from tests.support.cli import run_cli
from tests.support.google import ANALYTICS_READONLY, write_json, write_user_credentials

GA_QUERY = {"id": "ga:123", "metrics": ["visits"], "dimensions": ["browser"]}
WEEK = ("-s", "2014-10-13", "-e", "2014-10-19")


@pytest.fixture(autouse=True)
def debug_logging(monkeypatch):
    monkeypatch.setenv("LOGLEVEL", "DEBUG")


def assert_no_secret(output: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret, "an empty secret proves nothing"
        assert secret not in output, f"a secret leaked: {secret[:6]}..."


def run(configs, backdrop, query_path, credentials_path, *flags, console=False):
    argv = configs.args(query=query_path, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=credentials_path, token=configs.token(TOKEN), console=console)
    return run_cli([*argv, *flags])


@pytest.mark.parametrize("version", ["2.0", "3.1"])
@pytest.mark.parametrize("flags", [(), ("--dry-run",), ("--console-logging",)])
def test_pingdom_runs(configs, backdrop, make_pingdom, version, flags):
    pingdom = make_pingdom(["carers_allowance"], account_email="team@example.org")
    credentials = pingdom.credentials(version)
    query = configs.query("performanceplatform.collector.pingdom", {"name": "carers_allowance"},
                          data_group=DATA_GROUP, data_type=DATA_TYPE)
    result = run(configs, backdrop, query, configs.credentials(credentials), *flags)
    assert result.exit_code == 0, result.stderr
    secrets = [TOKEN, pingdom.api_token] if version == "3.1" else [TOKEN, pingdom.password, pingdom.app_key]
    assert_no_secret(result.all_output(), secrets)


def test_pingdom_failures_do_not_leak(configs, backdrop, make_pingdom):
    pingdom = make_pingdom(["carers_allowance"])
    wrong = {**pingdom.credentials("2.0"), "password": "wrong-pa55word-xyz"}
    query = configs.query("performanceplatform.collector.pingdom", {"name": "carers_allowance"},
                          data_group=DATA_GROUP, data_type=DATA_TYPE)
    result = run(configs, backdrop, query, configs.credentials(wrong))
    assert result.exit_code == 1
    assert_no_secret(result.all_output(), [TOKEN, "wrong-pa55word-xyz", pingdom.app_key])


def test_backdrop_echoing_a_rejected_token_does_not_leak_it(configs, backdrop, pingdom):
    backdrop.add_data_set(DATA_GROUP, DATA_TYPE, "another-token-entirely")
    query = configs.query("performanceplatform.collector.pingdom", {"name": "carers_allowance"},
                          data_group=DATA_GROUP, data_type=DATA_TYPE)
    result = run(configs, backdrop, query, configs.credentials(pingdom.credentials("3.1")))
    assert result.exit_code == 1
    assert "401" in result.stderr
    assert_no_secret(result.all_output(), [TOKEN, pingdom.api_token])


@freeze_time("2014-10-20 12:00:00")
@pytest.mark.parametrize("flags", [(), ("--dry-run",), ("--console-logging",)])
def test_ga_with_stored_user_tokens(configs, backdrop, google_oauth, google_oauth_client, tmp_path, flags):
    with GoogleAnalyticsStandIn(authorize=lambda r: google_oauth.check_bearer(r, ANALYTICS_READONLY)) as ga:
        ga.add_core_rows([["Chrome", "12"]])
        files = write_user_credentials(tmp_path / "creds", google_oauth, google_oauth_client, API_ROOT=f"{ga.url}/")
        query = configs.query("performanceplatform.collector.ga", GA_QUERY, data_group=DATA_GROUP, data_type=DATA_TYPE)
        result = run(configs, backdrop, query, files.credentials_path, *WEEK, *flags)
    assert result.exit_code == 0, result.stderr
    assert google_oauth.issued, "the run never got an access token"
    secrets = [TOKEN, files.refresh_token, google_oauth_client.client_secret, *google_oauth.issued]
    assert_no_secret(result.all_output(), secrets)


@freeze_time("2014-10-20 12:00:00")
def test_ga_with_a_revoked_refresh_token(configs, backdrop, google_oauth, google_oauth_client, tmp_path):
    files = write_user_credentials(tmp_path / "creds", google_oauth, google_oauth_client,
                                   API_ROOT="http://127.0.0.1:9/")
    google_oauth.revoke_refresh_token(files.refresh_token)
    query = configs.query("performanceplatform.collector.ga", GA_QUERY, data_group=DATA_GROUP, data_type=DATA_TYPE)
    result = run(configs, backdrop, query, files.credentials_path, *WEEK)
    assert result.exit_code == 1
    assert "invalid_grant" in result.stderr
    assert_no_secret(result.all_output(), [TOKEN, files.refresh_token, google_oauth_client.client_secret])


@freeze_time("2014-10-20 12:00:00")
def test_ga_with_a_service_account_key(configs, backdrop, google_oauth, google_service_account, google_key_pair):
    with GoogleAnalyticsStandIn(authorize=lambda r: google_oauth.check_bearer(r, ANALYTICS_READONLY)) as ga:
        ga.add_core_rows([["Chrome", "12"]])
        key = google_service_account.json_key(google_oauth.token_url)
        key_path = write_json(configs.root / "key.json", key)
        credentials = configs.credentials({"SERVICE_ACCOUNT_KEY": str(key_path), "API_ROOT": f"{ga.url}/"})
        query = configs.query("performanceplatform.collector.ga", GA_QUERY, data_group=DATA_GROUP, data_type=DATA_TYPE)
        result = run(configs, backdrop, query, credentials, *WEEK)
    assert result.exit_code == 0, result.stderr
    assert google_oauth.issued, "the run never got an access token"
    assertion = parse_qs(google_oauth.requests_to(r"/token")[0].body.decode())["assertion"][0]
    secrets = [TOKEN, key["private_key_id"], assertion, *google_key_pair.secret_fragments(), *google_oauth.issued]
    assert_no_secret(result.all_output(), secrets)
