"""The JSON-over-HTTP client against a stand-in: timeouts, faults, transport security, redaction."""

from __future__ import annotations

import gzip
import json
import logging

import pytest

from performanceplatform.collector.errors import ConfigurationError, FatalUpstreamError, RetryableError
from performanceplatform.collector.http import HttpClient, Timeouts, require_secure_transport
from performanceplatform.collector.redaction import (
    PLACEHOLDER,
    RedactingFilter,
    forget_all_secrets,
    redact,
    register_secret,
    register_secrets_in,
)
from performanceplatform.collector.retry import RetryPolicy
from performanceplatform.collector.standins.server import RecordedRequest, Response, StandIn, route


class Echo(StandIn):
    name = "echo"

    @route("GET", r"/things/(?P<name>\w+)")
    def thing(self, request: RecordedRequest, name: str) -> Response:
        return Response(200, {"name": name})

    @route("GET", r"/gzipped/(?P<name>\w+)")
    def gzipped(self, request: RecordedRequest, name: str) -> Response:
        return Response(200, gzip.compress(json.dumps({"name": name}).encode()),
                        {"Content-Encoding": "gzip", "Content-Type": "application/json"})


@pytest.fixture
def echo():
    with Echo() as server:
        yield server


def client(**settings) -> HttpClient:
    return HttpClient("Echo", retry=RetryPolicy(base_delay=0.001, max_attempts=3), **settings)


@pytest.mark.parametrize("fault", ["fail_next", "drop_next", "reset_next"])
def test_transient_faults_are_retried(echo, fault):
    if fault == "fail_next":
        echo.fail_next(503, times=2)
    else:
        getattr(echo, fault)(times=2)
    assert client().get_json(f"{echo.url}/things/a") == {"name": "a"}
    assert len(echo.requests) == 3


def test_a_slow_server_times_out_and_is_retried(echo):
    echo.delay_next(1.0)
    fast = client(timeouts=Timeouts(connect=1, read=0.2))
    assert fast.get_json(f"{echo.url}/things/b") == {"name": "b"}
    assert len(echo.requests) == 2


def test_a_gzipped_answer_is_decoded(echo):
    http = client()
    assert http.get_json(f"{echo.url}/gzipped/g") == {"name": "g"}
    assert echo.requests[0].header("Accept-Encoding") == "gzip, deflate"
    # The next request goes out on the connection kept alive, and reads as well.
    assert http.get_json(f"{echo.url}/things/h") == {"name": "h"}
    http.close()


def test_client_errors_fail_at_once_with_the_servers_message(echo):
    echo.fail_next(403, body={"status": "error", "message": "Forbidden: wrong team"})
    with pytest.raises(FatalUpstreamError, match="Echo answered 403: Forbidden: wrong team"):
        client().get_json(f"{echo.url}/things/c")
    assert len(echo.requests) == 1


def test_retries_are_bounded(echo):
    echo.fail_next(500, times=10)
    with pytest.raises(RetryableError, match="Echo answered 500"):
        client().get_json(f"{echo.url}/things/d")
    assert len(echo.requests) == 3


def test_each_request_is_logged_with_status_and_size(echo, caplog):
    caplog.set_level(logging.DEBUG)
    client().get_json(f"{echo.url}/things/e")
    assert any("GET http://127.0.0.1" in m and "-> 200" in m and "bytes received" in m for m in caplog.messages)


def test_a_caller_that_logs_its_own_line_hears_only_of_failures(echo, caplog):
    caplog.set_level(logging.INFO)
    echo.fail_next(503)
    client().request("GET", f"{echo.url}/things/f", log_success=False)
    answers = [m for m in caplog.messages if "GET http://127.0.0.1" in m and "->" in m]
    assert len(answers) == 1 and "-> 503" in answers[0]


def test_a_plain_http_url_is_refused_on_every_request_and_allowed_with_one_warning(caplog, monkeypatch):
    # A client remembers the URLs it found safe, never the ones it refused.
    url = "http://pp-collector-test.invalid:9/things"  # .invalid never resolves (RFC 2606)
    refusing = client()
    for _ in range(2):
        with pytest.raises(ConfigurationError, match="refusing to send Echo credentials over plain http"):
            refusing.request("GET", url)
    monkeypatch.setenv("PP_COLLECTOR_ALLOW_INSECURE_HTTP", "true")
    caplog.set_level(logging.WARNING)
    allowing = client()
    for _ in range(2):
        with pytest.raises(RetryableError, match="could not reach Echo"):
            allowing.request("GET", url)
    assert sum("over plain http" in m for m in caplog.messages) == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://www.performance.service.gov.uk/data", True),
        ("http://127.0.0.1:8080/data", True),
        ("http://localhost/data", True),
        ("http://[::1]:80/data", True),
        ("http://stagecraft.development.performance.service.gov.uk", False),
        ("http://10.0.0.5/data", False),
    ],
)
def test_credentials_only_travel_over_https_or_to_loopback(url, allowed):
    if allowed:
        require_secure_transport(url, "a token", environ={})
    else:
        with pytest.raises(ConfigurationError, match="refusing to send a token over plain http"):
            require_secure_transport(url, "a token", environ={})
        require_secure_transport(url, "a token", environ={"PP_COLLECTOR_ALLOW_INSECURE_HTTP": "true"})


def test_registered_secrets_are_redacted_from_text_and_log_records():
    forget_all_secrets()
    register_secret("s3cr3t-token")
    register_secrets_in({"user": "me", "password": "hunter22", "nested": {"api_token": "abc-123"}})
    assert redact("Bearer s3cr3t-token and hunter22 and abc-123 for me") == (
        f"Bearer {PLACEHOLDER} and {PLACEHOLDER} and {PLACEHOLDER} for me"
    )
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s", ("s3cr3t-token",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == f"token {PLACEHOLDER}"
    forget_all_secrets()


def test_places_in_credentials_files_are_not_taken_for_secrets():
    forget_all_secrets()
    register_secrets_in({
        "CLIENT_SECRETS": {"installed": {"client_secret": "shh-client", "token_uri": "https://oauth2.example/token"}},
        "STORAGE_PATH": "/etc/pp/storage.db",
        "PRIVATE_KEY": "/etc/pp/key.p12",
        "TOKEN_URI": "https://oauth2.example/token",
        "api_url": "https://api.example/",
    })
    assert redact("https://oauth2.example/token /etc/pp/key.p12 /etc/pp/storage.db shh-client") == (
        f"https://oauth2.example/token /etc/pp/key.p12 /etc/pp/storage.db {PLACEHOLDER}"
    )
    forget_all_secrets()


def test_a_request_is_detail_and_a_refusal_is_news(echo, caplog):
    caplog.set_level(logging.DEBUG)
    echo.fail_next(503)
    client().get_json(f"{echo.url}/things/g")
    answers = [(r.levelname, r.getMessage()) for r in caplog.records if r.getMessage().startswith("GET http://127")]
    assert [(level, "-> 503" in message) for level, message in answers] == [("INFO", True), ("DEBUG", False)]
