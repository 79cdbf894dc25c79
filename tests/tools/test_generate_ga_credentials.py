"""tools/generate-ga-credentials.py, run as a user runs it, against the Google OAuth stand-in.

The client secrets file names the stand-in's `auth_uri` and `token_uri`. The test plays the
browser: it reads the consent URL the tool prints, GETs it, and follows the stand-in's redirect
to the tool's loopback server, as a browser would after the user clicks "Allow".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from performanceplatform.collector.ga.auth import SCOPE, credentials_from_config
from performanceplatform.collector.standins.google_oauth import GoogleOAuthStandIn, OAuthClient
from tests.support.cli import REPO_ROOT
from tests.support.google import write_json

TOOL = REPO_ROOT / "tools" / "generate-ga-credentials.py"
FLOW_TIMEOUT = 30


@pytest.fixture
def client_secrets(tmp_path: Path, google_oauth: GoogleOAuthStandIn, google_oauth_client: OAuthClient) -> Path:
    return write_json(tmp_path / "downloads" / "client_secret.json", google_oauth.client_secrets(google_oauth_client))


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # no proxy between the "browser" and 127.0.0.1
    yield session
    session.close()


def start_tool(*arguments: str, cwd: Path) -> subprocess.Popen[str]:
    environment = {key: value for key, value in os.environ.items() if key != "OAUTHLIB_INSECURE_TRANSPORT"}
    return subprocess.Popen(
        [sys.executable, str(TOOL), *arguments],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def run_tool(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    process = start_tool(*arguments, cwd=cwd)
    stdout, stderr = process.communicate(timeout=FLOW_TIMEOUT)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def printed_url(process: subprocess.Popen[str], prefix: str) -> tuple[str, list[str]]:
    """The consent URL the tool prints, and the lines before it."""
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:
        if line.startswith(prefix):
            return line.strip(), seen
        seen.append(line)
    stderr = process.stderr.read() if process.stderr else ""
    raise AssertionError(f"the tool printed no URL; stdout {seen!r}, stderr {stderr!r}")


def authorise(
    process: subprocess.Popen[str], google_oauth: GoogleOAuthStandIn, browser: requests.Session
) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Open the printed URL as a browser would; return it and the finished tool's output."""
    url, before = printed_url(process, google_oauth.auth_url)
    try:
        # The consent page approves at once and redirects to the tool's loopback server.
        page = browser.get(url, timeout=FLOW_TIMEOUT)
        stdout, stderr = process.communicate(timeout=FLOW_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    assert page.status_code == 200, page.text
    return url, subprocess.CompletedProcess(process.args, process.returncode, "".join(before) + url + stdout, stderr)


def mode_of(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


def test_the_tool_authorises_writes_the_credentials_files_and_they_work(
    tmp_path: Path,
    google_oauth: GoogleOAuthStandIn,
    google_oauth_client: OAuthClient,
    client_secrets: Path,
    browser: requests.Session,
) -> None:
    process = start_tool(str(client_secrets), "--no-browser", cwd=tmp_path)
    url, result = authorise(process, google_oauth, browser)

    assert result.returncode == 0, result.stderr
    consent = parse_qs(urlsplit(url).query)
    assert consent["scope"] == [SCOPE]
    assert consent["access_type"] == ["offline"]
    assert consent["code_challenge_method"] == ["S256"]
    assert consent["redirect_uri"][0].startswith("http://localhost:")
    assert google_oauth.count("authorization_code") == 1
    [exchange] = google_oauth.requests_to("^/token$")
    assert "code_verifier=" in exchange.body.decode()  # PKCE, checked by the stand-in

    creds = tmp_path / "creds"
    credentials_path, storage_path, secrets_copy = (
        creds / "ga.json",
        creds / "ga" / "storage.db",
        creds / "ga" / "client_secret.json",
    )
    config = json.loads(credentials_path.read_text())
    assert config == {"CLIENT_SECRETS": str(secrets_copy), "STORAGE_PATH": str(storage_path)}
    storage = json.loads(storage_path.read_text())
    assert storage["type"] == "authorized_user"
    assert storage["token_uri"] == google_oauth.token_url
    assert storage["client_id"] == google_oauth_client.client_id
    assert storage["client_secret"] == google_oauth_client.client_secret
    assert storage["scopes"] == [SCOPE]
    assert google_oauth.is_valid_access_token(storage["token"], SCOPE)
    assert json.loads(secrets_copy.read_text()) == json.loads(client_secrets.read_text())
    assert mode_of(storage_path) == 0o600
    assert mode_of(secrets_copy) == 0o600
    assert mode_of(creds / "ga") == 0o700
    assert str(credentials_path) in result.stdout
    output = result.stdout + result.stderr
    for secret in (storage["refresh_token"], storage["token"], google_oauth_client.client_secret):
        assert secret not in output

    # pp-collector loads the files as written, and refreshes through the stand-in.
    credentials = credentials_from_config(config, source=str(credentials_path))
    assert credentials.valid and credentials.token == storage["token"]
    credentials.refresh(None)
    assert google_oauth.refreshes == 1
    assert json.loads(storage_path.read_text())["token"] == credentials.token != storage["token"]


def test_existing_files_are_not_overwritten_without_force(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, client_secrets: Path
) -> None:
    existing = write_json(tmp_path / "creds" / "ga.json", {"CLIENT_SECRETS": "mine", "STORAGE_PATH": "mine"})

    result = run_tool(str(client_secrets), "--no-browser", cwd=tmp_path)

    assert result.returncode == 2
    assert "will not overwrite" in result.stderr
    assert str(existing) in result.stderr
    assert "--force" in result.stderr
    assert json.loads(existing.read_text()) == {"CLIENT_SECRETS": "mine", "STORAGE_PATH": "mine"}
    assert google_oauth.requests == []  # nobody was sent to the consent screen for nothing


def test_force_and_output_replace_files_in_another_directory(
    tmp_path: Path,
    google_oauth: GoogleOAuthStandIn,
    client_secrets: Path,
    browser: requests.Session,
) -> None:
    output = tmp_path / "elsewhere"
    write_json(output / "ga" / "storage.db", {"refresh_token": "1//stale"})

    process = start_tool(str(client_secrets), "--no-browser", "--force", "--output", str(output), cwd=tmp_path)
    _, result = authorise(process, google_oauth, browser)

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "creds").exists()
    config = json.loads((output / "ga.json").read_text())
    assert config["STORAGE_PATH"] == str(output / "ga" / "storage.db")
    assert json.loads((output / "ga" / "storage.db").read_text())["refresh_token"] != "1//stale"


def test_a_refused_consent_fails_with_googles_reason_and_writes_nothing(
    tmp_path: Path, google_oauth: GoogleOAuthStandIn, client_secrets: Path, browser: requests.Session
) -> None:
    google_oauth.deny_consent = True

    process = start_tool(str(client_secrets), "--no-browser", cwd=tmp_path)
    _, result = authorise(process, google_oauth, browser)

    assert result.returncode == 1
    assert "access_denied" in result.stderr
    assert not (tmp_path / "creds").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ({"installed": {"client_id": "x"}}, "'installed' has no 'client_secret'"),
        (
            {
                "installed": {
                    "client_id": "x",
                    "client_secret": "y",
                    "auth_uri": "http://accounts.example/auth",
                    "token_uri": "http://accounts.example/token",
                }
            },
            "refusing to send the OAuth client secret over plain http",
        ),
    ],
    ids=["missing", "incomplete", "plain-http"],
)
def test_a_bad_client_secrets_file_is_a_usage_error(tmp_path: Path, content: object, expected: str) -> None:
    path = tmp_path / "client_secret.json"
    if content is not None:
        write_json(path, content)

    result = run_tool(str(path), "--no-browser", cwd=tmp_path)

    assert result.returncode == 2
    assert expected in result.stderr
    assert not (tmp_path / "creds").exists()


