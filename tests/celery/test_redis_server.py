"""The tests' own Redis server: stopping it leaves no thread reading a closed pipe."""

from __future__ import annotations

from pathlib import Path

from tests.support.redis_server import start_redis


def test_a_stopped_server_has_had_its_output_read_to_the_end_before_the_pipe_is_closed(tmp_path: Path) -> None:
    # A reader still iterating the pipe when it was closed raised in its thread, which pytest
    # reports as an error in the teardown of whichever test ran last in that worker.
    server = start_redis(tmp_path)
    with server.client() as client:
        assert client.ping()

    server.stop()

    assert not server.reader.is_alive()
    assert server.process.stdout is not None and server.process.stdout.closed
    assert server.process.returncode is not None
