"""A small framework for stand-in HTTP servers that speak real services' wire formats.

A `StandIn` listens on 127.0.0.1 (an ephemeral port unless told otherwise) in a background thread,
dispatches requests to handlers registered with `@route`, records every request it receives, and
can be told to misbehave: answer the next N requests with a given status, delay them, drop the
connection before answering, reset it half-way through the body, or hold them until the test
lets them go (`hold_next`). A fault can be limited to requests a predicate picks (`when`: one
period of a backfill, say). Tests wait on what a stand-in does (`wait_for`: a request arrived, was
answered, is in flight) rather than polling with deadlines. Every recorded request carries
its place in the order all stand-ins of the process received requests (`sequence`), so a test
can tell that a push reached Backdrop before the last page was asked of Google. Tests, the demo and
contributors developing offline all use the same servers.
"""

from __future__ import annotations

import email.parser
import gzip
import http.client
import itertools
import json
import logging
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# The most a held request waits for its test to release it.
HOLD_LIMIT_SECONDS = 60.0
# How long `wait_for` waits before it reports that what it waited for never happened.
WAIT_LIMIT_SECONDS = 60.0
# One count for every stand-in of the process: the order requests arrived in, across services.
_ARRIVALS = itertools.count(1)
# A request line any HTTP/1.x client library sends (one space apart, a printable ASCII target) and a
# header line `email.parser` would read as plain `Name: value` (no folding, no bytes it treats as
# line breaks): the stand-ins read these themselves, and leave anything else to `http.server`.
_PLAIN_REQUEST_LINE = re.compile(rb"([A-Za-z]+) ([!-~]+) (HTTP/1\.[01])\r?\n")
_PLAIN_HEADER_LINE = re.compile(rb"([!-9;-~]+):[ \t]*([\t -~]*)\r?\n")
# http.client's limits on a request's header lines (its `_MAXLINE` and `_MAXHEADERS`).
_MAX_HEADER_LINE = 65536
_MAX_HEADERS = 100


log = logging.getLogger(__name__)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw_body: bytes
    body: bytes
    fault: str | None = None
    status: int | None = None
    # When it arrived (time.monotonic(), for benchmarks) and in what order among all stand-ins.
    received_at: float = field(default_factory=time.monotonic)
    sequence: int = field(default_factory=lambda: next(_ARRIVALS))

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class RawJSON(str):
    """JSON text that `Response` writes as it is when it is a value of a dict body (one with str
    keys; top-level values only: nested deeper it would be written as a JSON string).

    Lets a handler produce a big part of its answer (a page of rows) as text, much faster than
    building objects for `json.dumps`, while the rest of the body stays a dict tests can read.
    """

    __slots__ = ()


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None:
            return b"", headers
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode("utf-8"), headers
        headers.setdefault("Content-Type", "application/json")
        return _json_text(self.body).encode("utf-8"), headers


def _json_text(body: Any) -> str:
    """`json.dumps(body)`, with any `RawJSON` value of a dict body written in place as it is."""
    if not isinstance(body, dict) or not any(isinstance(value, RawJSON) for value in body.values()):
        return json.dumps(body)
    # The same separators as json.dumps's defaults, so the bytes are what it would have written.
    items = (
        f"{json.dumps(key)}: {value if isinstance(value, RawJSON) else json.dumps(value)}"
        for key, value in body.items()
    )
    return "{" + ", ".join(items) + "}"


