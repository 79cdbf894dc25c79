"""One Backdrop data set's requests: a POST of a chunk of records, the PUT that empties it.

`DataSet` is the original `performanceplatform-client` DataSet's transport, with its bugs fixed:
every request has timeouts and goes through the project's one retry policy (`HttpClient`:
connection errors, timeouts, 429 and 5xx retried with backoff, honouring Retry-After; other 4xx
fail at once with Backdrop's own message, its 401 cleaned of the token it quotes); a retried
request resends the whole (possibly gzipped) body, where the original sent an empty one; a dry run
prints the exact request on stdout, token redacted, and sends nothing. Chunking, checking and
keeping count of what landed is the sink's (`backdrop.sink`).

Retrying a POST is safe for records with an `_id` (Backdrop upserts by `_id`); a record without one
gets a fresh id each time it is stored, so a chunk whose answer was lost may be stored twice.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

from performanceplatform.collector.context import DATA_SET_CONFIG_SOURCE, DataSetTarget
from performanceplatform.collector.errors import ConfigurationError, FatalUpstreamError, RetryableError
from performanceplatform.collector.http import (
    USER_AGENT,
    HttpClient,
    HttpResponse,
    default_classify,
    require_secure_transport,
    url_for_log,
)
from performanceplatform.collector.redaction import PLACEHOLDER, redact, register_secret

log = logging.getLogger(__name__)

SERVICE = "Backdrop"
# Bodies longer than this are gzipped, as the original client did.
GZIP_THRESHOLD = 2048
# Backdrop decompresses at most this much and answers 413 beyond it.
MAX_DECOMPRESSED_BODY = 10 * 1024 * 1024


@dataclass(frozen=True)
class PreparedRequest:
    """One request, ready to go: its headers, and its body as JSON and as sent (gzipped when large)."""

    method: str
    # Not in the repr: they carry the bearer token.
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    payload: bytes = field(repr=False)

    @property
    def gzipped(self) -> bool:
        return self.payload is not self.body


def classify_backdrop_response(service: str, response: HttpResponse) -> None:
    """`default_classify`, with a hint for 413 and the token redacted from Backdrop's messages.

    Backdrop's 401 message quotes the token it was sent, so the error must be cleaned before it
    reaches a log line, an exception message or cron mail.
    """
    if response.status_code == 413:
        raise FatalUpstreamError(
            f"{service} answered 413: the request body is larger than Backdrop accepts "
            f"({MAX_DECOMPRESSED_BODY // (1024 * 1024)} MiB of JSON once decompressed); "
            "lower chunk-size",
            service=service,
            status=413,
        )
    try:
        default_classify(service, response)
    except RetryableError as error:
        raise RetryableError(
            redact(str(error)),
            service=error.service,
            status=error.status,
            retry_after=error.retry_after,
        ) from None
    except FatalUpstreamError as error:
        raise FatalUpstreamError(redact(str(error)), service=error.service, status=error.status) from None


class DataSet:
    """One Backdrop data set, written to with its own bearer token.

    All requests of one `DataSet` carry the same `Govuk-Request-Id` (one per run, since a run
    builds one `DataSet`), so Backdrop's logs tie a run's chunks and their retries together.
    Safe to share between threads (the courier sends what the pushing thread prepared).
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        dry_run: bool = False,
        name: str | None = None,
        data_type: str | None = None,
        http: HttpClient | None = None,
        stdout: TextIO | None = None,
        request_id: str | None = None,
        connections: int | None = None,
    ):
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise ConfigurationError(
                f"expected an http:// or https:// URL, got {url!r}", source=DATA_SET_CONFIG_SOURCE, key="url"
            )
        if token is not None and not isinstance(token, str):
            raise ConfigurationError(
                f"expected a string, got a {type(token).__name__}", source=DATA_SET_CONFIG_SOURCE, key="token"
            )
        register_secret(token)
        self.url = url.rstrip("/")
        self.token = token
        self.dry_run = dry_run
        self.name = name or url_for_log(self.url)
        self.data_type = data_type
        # 128 random bits, as a uuid4 has, without importing uuid (and platform) in every run.
        self.request_id = request_id or f"pp-collector-{os.urandom(16).hex()}"
        self._stdout = stdout
        self._http: HttpClient | None = None
        if not dry_run:
            if not token:
                raise ConfigurationError(
                    "expected the data set's bearer token (a non-empty string)",
                    source=DATA_SET_CONFIG_SOURCE,
                    key="token",
                )
            # Fail before an hour of collecting, not at push time.
            require_secure_transport(self.url, "the Backdrop token")
            # A connection for each chunk that may be on its way at once.
            self._http = http or HttpClient(
                SERVICE, classify=classify_backdrop_response, pool_size=connections, source=False
            )

    @classmethod
    def from_target(
        cls, target: DataSetTarget, *, http: HttpClient | None = None, stdout: TextIO | None = None
    ) -> DataSet:
        """The data set a run writes to (`RunContext.data_set`)."""
        return cls(
            target.url,
            target.token,
            dry_run=target.dry_run,
            name=target.name if target.data_group and target.data_type else None,
            data_type=target.data_type or None,
            http=http,
            stdout=stdout,
            connections=target.push_concurrency,
        )

    @classmethod
    def from_config(
        cls, data_set_config: Mapping[str, Any], *, http: HttpClient | None = None, stdout: TextIO | None = None
    ) -> DataSet:
        """From the `data_set_config` dict the original gave collectors (see `DataSetTarget`)."""
        return cls.from_target(DataSetTarget.from_collector_config(data_set_config), http=http, stdout=stdout)

    def prepare(self, method: str, body: bytes) -> PreparedRequest:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Govuk-Request-Id": self.request_id,
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = body
        if len(body) > GZIP_THRESHOLD:
            # mtime=0 keeps the bytes reproducible. The bytes object is reused as it is by every
            # attempt of the retry policy, so a retry resends the whole body. Level 1: records
            # are repetitive JSON, so it compresses nearly as well as 9 (5% against 4.6%) in a
            # ninth of the time, which a backfill of a million records notices.
            import gzip

            payload = gzip.compress(body, compresslevel=1, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return PreparedRequest(method, headers, body, payload)

    def send(self, request: PreparedRequest) -> int | None:
        """Send (or, in a dry run, print) one request; its status, or None in a dry run."""
        if self._http is None:
            self._print(request)
            return None
        # The sink logs each chunk that landed; the client logs every failed attempt.
        response = self._http.request(
            request.method, self.url, headers=request.headers, body=request.payload, log_success=False
        )
        return response.status_code

    def probe(self) -> int:
        """Prove that Backdrop answers at the data set's URL and takes its token, storing nothing:
        an empty list of records is answered 200, after the data set and the token are checked."""
        http = self._http or HttpClient(SERVICE, classify=classify_backdrop_response, source=False)
        require_secure_transport(self.url, "the Backdrop token")
        request = self.prepare("POST", b"[]")
        return http.request("POST", self.url, headers=request.headers, body=request.payload).status_code

    def empty(self) -> None:
        """Remove every record of the data set (PUT `[]`, the only PUT Backdrop supports)."""
        started = time.monotonic()
        status = self.send(self.prepare("PUT", b"[]"))
        if status is not None:
            log.info("emptied Backdrop data set %s: status %d, %.3f s", self.name, status, time.monotonic() - started)

    def _print(self, request: PreparedRequest) -> None:
        shown: Mapping[str, str] = dict(request.headers)
        if "Authorization" in shown:
            shown = {**shown, "Authorization": f"Bearer {PLACEHOLDER}"}
        lines = [f"{request.method} {url_for_log(self.url)}"]
        lines.extend(f"{name}: {value}" for name, value in shown.items())
        lines.extend(["", request.body.decode("utf-8"), ""])
        out = self._stdout if self._stdout is not None else sys.stdout
        out.write(redact("\n".join(lines)) + "\n")
        out.flush()