def run_tool_without_the_tools_extra(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The tool in an interpreter where google-auth-oauthlib cannot be imported, as after a plain
    `pip install pp-collector` (a None in sys.modules makes every import of it fail)."""
    launcher = (
        "import runpy, sys\n"
        "sys.modules['google_auth_oauthlib'] = None\n"
        "sys.argv = sys.argv[1:]\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    return subprocess.run([sys.executable, "-c", launcher, str(TOOL), *arguments], cwd=cwd, capture_output=True,
                          text=True, timeout=FLOW_TIMEOUT, check=False)


def test_without_the_tools_extra_the_tool_says_which_extra_to_install(client_secrets: Path, tmp_path: Path) -> None:
    result = run_tool_without_the_tools_extra(str(client_secrets), "--no-browser", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == (
        "tools/generate-ga-credentials.py: needs google-auth-oauthlib (no module named 'google_auth_oauthlib'), which "
        "pp-collector installs only with its 'tools' extra: pip install 'pp-collector[tools]' (in a checkout: "
        "pip install '.[tools]')\n"
    )
    assert result.stdout == ""
    assert not (tmp_path / "creds").exists()
    # Its help needs nothing of the extra.
    helped = run_tool_without_the_tools_extra("--help", cwd=tmp_path)
    assert (helped.returncode, helped.stderr) == (0, "")
    assert "usage: " in helped.stdout