@dataclass
class Hold:
    """Requests held at the stand-in: `reached` is set when the first arrives; each waits for `release()`."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def wait_until_released(self) -> None:
        # Bounded so that a test that forgets to release cannot hang the server for ever.
        self._released.wait(HOLD_LIMIT_SECONDS)


@dataclass
class Fault:
    kind: str  # "status", "delay", "drop", "reset", "hold"
    remaining: int
    path_pattern: re.Pattern[str] | None
    status: int = 503
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    skip: int = 0  # matching requests to let through first
    when: Callable[[RecordedRequest], bool] | None = None
    hold: Hold | None = None

    def applies_to(self, request: RecordedRequest) -> bool:
        if self.path_pattern is not None and not self.path_pattern.search(request.path):
            return False
        if self.when is None:
            return True
        try:
            return bool(self.when(request))
        except Exception:
            # A request the predicate cannot read (a body cut short by a client that gave up) is
            # not the one it was aimed at.
            return False


Handler = Callable[..., Response]


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Mark a `StandIn` method as the handler of `method` requests whose path matches `pattern`.

    The handler is called with the `RecordedRequest` and the named groups of the match.
    """

    def mark(handler: Handler) -> Handler:
        handler.__dict__.setdefault("_routes", []).append((method.upper(), re.compile(pattern)))
        return handler

    return mark


class StandIn:
    """Base class of the stand-ins; subclasses add `@route` handlers."""

    name = "stand-in"

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.requested_port = port
        self.requests: list[RecordedRequest] = []
        self.latency = 0.0
        # Off, a recorded request keeps everything but its body once answered: a benchmark
        # pushing a million records would otherwise hold them all in `requests`.
        self.keep_request_bodies = True
        # Requests being served right now, and the most there have been at once.
        self.in_flight = 0
        self.max_in_flight = 0
        self._faults: list[Fault] = []
        # Every hold handed out, so that `settle` can let its requests go.
        self._holds: list[Hold] = []
        self._lock = threading.RLock()
        # Notified whenever a request arrives or is answered: what `wait_for` waits on.
        self._activity = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        for cls in reversed(type(self).__mro__):
            for attribute in vars(cls).values():
                for method, pattern in getattr(attribute, "_routes", []):
                    self._routes.append((method, pattern, attribute.__get__(self, type(self))))

    # Lifecycle -----------------------------------------------------------------------------------

    def start(self) -> StandIn:
        self._server = _Server((self.host, self.requested_port), _make_handler(self))
        # A short poll interval keeps stop() fast; tests start and stop many servers.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"{self.name}-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.name} stand-in is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # Faults --------------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        path: str | None = None,
        after: int = 0,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Answer `times` requests (whose path matches `path`, and that `when` picks) with `status`,
        after letting `after` of them through."""
        self._add_fault(
            Fault("status", times, _compile(path), status=status, body=body, headers=headers or {}, skip=after,
                  when=when)
        )

    def delay_next(
        self, seconds: float, times: int = 1, *, path: str | None = None,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Wait `seconds` before answering the next `times` requests normally."""
        self._add_fault(Fault("delay", times, _compile(path), seconds=seconds, when=when))

    def hold_next(
        self,
        times: int = 1,
        *,
        path: str | None = None,
        when: Callable[[RecordedRequest], bool] | None = None,
        then_status: int | None = None,
        body: Any = None,
    ) -> Hold:
        """Hold the next `times` requests (once recorded, before answering) until `Hold.release()`;
        then answer them normally, or with `then_status` (and `body`) as `fail_next` would."""
        hold = Hold()
        with self._lock:
            self._holds.append(hold)
        self._add_fault(
            Fault("hold", times, _compile(path), when=when, hold=hold, status=then_status or 0, body=body)
        )
        return hold

    def settle(self) -> bool:
        """Release every hold and wait until no request is being served: what one test sent must
        have been answered, and stored, before the next test starts on the same server. False if
        a request is still being served after the wait limit."""
        with self._lock:
            holds, self._holds = self._holds, []
        for hold in holds:
            hold.release()
        return self.wait_for(lambda: not self.in_flight)

    def wait_for(self, condition: Callable[[], bool], timeout: float = WAIT_LIMIT_SECONDS) -> bool:
        """Wait until `condition()` (read under the stand-in's lock, re-read whenever a request arrives
        or is answered) holds; False if it still does not after `timeout` seconds, a test failure."""
        with self._activity:
            return self._activity.wait_for(condition, timeout)

    def drop_next(
        self, times: int = 1, *, path: str | None = None, when: Callable[[RecordedRequest], bool] | None = None
    ) -> None:
        """Close the connection of the next `times` requests without answering."""
        self._add_fault(Fault("drop", times, _compile(path), when=when))

    def reset_next(
        self, times: int = 1, *, path: str | None = None, when: Callable[[RecordedRequest], bool] | None = None
    ) -> None:
        """Send the headers and half the body of the next `times` answers, then reset the connection."""
        self._add_fault(Fault("reset", times, _compile(path), when=when))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.applies_to(request):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # Dispatch ------------------------------------------------------------------------------------

    def requests_to(self, path_pattern: str, method: str | None = None) -> list[RecordedRequest]:
        pattern = re.compile(path_pattern)
        with self._lock:
            return [
                r
                for r in self.requests
                if pattern.search(r.path) and (method is None or r.method == method.upper())
            ]

    def dispatch(self, request: RecordedRequest) -> Response:
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if not match:
                continue
            if method != request.method:
                allowed = True
                continue
            return handler(request, **match.groupdict())
        if allowed:
            return self.method_not_allowed(request)
        return self.not_found(request)

    def not_found(self, request: RecordedRequest) -> Response:
        return Response(404, {"status": "error", "message": f"no route for {request.path}"})

    def method_not_allowed(self, request: RecordedRequest) -> Response:
        return Response(405, {"status": "error", "message": "The method is not allowed for the requested URL."})

    def fault_response(self, fault: Fault, request: RecordedRequest) -> Response:
        """The answer for a `fail_next` fault; subclasses give it their service's error shape."""
        body = fault.body
        if body is None:
            phrase = HTTPStatus(fault.status).phrase if fault.status in HTTPStatus._value2member_map_ else ""
            body = {"status": "error", "message": f"injected {fault.status} {phrase}".strip()}
        return Response(fault.status, body, dict(fault.headers))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to sys.stderr, which in-process CLI tests capture as the
        # collector's own stderr. A client dropping its connection mid-request is routine here.
        log.debug("%s: error while serving %s", self.server_address, client_address, exc_info=True)


