"""Fixtures: a running Backdrop stand-in with one data set, and the config to push to it.

- `backdrop`: a running `BackdropStandIn` with only the data set `DATA_GROUP`/`DATA_TYPE` (token
  `TOKEN`) configured, no records, no recorded requests and no pending faults. One server serves
  the whole session and is reset around each test (a test that stops it gets it restarted, on a
  new port, by the next).
- `backdrop_url`: its base URL ending in `/data`, as a `-b` backdrop file's `backdrop_url` holds.
- `backdrop_data_set_config`: the `data_set_config` dict `DataSet.from_config` and `Pusher` take.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from performanceplatform.collector.standins.backdrop import BackdropStandIn

DATA_GROUP = "test-group"
DATA_TYPE = "test-type"
TOKEN = "backdrop-test-token-5f2c9a"


@pytest.fixture(scope="session")
def _backdrop_server() -> Iterator[BackdropStandIn]:
    # One server for the session: stopping one takes half a second (the serve loop's poll), which
    # across hundreds of tests is minutes. Each test gets it reset by `backdrop`.
    stand_in = BackdropStandIn()
    stand_in.start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


@pytest.fixture
def backdrop(_backdrop_server: BackdropStandIn) -> Iterator[BackdropStandIn]:
    # Retry waits are shortened for every test by the autouse fixture in tests/support/cli.py.
    stand_in = _backdrop_server
    try:
        stand_in.port  # noqa: B018 - raises when a previous test stopped the server
    except RuntimeError:
        stand_in.start()
    stand_in.reset()
    stand_in.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN)
    yield stand_in
    # A request a test left held or in flight (a run stopped mid-push) would otherwise be stored
    # in the next test's data set; faults it set up but did not use must not hit the next test.
    assert stand_in.settle(), "a request to the Backdrop stand-in was still being served after the wait limit"
    stand_in.reset()


@pytest.fixture
def backdrop_url(backdrop: BackdropStandIn) -> str:
    return f"{backdrop.url}/data"


@pytest.fixture
def backdrop_data_set_config(backdrop: BackdropStandIn) -> dict[str, Any]:
    return {
        "url": backdrop.data_url(DATA_GROUP, DATA_TYPE),
        "token": TOKEN,
        "data-group": DATA_GROUP,
        "data-type": DATA_TYPE,
        "dry_run": False,
    }
