"""The stand-ins' HTTP framework reads requests and writes answers as http.server would, faster."""

from __future__ import annotations

import http.client
import io
import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.server import RawJSON, Response, _read_headers
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN

TS = "2013-04-01T00:00:00+00:00"


def exchange(address: tuple[str, int], request: bytes) -> bytes:
    """Send `request` as it is and read until the server closes the connection."""
    answer = b""
    with socket.create_connection(address, timeout=5) as connection:
        connection.sendall(request)
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass  # closed with part of a refused request unread; the answer came before
    return answer


HEADER_BLOCKS = [
    b"Host: x\r\nUser-Agent: python-requests/2.32\r\nAccept: */*\r\nContent-Length: 2\r\n\r\n{}",
    b"host:x\r\nX-Spaced:   a value with spaces   \r\nX-Tab:\t\tv\r\n\r\n",  # odd spacing
    b"X-A: 1\r\nx-a: 2\r\nX-A: 3\r\n\r\n",  # repeated, in several cases
    b"X-Empty:\r\nX-Also-Empty:   \r\n\r\n",
    b"X-A: 1\nX-B: 2\n\n",  # bare line feeds
    b"X-Folded: one\r\n  two\r\nX-After: 3\r\n\r\n",  # a continuation line
    b"X-Latin: caf\xe9\r\n\r\n",  # a byte that is not ASCII
    b"X-Vt: a\x0bb\r\nX-After: 1\r\n\r\n",  # a byte email.parser takes for a line break
    b"X-Cr: a\rb\r\n\r\n",
    b"Not a header\r\nX-After: 1\r\n\r\n",  # email.parser takes the rest for a body
    b": no name\r\nX-After: 1\r\n\r\n",
    b"From somebody\r\nX-After: 1\r\n\r\n",
    b"Bad Name: 1\r\nX-After: 1\r\n\r\n",
    b"X-Eof: 1\r\n",  # the connection ends before the blank line
    b"\r\n",
]


@pytest.mark.parametrize("block", HEADER_BLOCKS)
def test_headers_are_read_as_http_client_reads_them(block: bytes) -> None:
    ours, theirs = io.BytesIO(block), io.BytesIO(block)

    read = _read_headers(ours, http.client.HTTPMessage)
    expected = http.client.parse_headers(theirs)

    assert type(read) is http.client.HTTPMessage
    assert read.items() == expected.items()
    assert [read.get(name) for name in ("x-a", "X-AFTER", "Host")] == [
        expected.get(name) for name in ("x-a", "X-AFTER", "Host")
    ]
    assert ours.read() == theirs.read()  # the body is left where it was


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        ([b"X-Long: " + b"a" * 70_000], "got more than 65536 bytes when reading header line"),
        ([f"X-{n}: v".encode() for n in range(101)], "got more than 100 headers"),
    ],
)
def test_header_limits_are_http_clients(lines: list[bytes], error: str) -> None:
    block = b"".join(line + b"\r\n" for line in lines) + b"\r\n"
    with pytest.raises(http.client.HTTPException) as ours:
        _read_headers(io.BytesIO(block), http.client.HTTPMessage)
    with pytest.raises(http.client.HTTPException) as theirs:
        http.client.parse_headers(io.BytesIO(block))
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))
    assert str(ours.value) == error


class _PlainHandler(BaseHTTPRequestHandler):
    """http.server with nothing added: what the stand-ins answered malformed requests with."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def plain_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PlainHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _without_date_and_server(answer: bytes) -> bytes:
    return re.sub(rb"(?m)^(Date|Server): .*\r\n", b"", answer)


@pytest.mark.parametrize(
    "request_",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET / HTTX/1.1\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"".join(f"X-{n}: v\r\n".encode() for n in range(101)) + b"\r\n",
        b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
        b"POST / HTTP/1.0\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
)
def test_malformed_requests_are_refused_as_http_server_refuses_them(
    backdrop: BackdropStandIn, plain_server: ThreadingHTTPServer, request_: bytes
) -> None:
    expected = exchange(plain_server.server_address[:2], request_)

    answer = exchange((backdrop.host, backdrop.port), request_)

    assert _without_date_and_server(answer) == _without_date_and_server(expected)
    assert answer.count(b"Server: backdrop-stand-in") == expected.count(b"Server: ")


def test_a_request_line_with_odd_spacing_is_read_as_http_server_reads_it(backdrop: BackdropStandIn) -> None:
    answer = exchange((backdrop.host, backdrop.port), b"GET  /_status  HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")


def test_an_http_1_0_request_is_answered_and_the_connection_closed(backdrop: BackdropStandIn) -> None:
    answer = exchange((backdrop.host, backdrop.port), b"GET /_status HTTP/1.0\r\nHost: x\r\n\r\n")
    head, body = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert json.loads(body) == {"status": "ok", "message": "app is up"}


def _read_answer(reader: Any) -> tuple[bytes, bytes]:
    """(status line, body) of one answer on a kept-alive connection."""
    status = reader.readline()
    length = 0
    while (line := reader.readline()) != b"\r\n":
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return status, reader.read(length)


def test_kept_alive_connections_and_expect_100_continue(backdrop: BackdropStandIn) -> None:
    body = json.dumps([{"_timestamp": TS}]).encode()
    with socket.create_connection((backdrop.host, backdrop.port), timeout=5) as connection:
        reader = connection.makefile("rb")
        connection.sendall(b"GET /_status HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_answer(reader) == (b"HTTP/1.1 200 OK\r\n", b'{"status": "ok", "message": "app is up"}')

        connection.sendall(
            f"POST /data/{DATA_GROUP}/{DATA_TYPE} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            f"Content-Type: application/json\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        # The client waits for this before it sends the body.
        assert reader.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert reader.readline() == b"\r\n"
        connection.sendall(body)
        assert _read_answer(reader) == (b"HTTP/1.1 200 OK\r\n", b'{"status": "ok"}')
        reader.close()

    recorded = backdrop.requests[-1]
    assert recorded.header("expect") == "100-continue" and recorded.header("CONTENT-TYPE") == "application/json"
    assert recorded.headers["Content-Type"] == "application/json"  # the name as it was sent
    assert backdrop.records(DATA_GROUP, DATA_TYPE)[0]["_timestamp"] == TS


def test_raw_json_values_are_written_in_place() -> None:
    rows = [{"a": "caf\u00e9"}, {"b": [1, 2.5, None]}]
    body = {"head": {"x": 1}, "rows": RawJSON(json.dumps(rows)), "tail": "t"}

    payload, headers = Response(200, body).encoded()

    assert headers == {"Content-Type": "application/json"}
    assert payload == json.dumps({"head": {"x": 1}, "rows": rows, "tail": "t"}).encode()
