"""The transport's own HTTP/1.1 reading and writing, against a server that speaks raw bytes.

`connections.OriginPool` reads answers itself (not through http.client), so every way a server can
frame an answer is tried here at the socket: `Content-Length`, chunked (with extensions and
trailers), to the end of the connection, none at all (HEAD, 204, 304), 1xx answers before the
final one, `Connection: close` and HTTP/1.0, folded and repeated headers, gzip; and what is not an
answer (garbage, a body cut short) fails as `Unreachable`. The server records each request's bytes
and the connection it came on, so keep-alive is checked by what the server saw.
"""

from __future__ import annotations

import gzip
import queue
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from performanceplatform.collector.connections import OriginPool, Unreachable


@dataclass
class Received:
    connection: int  # the server's count of connections accepted, from 1
    head: bytes  # request line and headers, up to the empty line
    body: bytes


@dataclass
class Script:
    """What the server writes for one request, and whether it closes the connection afterwards."""

    answer: bytes
    close: bool = False


class RawServer:
    """Answers each request on 127.0.0.1 with the next scripted bytes; records what it received."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.scripts: queue.SimpleQueue[Script] = queue.SimpleQueue()
        self.received: list[Received] = []
        self.closed = threading.Semaphore(0)  # released each time the server closes a connection
        self._connections = 0
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def answer(self, *answers: bytes | Script) -> None:
        for answer in answers:
            self.scripts.put(answer if isinstance(answer, Script) else Script(answer))

    def stop(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections += 1
            threading.Thread(target=self._serve, args=(connection, self._connections), daemon=True).start()

    def _serve(self, connection: socket.socket, number: int) -> None:
        reader = connection.makefile("rb")
        try:
            while True:
                head = b""
                while (line := reader.readline()) not in (b"\r\n", b""):
                    head += line
                if not head:
                    return
                length = 0
                for header in head.split(b"\r\n"):
                    name, _, value = header.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                self.received.append(Received(number, head, reader.read(length)))
                script = self.scripts.get()
                connection.sendall(script.answer)
                if script.close:
                    return
        finally:
            reader.close()
            connection.close()
            self.closed.release()


@pytest.fixture
def server() -> Iterator[RawServer]:
    raw = RawServer()
    yield raw
    raw.stop()


def pool(server: RawServer) -> OriginPool:
    return OriginPool("http", "127.0.0.1", server.port, connect=5, read=5, max_idle=2)


def get(origin: OriginPool, target: str = "/", method: str = "GET", body: bytes | None = None):
    return origin.request(method, target, body, {"Accept": "*/*"})


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_a_body_of_content_length_is_read_and_the_connection_kept(server):
    server.answer(b"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", OK)
    origin = pool(server)
    first = get(origin)
    assert (first.status, first.reason, first.body) == (201, "Created", b"hello")
    assert first.headers == [("Content-Type", "text/plain"), ("Content-Length", "5")]
    assert get(origin).body == b"ok"
    assert [request.connection for request in server.received] == [1, 1]


def test_a_chunked_body_is_joined_and_its_extensions_and_trailers_dropped(server):
    server.answer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1A\r\n" + b"x" * 26 + b"\r\n0\r\nExpires: never\r\n\r\n",
        OK,
    )
    origin = pool(server)
    assert get(origin).body == b"hello" + b"x" * 26
    assert get(origin).body == b"ok"
    assert [request.connection for request in server.received] == [1, 1]


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
])
def test_an_answer_that_closes_the_connection_is_read_and_the_next_request_opens_another(server, answer):
    server.answer(Script(answer, close=True), OK)
    origin = pool(server)
    assert get(origin).body == b"ok"
    assert get(origin).body == b"ok"
    assert [request.connection for request in server.received] == [1, 2]


def test_http_1_0_with_keep_alive_keeps_the_connection(server):
    server.answer(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", OK)
    origin = pool(server)
    get(origin)
    get(origin)
    assert [request.connection for request in server.received] == [1, 1]


def test_a_body_without_a_length_runs_to_the_end_of_the_connection(server):
    server.answer(Script(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it\r\nto the end", close=True), OK)
    origin = pool(server)
    assert get(origin).body == b"all of it\r\nto the end"
    assert get(origin).body == b"ok"
    assert [request.connection for request in server.received] == [1, 2]


@pytest.mark.parametrize(("method", "answer"), [
    ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
    ("GET", b"HTTP/1.1 204 No Content\r\n\r\n"),
    ("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n"),
])
def test_answers_without_a_body_leave_the_connection_ready_for_the_next(server, method, answer):
    server.answer(answer, OK)
    origin = pool(server)
    assert get(origin, method=method).body == b""
    assert get(origin).body == b"ok"
    assert [request.connection for request in server.received] == [1, 1]


def test_informational_answers_before_the_final_one_are_skipped(server):
    server.answer(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + OK)
    answer = get(pool(server))
    assert (answer.status, answer.headers, answer.body) == (200, [("Content-Length", "2")], b"ok")


def test_headers_keep_their_order_repeats_and_folded_lines(server):
    server.answer(
        b"HTTP/1.1 429 \r\nSet-Cookie: a=1\r\nX-Folded: first\r\n  second\r\nset-cookie: b=2\r\n"
        b"Retry-After:  7  \r\nContent-Length: 0\r\n\r\n"
    )
    answer = get(pool(server))
    assert (answer.status, answer.reason) == (429, "")
    assert answer.headers == [
        ("Set-Cookie", "a=1"), ("X-Folded", "first second"), ("set-cookie", "b=2"), ("Retry-After", "7"),
        ("Content-Length", "0"),
    ]


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_gzipped_body_is_decoded(server, framing):
    packed = gzip.compress(b'{"name": "a"}')
    if framing == "length":
        answer = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(packed), packed)
    else:
        answer = (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(packed), packed)
        )
    server.answer(answer)
    assert get(pool(server)).body == b'{"name": "a"}'


@pytest.mark.parametrize("answer", [
    b"",  # closed without a word
    b"SSH-2.0-OpenSSH_9.6\r\n",
    b"HTTP/1.1 2000 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    b"HTTP/1.1 200 OK\r\nnot a header\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",  # the headers never end
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\nok",
])
def test_what_is_not_a_whole_answer_is_unreachable_and_the_connection_is_not_reused(server, answer):
    server.answer(Script(answer, close=True), OK)
    origin = pool(server)
    with pytest.raises(Unreachable):
        get(origin)
    assert get(origin).body == b"ok"
    assert [request.connection for request in server.received] == [1, 2]


def test_the_request_is_written_as_http_client_wrote_it(server):
    server.answer(OK, OK, OK)
    origin = pool(server)
    origin.request("POST", "/data/group/type?x=1", b'[{"a": 1}]', {"Content-Type": "application/json", "X-B": "2"})
    origin.request("POST", "/empty", None, {})
    origin.request("GET", "/thing", None, {})
    first, empty, plain = server.received
    assert first.head == (
        b"POST /data/group/type?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 10\r\n"
        b"Content-Type: application/json\r\nX-B: 2\r\n" % server.port
    )
    assert first.body == b'[{"a": 1}]'
    assert b"\r\nContent-Length: 0\r\n" in empty.head
    assert b"Content-Length" not in plain.head


@pytest.mark.parametrize(("target", "headers", "refusal"), [
    ("/a b", {}, Unreachable),
    ("/a\r\nX-Injected: 1", {}, Unreachable),
    ("/", {"X-Value": "1\r\nX-Injected: 1"}, ValueError),
    ("/", {"Bad Name": "1"}, ValueError),
])
def test_a_request_that_could_smuggle_another_is_refused_before_anything_is_sent(server, target, headers, refusal):
    server.answer(OK)
    origin = pool(server)
    with pytest.raises(refusal, match="refusing"):
        origin.request("GET", target, None, headers)
    assert get(origin).body == b"ok"
    assert len(server.received) == 1


def test_an_idle_connection_the_server_closed_is_not_reused(server):
    server.answer(Script(OK, close=True), OK)  # closed after answering, without saying so
    origin = pool(server)
    get(origin)
    server.closed.acquire()
    assert get(origin).body == b"ok"
    assert [request.connection for request in server.received] == [1, 2]


def test_the_host_header_names_the_port_only_when_it_is_not_the_schemes():
    assert OriginPool("http", "example.com", None, connect=1, read=1, max_idle=1)._host_header == "example.com"
    assert OriginPool("https", "example.com", 443, connect=1, read=1, max_idle=1)._host_header == "example.com"
    assert OriginPool("https", "example.com", 8443, connect=1, read=1, max_idle=1)._host_header == "example.com:8443"
    assert OriginPool("http", "::1", 8080, connect=1, read=1, max_idle=1)._host_header == "[::1]:8080"
    assert OriginPool("https", "bücher.example", None, connect=1, read=1, max_idle=1)._host_header == (
        "xn--bcher-kva.example"
    )
