"""Matomo's Reporting API (Piwik's before 2018): where it is, how to ask it, what its errors mean.

Three parts, one job each: `connection_from_credentials` reads a credentials file's `url` and
`token_auth`; `classify` decides whether an HTTP answer is worth retrying (429, 5xx) or fatal
(401 and any other error status); `MatomoClient.call` asks one question and reads Matomo's own
error answers, which come back as `{"result": "error", "message": ...}`, usually with status 200.

Every request is `POST {url}?module=API&method=...&idSite=...` with `token_auth` alone in a
form-encoded body. Matomo 5 accepts the tokens it creates only there by default ("secure only"
tokens), and Piwik 1.x and 2.x read a POST body as well as the query string, so one form works
for every version; the token never appears in a URL, so neither in Matomo's access logs nor in
ours. Requests go through the shared `HttpClient`: timeouts, a log line each, the refusal to send
a token over plain http and the one retry policy.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from performanceplatform.collector.context import RunContext
from performanceplatform.collector.errors import (
    ConfigurationError,
    FatalUpstreamError,
    RetryableError,
    problems_of,
)
from performanceplatform.collector.http import (
    HttpClient,
    HttpResponse,
    error_message_from_body,
    require_secure_transport,
    retry_after_seconds,
    url_for_log,
    url_with_params,
)
from performanceplatform.collector.redaction import register_secret

log = logging.getLogger(__name__)

SERVICE = "Matomo"
REQUIRED_KEYS = ("url", "token_auth")
EXPECTED_SHAPE = (
    'expected {"url": "<the Matomo address, such as https://matomo.example.gov.uk/index.php>", '
    '"token_auth": "<an API token of a user who may view the site>"}'
)
# What Matomo says when the visits log (and with it the Live API) is switched off, globally or for
# one website: "Visits log is deactivated globally. ..." / "... deactivated for this website".
VISITS_LOG_DISABLED = "visits log is deactivated"
# The API module that went in Piwik 2.14; a query naming it gets a hint where its reports went.
REMOVED_MODULE = "UserSettings."


@dataclass(frozen=True)
class Connection:
    """Where one Matomo is and the token to ask it with."""

    url: str
    token_auth: str = field(repr=False)


def connection_from_credentials(credentials: Mapping[str, Any], *, source: str = "credentials file") -> Connection:
    """The Matomo address and token of a credentials file (`source` names it): `{"url", "token_auth"}`,
    both required.

    The token is registered for redaction before anything can log it.
    """
    if not isinstance(credentials, Mapping):
        raise ConfigurationError(f"{EXPECTED_SHAPE}; got {type(credentials).__name__}", source=source)
    register_secret(credentials.get("token_auth"))
    missing = [key for key in REQUIRED_KEYS if key not in credentials]
    if missing:
        raise ConfigurationError(
            f"missing {' and '.join(repr(key) for key in missing)}: {EXPECTED_SHAPE}", source=source
        )
    token = credentials["token_auth"]
    if not isinstance(token, str) or not token:
        # The value is not shown: it is a password.
        raise ConfigurationError(
            f"expected the API token as a non-empty string, got {type(token).__name__}",
            source=source,
            key="token_auth",
        )
    url = credentials["url"]
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            "expected the Matomo address, an http:// or https:// URL such as "
            f"https://matomo.example.gov.uk/index.php, got {url!r}",
            source=source,
            key="url",
        )
    try:
        require_secure_transport(url, "the Matomo token_auth")
    except ConfigurationError as error:
        raise ConfigurationError(error.detail, source=source, key="url") from None
    return Connection(url, token)


def classify(service: str, response: HttpResponse, *, credentials_source: str = "the credentials file") -> None:
    """Matomo's `classify` hook for `HttpClient`.

    429 (Matomo Cloud's rate limit) and 5xx are retryable, after `Retry-After` when the answer
    gives one; anything else that is not 2xx is fatal, with Matomo's own message. A 2xx may still
    carry an error (`result: error`): `MatomoClient.call` reads that, since it is no reason to retry.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    message = f"{service} answered {status}: {error_message_from_body(response)}"
    if status == 429 or status >= 500:
        raise RetryableError(message, service=service, status=status, retry_after=retry_after_seconds(response))
    if status == 401:
        message += f"; check token_auth in {credentials_source} (a token of a user who may view the site)"
    raise FatalUpstreamError(message, service=service, status=status)


class MatomoClient:
    """One Matomo, asked through its Reporting API."""

    def __init__(
        self,
        connection: Connection,
        http: HttpClient | None = None,
        *,
        credentials_source: str = "the credentials file",
        pool_size: int | None = None,
    ):
        self.connection = connection
        self.http = http or HttpClient(
            SERVICE, classify=functools.partial(classify, credentials_source=credentials_source), pool_size=pool_size
        )

    @classmethod
    def from_credentials(
        cls, credentials: Mapping[str, Any], *, source: str = "credentials file", pool_size: int | None = None
    ) -> MatomoClient:
        return cls(connection_from_credentials(credentials, source=source), credentials_source=source,
                   pool_size=pool_size)

    def call(self, parameters: Mapping[str, Any]) -> Any:
        """Matomo's answer to one API request (`method`, `idSite`, ... as given), parsed.

        The parameters go in the query string, where the log line shows what was asked; the token
        goes in the body.
        """
        method = parameters.get("method")
        url = url_with_params(self.connection.url, {"module": "API", **parameters})
        response = self.http.request(
            "POST",
            url,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode({"token_auth": self.connection.token_auth}).encode("ascii"),
        )
        try:
            answer = response.json()
        except ValueError:
            raise FatalUpstreamError(
                f"{SERVICE} answered {method} with a body that is not JSON (is {url_for_log(self.connection.url)} the "
                f"address of Matomo's index.php?): {' '.join(response.text.split())[:200]!r}",
                service=SERVICE,
                status=response.status_code,
            ) from None
        if isinstance(answer, dict) and answer.get("result") == "error":
            raise FatalUpstreamError(
                api_error_message(method, parameters.get("idSite"), answer.get("message")),
                service=SERVICE,
                status=response.status_code,
            )
        return answer


def api_error_message(method: Any, site_id: Any, message: Any) -> str:
    """One line for an error Matomo answered, in its own words, with what to do where we know."""
    said = " ".join(str(message or "no message").split())
    asked = f"{method} for site {site_id}"
    if VISITS_LOG_DISABLED in said.lower():
        return (
            f"{SERVICE}'s visits log is disabled, so it cannot answer {asked} (realtime counts come "
            f"from the visits log): {said} Enable it again in Matomo's general settings or the "
            "website's settings, or stop this collector"
        )
    hint = ""
    if isinstance(method, str) and method.startswith(REMOVED_MODULE):
        hint = (
            " (the UserSettings API was removed in Piwik 2.14: its reports are in DevicesDetection, "
            "Resolution, DevicePlugins and UserLanguage now)"
        )
    return f"{SERVICE} answered {asked} with an error: {said}{hint}"


def client_for(context: RunContext) -> MatomoClient:
    """The Matomo the run's credentials file names, asked with its token."""
    return MatomoClient.from_credentials(context.credentials, source=context.credentials_source,
                                         pool_size=context.concurrency)


def credentials_problems(context: RunContext) -> list[str]:
    """`--check`: whether the credentials file names a Matomo and a token (nothing sent)."""
    if not context.credentials_loaded:
        return []  # the file itself has been reported
    return problems_of(lambda: connection_from_credentials(context.credentials, source=context.credentials_source))
