"""The Celery settings: what a log line or traceback of them could show."""

from __future__ import annotations

from performanceplatform.collector.celery.settings import CelerySettings


def test_the_settings_repr_leaves_the_redis_url_and_its_password_out() -> None:
    settings = CelerySettings(redis_url="redis://:hunter2-redis-password@redis.internal:6379/0")
    assert "hunter2-redis-password" not in repr(settings)