def _compile(path: str | None) -> re.Pattern[str] | None:
    return re.compile(path) if path is not None else None


def _read_headers(rfile: Any, message_class: type[http.client.HTTPMessage]) -> http.client.HTTPMessage:
    """`http.client.parse_headers(rfile)`: the same limits, errors and message, read faster.

    Plain `Name: value` lines (all an HTTP client library sends) become the message's headers
    directly, as `email.parser` would make them: the name as it is, the value without the
    spaces after the colon or the line ending. Any other line sends all of them to `email.parser`.
    """
    lines = []
    while True:
        line = rfile.readline(_MAX_HEADER_LINE + 1)
        if len(line) > _MAX_HEADER_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > _MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            break
    message = message_class()
    for line in lines[:-1]:
        match = _PLAIN_HEADER_LINE.fullmatch(line)
        if match is None:
            return email.parser.Parser(_class=message_class).parsestr(b"".join(lines).decode("iso-8859-1"))
        message[match[1].decode("ascii")] = match[2].decode("ascii")
    return message


def _make_handler(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # A body too big for the write buffer goes out in a write of its own, after the headers;
        # without this, delayed ACKs add 40 ms each.
        disable_nagle_algorithm = True
        # Buffered (http.server's default is unbuffered), so that headers and a body that fits go
        # out in one system call rather than two: each send costs more than parsing a request.
        # Every answer is flushed by `_send` or `handle_expect_100`; http.server flushes the rest
        # (error pages) when it closes the connection.
        wbufsize = 64 * 1024
        server_version = f"{stand_in.name}-stand-in"

        def log_message(self, format: str, *args: Any) -> None:
            # The stand-in's record of requests replaces the access log.
            pass

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except (ConnectionResetError, BrokenPipeError):
                self.close_connection = True

        def handle_expect_100(self) -> bool:
            answered = super().handle_expect_100()
            self.wfile.flush()  # the client waits for "100 Continue" before it sends the body
            return answered

        def parse_request(self) -> bool:
            """`BaseHTTPRequestHandler.parse_request`, without `email.parser` for plain requests.

            http.server reads the headers with `email.parser`, which costs more than the rest of
            a benchmark's request. A plain request line with plain header lines gives here exactly
            what it would give there (`self.headers` is the same `HTTPMessage`); any other request
            line goes to http.server whole, and header lines to `email.parser`, so odd and
            malformed requests are read, and refused, as before.
            """
            match = _PLAIN_REQUEST_LINE.fullmatch(self.raw_requestline)
            if match is None:
                return super().parse_request()
            command, path, version = (part.decode("ascii") for part in match.groups())
            self.requestline = self.raw_requestline.decode("ascii").rstrip("\r\n")
            self.command, self.path, self.request_version = command, path, version
            self.close_connection = version != "HTTP/1.1"
            if self.path.startswith("//"):
                self.path = "/" + self.path.lstrip("/")  # as http.server does, against open redirects
            try:
                self.headers = _read_headers(self.rfile, self.MessageClass)
            except http.client.LineTooLong as error:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(error))
                return False
            except http.client.HTTPException as error:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", str(error))
                return False
            # From here on as http.server: Connection and Expect.
            connection = self.headers.get("Connection", "").lower()
            if connection == "close":
                self.close_connection = True
            elif connection == "keep-alive":
                self.close_connection = False
            expect = self.headers.get("Expect", "")
            if expect.lower() == "100-continue" and version == "HTTP/1.1":
                return self.handle_expect_100()
            return True

        def _serve(self) -> None:
            with stand_in._lock:
                stand_in.in_flight += 1
                stand_in.max_in_flight = max(stand_in.max_in_flight, stand_in.in_flight)
            try:
                self._serve_counted()
            finally:
                with stand_in._lock:
                    stand_in.in_flight -= 1
                    stand_in._activity.notify_all()

        def _serve_counted(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length) if length else b""
            body = raw_body
            if "gzip" in (self.headers.get("Content-Encoding") or "").lower():
                try:
                    body = gzip.decompress(raw_body)
                except (OSError, EOFError):
                    body = raw_body
            parts = urlsplit(self.path)
            recorded = RecordedRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True) if parts.query else {},
                headers=dict(self.headers.items()),
                raw_body=raw_body,
                body=body,
            )
            with stand_in._lock:
                stand_in.requests.append(recorded)
                stand_in._activity.notify_all()
            if stand_in.latency:
                time.sleep(stand_in.latency)
            fault = stand_in._take_fault(recorded)
            if fault is not None:
                recorded.fault = fault.kind
                if fault.kind == "delay":
                    time.sleep(fault.seconds)
                elif fault.kind == "hold" and fault.hold is not None:
                    fault.hold.reached.set()
                    fault.hold.wait_until_released()
                    if fault.status:
                        recorded.status = fault.status
                        self._send(stand_in.fault_response(fault, recorded))
                        return
                elif fault.kind == "drop":
                    self._abort()
                    return
                elif fault.kind == "status":
                    recorded.status = fault.status
                    self._send(stand_in.fault_response(fault, recorded))
                    return
            try:
                response = stand_in.dispatch(recorded)
            except Exception as error:  # a stand-in bug must surface as a 500, not a hang
                response = Response(500, {"status": "error", "message": f"stand-in error: {error!r}"})
            recorded.status = response.status
            if not stand_in.keep_request_bodies:
                recorded.raw_body = recorded.body = b""
            if fault is not None and fault.kind == "reset":
                self._send(response, truncate=True)
                return
            self._send(response)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def _send(self, response: Response, truncate: bool = False) -> None:
            payload, headers = response.encoded()
            self.send_response(response.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if truncate:
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self._abort()
                return
            self.wfile.write(payload)
            self.wfile.flush()

        def _abort(self) -> None:
            # SO_LINGER with a zero timeout makes close() send a TCP reset.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

    return RequestHandler
