"""Keep-alive HTTP/1.1 connections to one origin, shared by threads: the transport under `http.HttpClient`.

This writes each request in one piece and reads its answer itself: the status line, the headers,
and a body framed by `Content-Length`, by chunks, or by the server closing the connection (none
for HEAD, 1xx, 204 and 304), as RFC 9112 §6 reads them. The standard library's `http.client`
did this before; its header parsing (the `email` package, a parser object per answer) cost more
CPU than the rest of a request, which a push of a million records (10,000 POSTs) notices. It
keeps idle connections for reuse, checks that the server has not closed one before reusing it,
opens each with the connect timeout and reads with the read timeout, verifies https against the
CA bundle requests used (certifi), and decodes gzip and deflate bodies. It answers nothing
itself: no redirects are followed and nothing is retried (the caller's retry policy does that),
and no proxy settings or .netrc are read from the environment, so nothing there can redirect
credentials. It replaced urllib3, whose import alone cost a realtime run every two minutes more
than the rest of its HTTP work.

Failures are `TransportError`s: `ConnectTimeout` or `ReadTimeout` when a timeout ran out, `Unreachable`
otherwise (refused, reset, dropped, a TLS failure, an answer that is not HTTP, a body cut short or
undecodable), each with the underlying error as its context.
"""

from __future__ import annotations

import re
import select
import socket
import threading
import weakref
import zlib
from collections.abc import Mapping
from typing import Any, BinaryIO

# What an answer's body can be encoded with, here (as the Accept-Encoding header says).
ACCEPTED_ENCODINGS = "gzip, deflate"
# The longest status, header or chunk-size line read, and the most header lines (http.client's limits).
MAX_LINE = 65536
MAX_HEADERS = 100
# Methods whose requests carry a body: without one, they say `Content-Length: 0`, as http.client did.
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# Statuses whose answers never have a body (RFC 9112 §6.3), besides 1xx.
_NO_BODY_STATUSES = frozenset({204, 304})
# What may not be in a request's method, target or header (header injection, request smuggling).
_BAD_TARGET = re.compile("[\x00-\x20\x7f]")
_BAD_HEADER_NAME = re.compile("[\x00-\x20:\x7f]")
_BAD_HEADER_VALUE = re.compile("[\r\n\x00]")
_LINE_ENDS = (b"\r\n", b"\n", b"")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class TransportError(Exception):
    """The request got no complete answer."""


class ConnectTimeout(TransportError):
    pass


class ReadTimeout(TransportError):
    pass


class Unreachable(TransportError):
    pass


class _NotHttp(Exception):
    """What the server sent is not an HTTP/1.x answer (or ends too soon to be one)."""


