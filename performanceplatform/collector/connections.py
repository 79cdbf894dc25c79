"""Keep-alive connections to one origin, shared by threads: the transport under `http.HttpClient`.

The standard library's `http.client` does the HTTP; this keeps idle connections for reuse, checks
that the server has not closed one before reusing it, opens each with the connect timeout and
reads with the read timeout, verifies https against the CA bundle requests used (certifi), and
decodes gzip and deflate bodies. It answers nothing itself: no redirects are followed and nothing
is retried (the caller's retry policy does that), and no proxy settings or .netrc are read from
the environment, so nothing there can redirect credentials. It replaced urllib3, whose import
alone cost a realtime run every two minutes more than the rest of its HTTP work.

Failures are `TransportError`s: `ConnectTimeout` or `ReadTimeout` when a timeout ran out, `Unreachable`
otherwise (refused, reset, dropped, a TLS failure, a body cut short or undecodable), each with the
underlying error as its context.
"""

from __future__ import annotations

import http.client
import select
import threading
import weakref
import zlib
from collections.abc import Mapping
from typing import Any

# What an answer's body can be encoded with, here (as the Accept-Encoding header says).
ACCEPTED_ENCODINGS = "gzip, deflate"


class TransportError(Exception):
    """The request got no complete answer."""


class ConnectTimeout(TransportError):
    pass


class ReadTimeout(TransportError):
    pass


class Unreachable(TransportError):
    pass


class Answer:
    """A response read in full: status, reason, headers (name, value pairs) and decoded body."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body


class OriginPool:
    """Connections to one `scheme://host:port`; thread-safe. Keeps up to `max_idle` idle ones."""

    def __init__(self, scheme: str, host: str, port: int | None, *, connect: float, read: float, max_idle: int):
        self.scheme, self.host, self.port = scheme, host, port
        self.connect_timeout, self.read_timeout = connect, read
        self.max_idle = max_idle
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        # A client dropped without close() still closes its idle connections.
        weakref.finalize(self, _close_all, self._idle)

    def request(self, method: str, target: str, body: bytes | None, headers: Mapping[str, str]) -> Answer:
        """Send one request on an idle connection (or a new one) and read the whole answer."""
        connection = self._take()
        try:
            if connection.sock is None:
                self._connect(connection)
            try:
                connection.request(method, target, body=body, headers=dict(headers))
                response = connection.getresponse()
                data = response.read()
            except TimeoutError as error:
                raise ReadTimeout(str(error)) from error
            except (OSError, http.client.HTTPException) as error:
                raise Unreachable(str(error) or type(error).__name__) from error
            answer = Answer(response.status, response.reason or "", response.getheaders(), _decoded(response, data))
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._give_back(connection)
        return answer

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _take(self) -> http.client.HTTPConnection:
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if not _closed_by_server(connection):
                    return connection
                connection.close()
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.connect_timeout, context=_tls())
        return http.client.HTTPConnection(self.host, self.port, timeout=self.connect_timeout)

    def _connect(self, connection: http.client.HTTPConnection) -> None:
        try:
            connection.connect()  # the TLS handshake too, within the connect timeout
        except TimeoutError as error:
            raise ConnectTimeout(str(error)) from error
        except OSError as error:
            raise Unreachable(str(error) or type(error).__name__) from error
        assert connection.sock is not None
        connection.sock.settimeout(self.read_timeout)

    def _give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(connection)
                return
        connection.close()


def _close_all(connections: list[http.client.HTTPConnection]) -> None:
    for connection in list(connections):
        connection.close()


def _closed_by_server(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle keep-alive connection can no longer be used: readable with nothing asked
    means the server closed it (or sent what nobody asked for)."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _decoded(response: http.client.HTTPResponse, data: bytes) -> bytes:
    coding = (response.getheader("Content-Encoding") or "").strip().lower()
    if not coding or coding == "identity" or not data:
        return data
    try:
        if coding in ("gzip", "x-gzip"):
            return zlib.decompress(data, 16 + zlib.MAX_WBITS)
        if coding == "deflate":
            try:
                return zlib.decompress(data)
            except zlib.error:
                return zlib.decompress(data, -zlib.MAX_WBITS)  # raw deflate, as some servers send it
    except zlib.error as error:
        raise Unreachable(f"the {coding} body could not be decoded: {error}") from error
    return data


_TLS_LOCK = threading.Lock()
_TLS_CONTEXT: Any = None


def _tls() -> Any:
    """The TLS settings of every https connection, made once: certificates and host names checked
    against the CA bundle requests used, so what is trusted does not change."""
    global _TLS_CONTEXT
    with _TLS_LOCK:
        if _TLS_CONTEXT is None:
            import ssl

            import certifi

            _TLS_CONTEXT = ssl.create_default_context(cafile=certifi.where())
        return _TLS_CONTEXT


__all__ = [
    "ACCEPTED_ENCODINGS",
    "Answer",
    "ConnectTimeout",
    "OriginPool",
    "ReadTimeout",
    "TransportError",
    "Unreachable",
]
