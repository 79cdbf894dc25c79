"""GA credentials (performanceplatform.collector.ga.auth) against the Google OAuth stand-in, over HTTP.

Credentials are used as the GA client uses them: through google-auth-httplib2's AuthorizedHttp,
which refreshes before a request and again after a 401, against the stand-in's bearer-protected
`/v1/userinfo`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import google.auth.credentials
import google_auth_httplib2
import httplib2
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from freezegun import freeze_time

from performanceplatform.collector.errors import ConfigurationError, FatalUpstreamError
from performanceplatform.collector.ga.auth import GENERATOR, SCOPE, credentials_from_config, write_json_atomically
from performanceplatform.collector.standins.google_oauth import ANALYTICS, JWT_BEARER, GoogleOAuthStandIn, OAuthClient
from tests.support.cli import REPO_ROOT
from tests.support.google import (
    GoogleKeyPair,
    ServiceAccount,
    UserCredentialsFiles,
    authorized_user_tokens,
    oauth2client_tokens,
    write_json,
    write_user_credentials,
)

AUTH_LOGGER = "performanceplatform.collector.ga.auth"


def load(files: UserCredentialsFiles) -> google.auth.credentials.Credentials:
    return credentials_from_config(files.config(), source=str(files.credentials_path))


def use(credentials: google.auth.credentials.Credentials, google_oauth: GoogleOAuthStandIn) -> dict[str, Any]:
    """One authorised API request, as the GA client makes them (httplib2 + google-auth)."""
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=10))
    try:
        response, content = http.request(google_oauth.userinfo_url)
    finally:
        http.close()
    assert response.status == 200, content
    return json.loads(content)


def token_requests(google_oauth: GoogleOAuthStandIn) -> list[dict[str, list[str]]]:
    return [parse_qs(request.body.decode()) for request in google_oauth.requests_to(r"^/token$", "POST")]


def refresh_log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == AUTH_LOGGER and record.levelno == logging.INFO
    ]


def mode_of(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


# Shape 1: CLIENT_SECRETS + STORAGE_PATH -------------------------------------------------------------


def test_an_expired_oauth2client_token_is_refreshed_and_written_back_in_that_format(
    google_user_credentials: UserCredentialsFiles, google_oauth: GoogleOAuthStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = google_user_credentials.storage()
    credentials = load(google_user_credentials)
    assert not credentials.valid

    assert use(credentials, google_oauth) == {"sub": "analyst@example.com", "email": "analyst@example.com"}

    assert google_oauth.refreshes == 1
    [sent] = token_requests(google_oauth)
    assert sent["grant_type"] == ["refresh_token"]
    assert sent["refresh_token"] == [google_user_credentials.refresh_token]
    after = google_user_credentials.storage()
    assert after["access_token"] == credentials.token
    assert google_oauth.is_valid_access_token(after["access_token"], SCOPE)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", after["token_expiry"])
    assert datetime.strptime(after["token_expiry"], "%Y-%m-%dT%H:%M:%SZ") == credentials.expiry.replace(microsecond=0)
    assert after["token_response"]["access_token"] == credentials.token
    assert after["token_response"]["token_type"] == "Bearer"
    changed = {"access_token", "token_expiry", "token_response"}
    assert {key: value for key, value in after.items() if key not in changed} == {
        key: value for key, value in before.items() if key not in changed
    }
    storage = google_user_credentials.storage_path
    assert mode_of(storage) == 0o600
    # The atomic write leaves nothing behind but the file and its lock.
    assert sorted(path.name for path in storage.parent.iterdir()) == [
        "client_secret.json",
        "storage.db",
        "storage.db.lock",
    ]
    [line] = refresh_log_lines(caplog)
    assert str(storage) in line
    assert credentials.expiry.replace(microsecond=0).isoformat() + "Z" in line


def test_a_reader_of_the_old_storage_file_never_sees_a_half_written_one(
    google_user_credentials: UserCredentialsFiles, google_oauth: GoogleOAuthStandIn
) -> None:
    before = google_user_credentials.storage_path.read_bytes()
    with google_user_credentials.storage_path.open("rb") as reader:  # a cron job reading right now
        use(load(google_user_credentials), google_oauth)

        # The new file replaced the old one whole; what the reader opened is intact.
        assert reader.read() == before
    assert google_user_credentials.storage_path.read_bytes() != before


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    target = write_json(tmp_path / "storage.db", {"refresh_token": "1//old"})

    with pytest.raises(TypeError):
        write_json_atomically(target, {"unserialisable": object()})

    assert json.loads(target.read_text()) == {"refresh_token": "1//old"}
    assert [path.name for path in tmp_path.iterdir()] == ["storage.db"]


def test_an_authorized_user_file_is_written_back_as_authorized_user(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient
) -> None:
    refresh_token = google_oauth.add_refresh_token(google_oauth_client)
    stale = datetime(2020, 1, 1, 12, 0, 0)
    files = write_user_credentials(
        tmp_path / "creds",
        google_oauth,
        google_oauth_client,
        storage=authorized_user_tokens(
            google_oauth_client,
            refresh_token,
            token_uri=google_oauth.token_url,
            access_token="ya29.long-expired",
            expiry=stale,
        ),
    )
    credentials = load(files)

    use(credentials, google_oauth)

    after = files.storage()
    assert after["type"] == "authorized_user"
    assert after["token"] == credentials.token
    assert google_oauth.is_valid_access_token(after["token"])
    assert after["expiry"] == credentials.expiry.replace(microsecond=0).isoformat() + "Z"
    assert "access_token" not in after and "token_expiry" not in after
    assert after["refresh_token"] == refresh_token
    assert mode_of(files.storage_path) == 0o600


def test_the_storage_files_own_token_uri_is_used(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient
) -> None:
    decoy = GoogleOAuthStandIn().start()
    try:
        decoy.clients[google_oauth_client.client_id] = google_oauth_client
        files = write_user_credentials(tmp_path / "creds", google_oauth, google_oauth_client)
        # The client secrets file names another token endpoint; the stored tokens name the stand-in.
        write_json(files.client_secrets_path, decoy.client_secrets(google_oauth_client))

        use(load(files), google_oauth)
    finally:
        decoy.stop()

    assert google_oauth.refreshes == 1
    assert decoy.requests == []


def test_without_a_token_uri_in_the_storage_file_the_client_secrets_one_is_used(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient
) -> None:
    refresh_token = google_oauth.add_refresh_token(google_oauth_client)
    files = write_user_credentials(
        tmp_path / "creds",
        google_oauth,
        google_oauth_client,
        storage={"refresh_token": refresh_token},  # an old minimal file: the client comes from the secrets
    )

    use(load(files), google_oauth)

    assert google_oauth.refreshes == 1
    assert files.storage()["token"]


def test_a_valid_stored_access_token_is_used_without_a_refresh_until_it_nears_expiry(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient
) -> None:
    with freeze_time("2014-05-16T11:00:00Z") as frozen:
        refresh_token = google_oauth.add_refresh_token(google_oauth_client)
        stored_token = google_oauth.issue_access_token()  # valid until 12:00 stand-in time
        files = write_user_credentials(
            tmp_path / "creds",
            google_oauth,
            google_oauth_client,
            storage=oauth2client_tokens(
                google_oauth_client,
                refresh_token,
                token_uri=google_oauth.token_url,
                access_token=stored_token,
                expiry=datetime(2014, 5, 16, 12, 0, 0),
            ),
        )
        credentials = load(files)
        assert credentials.valid and credentials.token == stored_token

        use(credentials, google_oauth)
        assert google_oauth.requests_to("/token") == []
        assert files.storage()["access_token"] == stored_token

        # Inside google-auth's safety margin (3 min 45 s): refresh before the token runs out.
        frozen.move_to("2014-05-16T11:57:00Z")
        use(credentials, google_oauth)

    assert google_oauth.refreshes == 1
    after = files.storage()
    assert after["access_token"] == credentials.token != stored_token
    assert after["token_expiry"] == "2014-05-16T12:57:00Z"


@pytest.mark.parametrize("token_expiry", [None, "not a date"])
def test_a_stored_access_token_without_a_known_expiry_is_refreshed(
    tmp_path: Path,
    google_oauth: GoogleOAuthStandIn,
    google_oauth_client: OAuthClient,
    token_expiry: str | None,
) -> None:
    refresh_token = google_oauth.add_refresh_token(google_oauth_client)
    storage = oauth2client_tokens(
        google_oauth_client, refresh_token, token_uri=google_oauth.token_url, access_token="ya29.who-knows"
    )
    storage["token_expiry"] = token_expiry
    files = write_user_credentials(tmp_path / "creds", google_oauth, google_oauth_client, storage=storage)

    credentials = load(files)
    assert not credentials.valid
    use(credentials, google_oauth)

    assert google_oauth.refreshes == 1
    assert files.storage()["access_token"] == credentials.token


def test_a_token_the_api_rejects_is_refreshed_even_though_the_file_calls_it_valid(
    google_user_credentials: UserCredentialsFiles, google_oauth: GoogleOAuthStandIn
) -> None:
    credentials = load(google_user_credentials)
    use(credentials, google_oauth)
    first = credentials.token
    google_oauth.expire_access_tokens()  # revoked or expired early at Google: the API answers 401

    use(credentials, google_oauth)

    assert google_oauth.refreshes == 2
    assert credentials.token != first
    assert google_user_credentials.storage()["access_token"] == credentials.token


def test_a_token_another_process_stored_meanwhile_is_used_instead_of_refreshing_again(
    google_user_credentials: UserCredentialsFiles, google_oauth: GoogleOAuthStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    mine = load(google_user_credentials)
    theirs = load(google_user_credentials)
    use(theirs, google_oauth)  # the other cron job refreshes and writes the file first

    use(mine, google_oauth)

    assert google_oauth.refreshes == 1
    assert mine.token == theirs.token == google_user_credentials.storage()["access_token"]
    assert any("another process stored" in line for line in refresh_log_lines(caplog))


CONCURRENT_REFRESH = textwrap.dedent(
    """
    import json, sys
    import google.auth.transport.requests
    from performanceplatform.collector.ga.auth import credentials_from_config

    path = sys.argv[1]
    with open(path) as config:
        credentials = credentials_from_config(json.load(config), source=path)
    print("ready", flush=True)
    sys.stdin.readline()  # all processes start refreshing together
    credentials.before_request(google.auth.transport.requests.Request(), "GET", "https://example.invalid/", {})
    print(credentials.token, flush=True)
    """
)


def test_processes_refreshing_one_storage_file_at_once_leave_it_valid_and_refresh_once(
    google_user_credentials: UserCredentialsFiles, google_oauth: GoogleOAuthStandIn
) -> None:
    processes = 6
    # Slow answers keep every process inside the race window.
    google_oauth.delay_next(0.3, times=processes, path=r"^/token$")
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    started = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_REFRESH, str(google_user_credentials.credentials_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for _ in range(processes)
    ]
    try:
        for process in started:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready", process.stderr.read() if process.stderr else ""
        for process in started:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        results = [process.communicate(timeout=60) for process in started]
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()

    assert [process.returncode for process in started] == [0] * processes, [stderr for _, stderr in results]
    tokens = {stdout.strip() for stdout, _ in results}
    stored = google_user_credentials.storage()  # valid JSON, or this fails
    # One process refreshed under the lock; the others found its token when they got the lock.
    assert google_oauth.refreshes == 1
    assert tokens == {stored["access_token"]}
    assert google_oauth.is_valid_access_token(stored["access_token"])
    assert mode_of(google_user_credentials.storage_path) == 0o600


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON"),
        ("[]", "expected stored OAuth tokens"),
        ('{"client_id": "x", "client_secret": "y"}', "has no refresh_token"),
        ('{"refresh_token": "1//abc", "invalid": true, "access_token": null}', "marked these tokens invalid"),
        ('{"type": "service_account", "private_key": "k"}', "SERVICE_ACCOUNT_KEY"),
    ],
    ids=["missing", "not-json", "not-an-object", "no-refresh-token", "marked-invalid", "service-account-key"],
)
def test_a_missing_or_unusable_storage_file_points_at_the_credentials_tool(
    google_user_credentials: UserCredentialsFiles, google_oauth: GoogleOAuthStandIn, content: str | None, expected: str
) -> None:
    storage = google_user_credentials.storage_path
    if content is None:
        storage.unlink()
    else:
        storage.write_text(content)

    with pytest.raises(ConfigurationError) as raised:
        load(google_user_credentials)

    message = str(raised.value)
    assert expected in message
    assert GENERATOR in message
    assert str(storage) in message
    assert google_oauth.requests == []


def test_client_secrets_without_storage_path_points_at_the_credentials_tool(
    google_user_credentials: UserCredentialsFiles,
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        credentials_from_config({"CLIENT_SECRETS": str(google_user_credentials.client_secrets_path)})

    assert raised.value.key == "STORAGE_PATH"
    assert GENERATOR in str(raised.value)


@pytest.mark.parametrize(
    ("client_secrets", "expected"),
    [
        ({"other": {}}, "exactly one of 'installed' or 'web'"),
        ({"installed": {"client_id": "x"}}, "'installed' has no 'client_secret'"),
    ],
)
def test_a_bad_client_secrets_file_is_named(
    google_user_credentials: UserCredentialsFiles, client_secrets: dict[str, Any], expected: str
) -> None:
    write_json(google_user_credentials.client_secrets_path, client_secrets)

    with pytest.raises(ConfigurationError) as raised:
        load(google_user_credentials)

    assert expected in str(raised.value)
    assert str(google_user_credentials.client_secrets_path) in str(raised.value)


def test_invalid_grant_fails_at_once_with_googles_reason_and_no_secret(
    google_user_credentials: UserCredentialsFiles, google_oauth: GoogleOAuthStandIn
) -> None:
    google_oauth.revoke_refresh_token(google_user_credentials.refresh_token)
    before = google_user_credentials.storage_path.read_bytes()

    with pytest.raises(FatalUpstreamError) as raised:
        use(load(google_user_credentials), google_oauth)

    message = str(raised.value)
    assert "invalid_grant: Token has been expired or revoked." in message
    assert str(google_user_credentials.storage_path) in message
    assert GENERATOR in message
    assert raised.value.status == 400
    assert google_user_credentials.refresh_token not in message
    assert google_user_credentials.client.client_secret not in message
    assert len(google_oauth.requests_to("/token")) == 1  # not retried
    assert google_user_credentials.storage_path.read_bytes() == before


def test_a_wrong_client_secret_is_reported_as_invalid_client(
    google_user_credentials: UserCredentialsFiles, google_oauth: GoogleOAuthStandIn
) -> None:
    storage = google_user_credentials.storage()
    storage["client_secret"] = "GOCSPX-not-the-right-secret"
    write_json(google_user_credentials.storage_path, storage)

    with pytest.raises(FatalUpstreamError) as raised:
        use(load(google_user_credentials), google_oauth)

    assert "invalid_client" in str(raised.value)
    assert "client ID or secret is wrong" in str(raised.value)
    assert "GOCSPX-not-the-right-secret" not in str(raised.value)


@pytest.mark.parametrize(
    ("inject", "failures"),
    [
        (lambda stand_in: stand_in.fail_next(503), 1),
        (lambda stand_in: stand_in.fail_next(500, times=2), 2),
        (lambda stand_in: stand_in.fail_next(429, headers={"Retry-After": "0"}), 1),
        (lambda stand_in: stand_in.drop_next(), 1),
        (lambda stand_in: stand_in.fail_next(400, body={"error": "temporarily_unavailable"}), 1),
    ],
    ids=["503", "500-twice", "429", "connection-dropped", "temporarily_unavailable"],
)
def test_transient_token_endpoint_failures_are_retried_by_the_retry_policy(
    google_user_credentials: UserCredentialsFiles,
    google_oauth: GoogleOAuthStandIn,
    caplog: pytest.LogCaptureFixture,
    inject: Any,
    failures: int,
) -> None:
    inject(google_oauth)
    credentials = load(google_user_credentials)

    use(credentials, google_oauth)

    assert len(google_oauth.requests_to("/token")) == failures + 1
    assert google_oauth.refreshes == 1
    assert google_user_credentials.storage()["access_token"] == credentials.token
    retries = [
        r for r in caplog.records if r.name == "performanceplatform.collector.retry" and "retrying" in r.getMessage()
    ]
    assert len(retries) == failures


def test_a_slow_token_endpoint_times_out_and_is_retried(
    google_user_credentials: UserCredentialsFiles, google_oauth: GoogleOAuthStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PP_COLLECTOR_READ_TIMEOUT", "0.3")
    google_oauth.delay_next(1.5, path=r"^/token$")
    credentials = load(google_user_credentials)

    use(credentials, google_oauth)

    assert len(google_oauth.requests_to("/token")) == 2
    assert google_user_credentials.storage()["access_token"] == credentials.token


def test_a_token_endpoint_that_keeps_failing_gives_up_with_a_clear_error(
    google_user_credentials: UserCredentialsFiles, google_oauth: GoogleOAuthStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PP_COLLECTOR_RETRY_ATTEMPTS", "3")
    google_oauth.fail_next(503, times=10)
    before = google_user_credentials.storage_path.read_bytes()

    # Fatal, not retryable: the GA client's own retry policy must not start the round again.
    with pytest.raises(FatalUpstreamError) as raised:
        use(load(google_user_credentials), google_oauth)

    message = str(raised.value)
    assert "after 3 attempts" in message
    assert "503" in message and "server_error" in message
    assert str(google_user_credentials.storage_path) in message
    assert len(google_oauth.requests_to("/token")) == 3
    assert google_user_credentials.storage_path.read_bytes() == before


def test_secrets_are_not_sent_over_plain_http_to_another_host(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient
) -> None:
    refresh_token = google_oauth.add_refresh_token(google_oauth_client)
    files = write_user_credentials(
        tmp_path / "creds",
        google_oauth,
        google_oauth_client,
        storage=oauth2client_tokens(google_oauth_client, refresh_token, token_uri="http://oauth.example.invalid/token"),
    )

    with pytest.raises(ConfigurationError, match="refusing to send Google OAuth credentials over plain http"):
        load(files).refresh(None)


# Shapes 2 and 3: service accounts ---------------------------------------------------------------------


def decoded_assertion(google_oauth: GoogleOAuthStandIn) -> dict[str, Any]:
    [request] = google_oauth.requests_to("/token")
    form = dict(item.split("=", 1) for item in request.body.decode().split("&"))
    assert form["grant_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
    claims = form["assertion"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))


@pytest.mark.parametrize("key_format", ["p12", "pem", "pem-pkcs1"])
def test_account_name_and_private_key_sign_a_jwt_bearer_grant(
    tmp_path: Path,
    google_oauth: GoogleOAuthStandIn,
    google_service_account: ServiceAccount,
    key_format: str,
) -> None:
    key = google_service_account.key
    content = {"p12": key.p12(), "pem": key.pem, "pem-pkcs1": key.pem_pkcs1}[key_format]
    key_name = "key.p12" if key_format == "p12" else "key.pem"
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / key_name).write_bytes(content)
    config = {
        "ACCOUNT_NAME": google_service_account.email,
        "PRIVATE_KEY": key_name,  # relative to the credentials file
        "TOKEN_URI": google_oauth.token_url,
        "STORAGE_PATH": "unused-by-service-accounts.db",
    }
    credentials_path = write_json(tmp_path / "creds" / "ga.json", config)

    credentials = credentials_from_config(config, source=str(credentials_path))
    body = use(credentials, google_oauth)

    assert body["sub"] == google_service_account.email
    assert google_oauth.count("jwt-bearer") == 1
    claims = decoded_assertion(google_oauth)
    assert claims["iss"] == google_service_account.email
    assert claims["scope"] == SCOPE


def test_a_key_that_is_not_the_accounts_is_refused_by_the_signature_check(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_service_account: ServiceAccount
) -> None:
    impostor = GoogleKeyPair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    (tmp_path / "key.pem").write_bytes(impostor.pem)
    config = {
        "ACCOUNT_NAME": google_service_account.email,
        "PRIVATE_KEY": "key.pem",
        "TOKEN_URI": google_oauth.token_url,
    }

    with pytest.raises(FatalUpstreamError) as raised:
        use(credentials_from_config(config), google_oauth)

    assert "invalid_grant: Invalid JWT Signature." in str(raised.value)
    assert f"service account {google_service_account.email}" in str(raised.value)
    assert google_oauth.count("jwt-bearer") == 0


def test_a_p12_key_with_another_password_is_a_configuration_error(
    tmp_path: Path, google_service_account: ServiceAccount
) -> None:
    (tmp_path / "key.p12").write_bytes(google_service_account.key.p12(b"something-else"))

    with pytest.raises(ConfigurationError) as raised:
        credentials_from_config({"ACCOUNT_NAME": google_service_account.email, "PRIVATE_KEY": "key.p12"})

    assert raised.value.key == "PRIVATE_KEY"
    assert "notasecret" in str(raised.value)


def test_account_name_without_private_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as raised:
        credentials_from_config({"ACCOUNT_NAME": "someone@example.iam.gserviceaccount.com"})

    assert raised.value.key == "PRIVATE_KEY"


def test_a_service_account_json_key_uses_its_own_token_uri(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_service_account: ServiceAccount
) -> None:
    write_json(tmp_path / "service-account.json", google_service_account.json_key(google_oauth.token_url))

    credentials = credentials_from_config({"SERVICE_ACCOUNT_KEY": "service-account.json", "API_ROOT": "http://x/"})
    use(credentials, google_oauth)

    assert google_oauth.count("jwt-bearer") == 1
    assert decoded_assertion(google_oauth)["scope"] == SCOPE


def test_a_service_account_key_file_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    write_json(tmp_path / "not-a-key.json", {"type": "authorized_user", "refresh_token": "x"})

    with pytest.raises(ConfigurationError) as raised:
        credentials_from_config({"SERVICE_ACCOUNT_KEY": "not-a-key.json"})

    assert raised.value.key == "SERVICE_ACCOUNT_KEY"
    assert "not-a-key.json" in str(raised.value)


# Shape 4: CLIENT_SECRETS object + OAUTH2_CREDENTIALS ------------------------------------------------


@pytest.mark.parametrize("as_string", [False, True], ids=["object", "json-string"])
def test_stagecraft_style_embedded_credentials_refresh_in_memory(
    tmp_path: Path,
    google_oauth: GoogleOAuthStandIn,
    google_oauth_client: OAuthClient,
    as_string: bool,
) -> None:
    refresh_token = google_oauth.add_refresh_token(google_oauth_client, scopes=[ANALYTICS])
    stored = oauth2client_tokens(
        google_oauth_client, refresh_token, token_uri=google_oauth.token_url, scopes=(ANALYTICS,)
    )
    config = {
        "CLIENT_SECRETS": google_oauth.client_secrets(google_oauth_client),
        "OAUTH2_CREDENTIALS": json.dumps(stored) if as_string else stored,
    }
    files_before = sorted(tmp_path.rglob("*"))

    credentials = credentials_from_config(config)
    use(credentials, google_oauth)

    assert google_oauth.refreshes == 1
    # The original tool's tokens carry the full analytics scope; the refresh asks for exactly that.
    [sent] = token_requests(google_oauth)
    assert sent["scope"] == [ANALYTICS]
    assert sorted(tmp_path.rglob("*")) == files_before


def test_a_client_secrets_object_without_oauth2_credentials_is_named(google_oauth_client: OAuthClient) -> None:
    config = {"CLIENT_SECRETS": {"installed": {"client_id": "x", "client_secret": "y"}}}

    with pytest.raises(ConfigurationError) as raised:
        credentials_from_config(config)

    assert raised.value.key == "OAUTH2_CREDENTIALS"


def test_an_oauth2_credentials_string_that_is_not_json_is_reported_without_its_content() -> None:
    config = {
        "CLIENT_SECRETS": {"installed": {"client_id": "x", "client_secret": "y"}},
        "OAUTH2_CREDENTIALS": '{"refresh_token": "1//secret-refresh-token",',
    }

    with pytest.raises(ConfigurationError) as raised:
        credentials_from_config(config)

    assert raised.value.key == "OAUTH2_CREDENTIALS"
    assert "not JSON" in str(raised.value)
    assert "secret-refresh-token" not in str(raised.value)


# Shapes in general ------------------------------------------------------------------------------------


def test_a_credentials_file_of_no_known_shape_lists_the_accepted_shapes() -> None:
    with pytest.raises(ConfigurationError) as raised:
        credentials_from_config({"API_ROOT": "http://127.0.0.1:1/", "user": "x"}, source="/etc/ga.json")

    message = str(raised.value)
    assert message.startswith("/etc/ga.json: ")
    assert "keys present: API_ROOT, user" in message
    for shape in (
        "CLIENT_SECRETS",
        "STORAGE_PATH",
        "ACCOUNT_NAME",
        "PRIVATE_KEY",
        "SERVICE_ACCOUNT_KEY",
        "OAUTH2_CREDENTIALS",
    ):
        assert shape in message


def test_a_service_account_key_mixed_with_another_shape_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="SERVICE_ACCOUNT_KEY cannot be combined"):
        credentials_from_config({"SERVICE_ACCOUNT_KEY": "a.json", "ACCOUNT_NAME": "b"})


def test_relative_paths_not_in_the_working_directory_are_found_beside_the_credentials_file(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="performanceplatform.collector.ga.auth")
    files = write_user_credentials(
        tmp_path / "elsewhere", google_oauth, google_oauth_client, relative_paths=True, API_ROOT="http://127.0.0.1:9/"
    )
    assert Path.cwd() == tmp_path  # so the paths are not found relative to the current directory

    use(load(files), google_oauth)

    assert files.storage()["access_token"]
    assert f"key STORAGE_PATH: using {files.storage_path}, beside the credentials file (ga/storage.db is not in " \
           f"the working directory {tmp_path})" in caplog.text


def test_without_a_credentials_file_path_relative_paths_are_resolved_against_the_current_directory(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = write_user_credentials(tmp_path / "elsewhere", google_oauth, google_oauth_client, relative_paths=True)

    with pytest.raises(ConfigurationError) as raised:
        credentials_from_config(files.config(), source="credentials file")
    assert str(tmp_path / "ga" / "client_secret.json") in str(raised.value)

    monkeypatch.chdir(tmp_path / "elsewhere")
    use(credentials_from_config(files.config(), source="credentials file"), google_oauth)
    assert files.storage()["access_token"]


def test_paths_relative_to_the_working_directory_come_first_as_in_the_original(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="performanceplatform.collector.ga.auth")
    files = write_user_credentials(tmp_path / "app", google_oauth, google_oauth_client)
    config = {"CLIENT_SECRETS": "app/ga/client_secret.json", "STORAGE_PATH": "app/ga/storage.db"}
    credentials_path = write_json(tmp_path / "config" / "ga.json", config)
    # A decoy beside the credentials file: the working directory's file wins.
    write_json(tmp_path / "config" / "app" / "ga" / "storage.db", {"not": "the one used"})

    use(credentials_from_config(config, source=str(credentials_path)), google_oauth)

    assert files.storage()["access_token"]
    assert f"key STORAGE_PATH: using {tmp_path}/app/ga/storage.db, relative to the working directory" in caplog.text


def test_a_relative_path_found_nowhere_names_both_places_looked_in(tmp_path: Path) -> None:
    config = {"SERVICE_ACCOUNT_KEY": "keys/service-account.json"}
    credentials_path = write_json(tmp_path / "config" / "ga.json", config)

    with pytest.raises(ConfigurationError) as raised:
        credentials_from_config(config, source=str(credentials_path))

    assert str(raised.value) == (
        f"{credentials_path}: key 'SERVICE_ACCOUNT_KEY': the service-account key file keys/service-account.json "
        f"does not exist, neither in the working directory {tmp_path} nor beside the credentials file, in "
        f"{tmp_path / 'config'}"
    )


def test_a_web_client_secrets_file_is_accepted(
    google_user_credentials: UserCredentialsFiles, google_oauth: GoogleOAuthStandIn
) -> None:
    write_json(
        google_user_credentials.client_secrets_path,
        google_oauth.client_secrets(google_user_credentials.client, kind="web"),
    )

    use(load(google_user_credentials), google_oauth)

    assert google_oauth.refreshes == 1


# Secrets ------------------------------------------------------------------------------------------------


def test_no_secret_reaches_a_log_line_or_an_error(
    tmp_path: Path,
    google_user_credentials: UserCredentialsFiles,
    google_oauth: GoogleOAuthStandIn,
    google_service_account: ServiceAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    google_logs = _Collect()
    google_logger = logging.getLogger("google")
    google_logger.addHandler(google_logs)
    previous_level = google_logger.level
    google_logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    try:
        # A refresh after a retry, a refresh after a 401, a service-account grant, an invalid_grant.
        google_oauth.fail_next(503)
        user = load(google_user_credentials)
        use(user, google_oauth)
        google_oauth.expire_access_tokens()
        use(user, google_oauth)
        (tmp_path / "key.p12").write_bytes(google_service_account.key.p12())
        service = credentials_from_config(
            {
                "ACCOUNT_NAME": google_service_account.email,
                "PRIVATE_KEY": "key.p12",
                "TOKEN_URI": google_oauth.token_url,
            }
        )
        use(service, google_oauth)
        google_oauth.revoke_refresh_token(google_user_credentials.refresh_token)
        google_oauth.expire_access_tokens()
        with pytest.raises(FatalUpstreamError) as raised:
            use(load(google_user_credentials), google_oauth)
        errors.append(str(raised.value))
    finally:
        google_logger.removeHandler(google_logs)
        google_logger.setLevel(previous_level)

    secrets = [
        google_user_credentials.refresh_token,
        google_user_credentials.client.client_secret,
        *google_oauth.issued,  # every access token handed out
        *google_service_account.key.secret_fragments(),
    ]
    assert len(google_oauth.issued) == 3
    assert refresh_log_lines(caplog)  # the logs were captured at all
    outputs = {
        "log text": caplog.text,
        "log records": "\n".join(repr(vars(record)) for record in caplog.records),
        "google-auth records": "\n".join(repr(vars(record)) for record in google_logs.records),
        "errors": "\n".join(errors),
    }
    for where, text in outputs.items():
        for secret in secrets:
            assert secret not in text, f"a secret reached the {where}"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_stored_token_is_valid_until_the_margin_before_its_expiry(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient
) -> None:
    # Four minutes left: google-auth would refresh at once (3 min 45 s margin), so it is not used.
    with freeze_time("2014-05-16T11:56:00Z"):
        refresh_token = google_oauth.add_refresh_token(google_oauth_client)
        files = write_user_credentials(
            tmp_path / "creds",
            google_oauth,
            google_oauth_client,
            storage=oauth2client_tokens(
                google_oauth_client,
                refresh_token,
                token_uri=google_oauth.token_url,
                access_token=google_oauth.issue_access_token(),
                expiry=datetime(2014, 5, 16, 12, 0, 0),
            ),
        )
        credentials = load(files)

        assert not credentials.valid
        use(credentials, google_oauth)
        assert credentials.expiry == datetime(2014, 5, 16, 12, 56, 0)

    assert google_oauth.refreshes == 1


# The stand-in's own checks, which other stand-ins and tests rely on ----------------------------------


def post_token(google_oauth: GoogleOAuthStandIn, **form: str) -> tuple[int, dict[str, Any]]:
    session = requests.Session()
    session.trust_env = False
    try:
        response = session.post(google_oauth.token_url, data=form, timeout=10)
    finally:
        session.close()
    return response.status_code, response.json()


def signed_assertion(key: GoogleKeyPair, **claims: Any) -> str:
    def encode(part: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")

    signing_input = f"{encode({'alg': 'RS256', 'typ': 'JWT'})}.{encode(claims)}"
    signature = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({"aud": "https://example.com/token"}, "invalid_grant", "Failed audience check"),
        ({"iat": 1_000_000_000, "exp": 1_000_003_600}, "invalid_grant", "short-lived token"),
        ({"iss": "stranger@example.iam.gserviceaccount.com"}, "invalid_grant", "account not found"),
        ({"scope": ""}, "invalid_scope", "Invalid OAuth scope"),
    ],
    ids=["audience", "expired", "unknown-account", "no-scope"],
)
def test_the_stand_in_checks_jwt_bearer_claims(
    google_oauth: GoogleOAuthStandIn,
    google_service_account: ServiceAccount,
    claims: dict[str, Any],
    error: str,
    description: str,
) -> None:
    now = int(time.time())
    good = {
        "iss": google_service_account.email,
        "scope": SCOPE,
        "aud": "https://oauth2.googleapis.com/token",
        "iat": now,
        "exp": now + 3600,
    }
    assert (
        post_token(google_oauth, grant_type=JWT_BEARER, assertion=signed_assertion(google_service_account.key, **good))[
            0
        ]
        == 200
    )

    status, body = post_token(
        google_oauth,
        grant_type=JWT_BEARER,
        assertion=signed_assertion(google_service_account.key, **{**good, **claims}),
    )

    assert status == 400
    assert body["error"] == error
    assert description in body["error_description"]


def test_the_stand_in_accepts_only_tokens_it_issued_unexpired_and_with_the_scope(
    google_oauth: GoogleOAuthStandIn,
) -> None:
    readonly = google_oauth.issue_access_token(scopes=[SCOPE])
    full = google_oauth.issue_access_token(scopes=[ANALYTICS])
    other = google_oauth.issue_access_token(scopes=["https://www.googleapis.com/auth/drive"])

    assert google_oauth.is_valid_access_token(readonly, SCOPE)
    assert google_oauth.is_valid_access_token(full, SCOPE)  # the full scope covers readonly
    assert google_oauth.is_valid_access_token(other)
    assert not google_oauth.is_valid_access_token(other, SCOPE)
    assert not google_oauth.is_valid_access_token("ya29.made-up")
    google_oauth.expire_access_tokens()
    assert not google_oauth.is_valid_access_token(readonly)


def test_the_stand_in_answers_a_bad_bearer_token_as_google_apis_do(google_oauth: GoogleOAuthStandIn) -> None:
    session = requests.Session()
    session.trust_env = False
    try:
        response = session.get(google_oauth.userinfo_url, headers={"Authorization": "Bearer ya29.made-up"}, timeout=10)
    finally:
        session.close()

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    error = response.json()["error"]
    assert error["code"] == 401
    assert error["status"] == "UNAUTHENTICATED"
    assert error["errors"][0]["reason"] == "authError"


def test_the_stand_in_refuses_a_code_twice_and_a_wrong_code_verifier(
    google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient
) -> None:
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")

    def code() -> str:
        session = requests.Session()
        session.trust_env = False
        try:
            response = session.get(
                google_oauth.auth_url,
                params={
                    "response_type": "code",
                    "client_id": google_oauth_client.client_id,
                    "redirect_uri": "http://localhost:1/",
                    "scope": SCOPE,
                    "state": "s",
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                },
                allow_redirects=False,
                timeout=10,
            )
        finally:
            session.close()
        assert response.status_code == 302
        return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]

    exchange = {
        "grant_type": "authorization_code",
        "client_id": google_oauth_client.client_id,
        "client_secret": google_oauth_client.client_secret,
        "redirect_uri": "http://localhost:1/",
    }
    first = code()
    assert post_token(google_oauth, **exchange, code=first, code_verifier=verifier)[0] == 200
    assert post_token(google_oauth, **exchange, code=first, code_verifier=verifier) == (
        400,
        {"error": "invalid_grant", "error_description": "Malformed auth code."},
    )
    status, body = post_token(google_oauth, **exchange, code=code(), code_verifier="w" * 64)
    assert (status, body["error"]) == (400, "invalid_grant")
    assert google_oauth.count("authorization_code") == 1


def test_a_client_secrets_repr_leaves_the_secret_out() -> None:
    from performanceplatform.collector.ga.auth import parse_client_secrets

    client = parse_client_secrets(
        {"installed": {"client_id": "id.apps.googleusercontent.com", "client_secret": "s3cr3t-client-value"}},
        source="client_secrets.json",
    )
    assert client.client_secret == "s3cr3t-client-value"
    assert "s3cr3t-client-value" not in repr(client)
