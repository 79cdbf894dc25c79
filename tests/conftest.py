"""Shared fixtures live in tests/support/, one module per stand-in or concern."""

import signal

import pytest

pytest_plugins = [
    "tests.support.cli",
    "tests.support.backdrop",
    "tests.support.google",
    "tests.support.pingdom",
    "tests.support.matomo",
    "tests.support.redis_server",
    "tests.support.celery_processes",
]


def pytest_configure(config: pytest.Config) -> None:
    # A shell starts a background job (`make test &`, nohup) with SIGINT ignored, and every
    # process inherits that through exec: the runs the Ctrl-C tests start would ignore the SIGINT
    # they are sent. The tests model a terminal's Ctrl-C, so the processes they start get the
    # default (a handled signal is reset to the default across exec; an ignored one is not).
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