class Answer:
    """A response read in full: status, reason, headers (name, value pairs) and decoded body."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body


class _Connection:
    """One open connection: its socket, and a buffered reader of what the server sends."""

    __slots__ = ("reader", "sock")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.reader: BinaryIO = sock.makefile("rb")

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()


class OriginPool:
    """Connections to one `scheme://host:port`; thread-safe. Keeps up to `max_idle` idle ones."""

    def __init__(self, scheme: str, host: str, port: int | None, *, connect: float, read: float, max_idle: int):
        self.scheme, self.host, self.port = scheme, host, port
        self.connect_timeout, self.read_timeout = connect, read
        self.max_idle = max_idle
        self._address = (host, port or (443 if scheme == "https" else 80))
        self._host_header = _host_header(scheme, host, port)
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        # A client dropped without close() still closes its idle connections.
        weakref.finalize(self, _close_all, self._idle)

    def request(self, method: str, target: str, body: bytes | None, headers: Mapping[str, str]) -> Answer:
        """Send one request on an idle connection (or a new one) and read the whole answer."""
        request = self._request_bytes(method, target, body, headers)
        connection = self._take()
        try:
            try:
                connection.sock.sendall(request)
                status, reason, answer_headers, data, will_close = _read_answer(connection.reader, method)
            except TimeoutError as error:
                raise ReadTimeout(str(error)) from error
            except (OSError, _NotHttp) as error:
                raise Unreachable(str(error) or type(error).__name__) from error
            answer = Answer(status, reason, answer_headers, _decoded(answer_headers, data))
        except BaseException:
            connection.close()
            raise
        if will_close:
            connection.close()
        else:
            self._give_back(connection)
        return answer

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _request_bytes(self, method: str, target: str, body: bytes | None, headers: Mapping[str, str]) -> bytes:
        """The request as sent: its line, `Host`, `Content-Length`, then `headers` in their order
        (as http.client wrote them), and the body. A method, target or header that could smuggle
        another request into this one is refused, as http.client refused it: the target as
        `Unreachable` (its InvalidURL), a header as ValueError."""
        if _BAD_TARGET.search(method) or _BAD_TARGET.search(target):
            raise Unreachable(f"refusing to send a request with control characters or spaces: {method} {target!r}")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header}"]
        given = {name.lower() for name in headers}
        if "content-length" not in given and (body is not None or method in _METHODS_WITH_BODY):
            lines.append(f"Content-Length: {len(body or b'')}")
        for name, value in headers.items():
            if not name or _BAD_HEADER_NAME.search(name) or _BAD_HEADER_VALUE.search(value):
                raise ValueError(f"refusing to send the header {name!r}: its name or value could split the request")
            lines.append(f"{name}: {value}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + body if body else head

    def _take(self) -> _Connection:
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if not _closed_by_server(connection):
                    return connection
                connection.close()
        return self._connect()

    def _connect(self) -> _Connection:
        """A new connection (the TLS handshake too, within the connect timeout)."""
        try:
            sock = socket.create_connection(self._address, timeout=self.connect_timeout)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self.scheme == "https":
                    sock = _tls().wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        except TimeoutError as error:
            raise ConnectTimeout(str(error)) from error
        except OSError as error:
            raise Unreachable(str(error) or type(error).__name__) from error
        sock.settimeout(self.read_timeout)
        return _Connection(sock)

    def _give_back(self, connection: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(connection)
                return
        connection.close()


def _host_header(scheme: str, host: str, port: int | None) -> str:
    """`Host`'s value, as http.client wrote it: the port only when not the scheme's own, an IPv6
    address in brackets, a non-ASCII name in IDNA."""
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        host = host.encode("idna").decode("ascii")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return host if port is None or port == default else f"{host}:{port}"


def _read_answer(
    reader: BinaryIO, method: str
) -> tuple[int, str, list[tuple[str, str]], bytes, bool]:
    """Status, reason, headers, body (as sent) and whether the connection must be closed after it.

    Informational (1xx) answers before the final one are skipped, as http.client skipped 100.
    """
    while True:
        version, status, reason = _status_line(_line(reader, "status line"))
        headers = _headers(reader)
        if not 100 <= status < 200:
            break
    tokens = {
        token.strip().lower() for name, value in headers if name.lower() == "connection" for token in value.split(",")
    }
    # HTTP/1.1 keeps the connection open unless told otherwise; HTTP/1.0 closes it unless told otherwise.
    will_close = "keep-alive" not in tokens if version == "HTTP/1.0" else "close" in tokens
    if method == "HEAD" or status in _NO_BODY_STATUSES:
        return status, reason, headers, b"", will_close
    codings = [value for name, value in headers if name.lower() == "transfer-encoding"]
    if codings and codings[-1].rsplit(",", 1)[-1].strip().lower() == "chunked":
        return status, reason, headers, _chunked_body(reader), will_close
    lengths = {value.strip() for name, value in headers if name.lower() == "content-length"}
    if codings or len(lengths) != 1 or not next(iter(lengths)).isdigit():
        # No usable length (none, several, or not a number): the body runs to the end of the connection.
        return status, reason, headers, reader.read(), True
    return status, reason, headers, _exactly(reader, int(next(iter(lengths)))), will_close


def _line(reader: BinaryIO, what: str) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise _NotHttp(f"the {what} is longer than {MAX_LINE} bytes")
    return line


def _status_line(line: bytes) -> tuple[str, int, str]:
    if not line:
        raise _NotHttp("the server closed the connection without answering")
    text = line.decode("iso-8859-1").rstrip("\r\n")
    version, _, rest = text.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit() or code[0] == "0":
        raise _NotHttp(f"the server answered with what is not an HTTP/1.x status line: {text[:100]!r}")
    return version, int(code), reason.strip()


def _headers(reader: BinaryIO) -> list[tuple[str, str]]:
    """The header lines up to the empty one, as (name, value); an obsolete folded line continues
    the value before it, joined by a space (RFC 9112 §5.2)."""
    headers: list[tuple[str, str]] = []
    while (line := _line(reader, "header line")) not in _LINE_ENDS:
        if len(headers) >= MAX_HEADERS:
            raise _NotHttp(f"the server sent more than {MAX_HEADERS} headers")
        text = line.decode("iso-8859-1")
        if text[0] in " \t" and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {text.strip()}")
            continue
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip():
            raise _NotHttp(f"the server sent a header line that is not one: {text.rstrip()[:100]!r}")
        headers.append((name, value.strip()))
    if not line:
        raise _NotHttp("the server closed the connection in the middle of the headers")
    return headers


def _exactly(reader: BinaryIO, length: int) -> bytes:
    data = reader.read(length)
    if len(data) < length:
        raise _NotHttp(f"the body ended after {len(data)} of {length} bytes")
    return data


def _chunked_body(reader: BinaryIO) -> bytes:
    """A chunked body: each chunk's size in hex (extensions after `;` ignored), its bytes and a
    line end, up to the chunk of size 0; the trailer fields after it are read and dropped."""
    chunks = []
    while True:
        size_line = _line(reader, "chunk size line")
        size_text = size_line.split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise _NotHttp(f"the server sent a chunk size that is not one: {size_line[:100]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        chunks.append(_exactly(reader, size))
        if _line(reader, "chunk end") not in (b"\r\n", b"\n"):
            raise _NotHttp("a chunk did not end where its size said")
    while (line := _line(reader, "trailer line")) not in _LINE_ENDS:
        pass
    if not line:
        raise _NotHttp("the server closed the connection in the middle of the trailer")
    return b"".join(chunks)


def _close_all(connections: list[_Connection]) -> None:
    for connection in list(connections):
        connection.close()


def _closed_by_server(connection: _Connection) -> bool:
    """Whether an idle keep-alive connection can no longer be used: readable with nothing asked
    means the server closed it (or sent what nobody asked for)."""
    try:
        readable, _, _ = select.select([connection.sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _decoded(headers: list[tuple[str, str]], data: bytes) -> bytes:
    coding = next((value for name, value in reversed(headers) if name.lower() == "content-encoding"), "")
    coding = coding.strip().lower()
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
