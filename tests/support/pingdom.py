"""Fixtures for the Pingdom stand-in (`performanceplatform.collector.standins.pingdom`).

`pingdom` is a running stand-in with a few checks, one of them with spaces and capitals in its
name; `make_pingdom` starts more, configured as a test needs (other checks, an `Account-Email`, a
small page size, tight rate limits). Both stop their servers when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from performanceplatform.collector.standins.pingdom import PingdomStandIn

PINGDOM_CHECKS = ("carers_allowance", "Electronic Vehicle Licensing - Sorn", "find-an-apprenticeship")


@pytest.fixture
def make_pingdom() -> Iterator[Callable[..., PingdomStandIn]]:
    started: list[PingdomStandIn] = []

    def make(*args: Any, **kwargs: Any) -> PingdomStandIn:
        stand_in = PingdomStandIn(*args, **kwargs)
        stand_in.start()
        started.append(stand_in)
        return stand_in

    yield make
    for stand_in in started:
        stand_in.stop()


@pytest.fixture
def pingdom(make_pingdom: Callable[..., PingdomStandIn]) -> PingdomStandIn:
    return make_pingdom(PINGDOM_CHECKS)
