"""Shared fixtures live in tests/support/, one module per stand-in or concern."""

pytest_plugins = [
    "tests.support.cli",
    "tests.support.backdrop",
    "tests.support.google",
    "tests.support.pingdom",
    "tests.support.matomo",
    "tests.support.redis_server",
    "tests.support.celery_processes",
]
