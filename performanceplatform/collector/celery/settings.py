"""What a Celery deployment sets in the environment of its workers, beat and queueing commands.

Read once per process. Every value has a default fit for production; tests shorten the times.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar

from performanceplatform.collector.errors import ConfigurationError

T = TypeVar("T")

REDIS_URL = "PP_COLLECTOR_REDIS_URL"
APP_PATH = "PP_COLLECTOR_APP_PATH"
JOBS_FILE = "PP_COLLECTOR_JOBS_FILE"
TIMEZONE = "PP_COLLECTOR_TIMEZONE"
LOCK_TTL = "PP_COLLECTOR_LOCK_TTL"
VISIBILITY_TIMEOUT = "PP_COLLECTOR_VISIBILITY_TIMEOUT"
TASK_ATTEMPTS = "PP_COLLECTOR_TASK_ATTEMPTS"
TASK_RETRY_DELAY = "PP_COLLECTOR_TASK_RETRY_DELAY"


@dataclass(frozen=True)
class CelerySettings:
    """`redis_url`: broker, results, query locks and the beat lock. `app_path` and `jobs_file`: as
    the crontab generator's APP_PATH and JOBS_FILE. `timezone`: the zone beat reads the five cron
    fields in (cron reads them in the host's). `lock_ttl`: seconds a lock outlives a holder that
    died (it is renewed every third of it while the holder lives). `visibility_timeout`: seconds
    before Redis hands an unacknowledged run to another worker: longer than the longest run.
    `task_attempts`: runs of a job whose collection failed (exit 1), the first included;
    `task_retry_delay`: the first wait between them, doubled each time."""

    # Out of repr: a Redis URL can hold its password (`redis://:password@host`).
    redis_url: str = field(default="redis://127.0.0.1:6379/0", repr=False)
    app_path: Path = Path(".")
    jobs_file: Path | None = None
    timezone: str = "UTC"
    lock_ttl: float = 30.0
    visibility_timeout: float = 6 * 3600.0
    task_attempts: int = 3
    task_retry_delay: float = 60.0

    @property
    def jobs_path(self) -> Path:
        return self.jobs_file if self.jobs_file is not None else self.app_path / "config" / "cronjobs"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> CelerySettings:
        environ = os.environ if environ is None else environ

        def read(name: str, parse: Callable[[str], T], default: T) -> T:
            raw = environ.get(name, "").strip()
            return parse(raw) if raw else default

        def seconds(name: str, minimum: float) -> Callable[[str], float]:
            def parse(raw: str) -> float:
                try:
                    value = float(raw)
                except ValueError:
                    value = float("nan")
                if not value >= minimum:  # also refuses NaN
                    raise ConfigurationError(
                        f"expected a number of seconds of at least {minimum:g}, got {raw!r}",
                        source=f"environment variable {name}",
                    )
                return value

            return parse

        def whole_number(raw: str) -> int:
            if not raw.isdigit() or int(raw) < 1:
                raise ConfigurationError(f"expected a whole number of at least 1, got {raw!r}",
                                         source=f"environment variable {TASK_ATTEMPTS}")
            return int(raw)

        default = cls()
        # Absolute: the command lines beat sends name the same files on every worker, whatever its directory.
        app_path = read(APP_PATH, lambda raw: Path(os.path.abspath(raw)), Path.cwd())
        settings = cls(
            redis_url=read(REDIS_URL, str, default.redis_url),
            app_path=app_path,
            jobs_file=read(JOBS_FILE, Path, None),
            timezone=read(TIMEZONE, str, default.timezone),
            lock_ttl=read(LOCK_TTL, seconds(LOCK_TTL, 1), default.lock_ttl),
            visibility_timeout=read(VISIBILITY_TIMEOUT, seconds(VISIBILITY_TIMEOUT, 1), default.visibility_timeout),
            task_attempts=read(TASK_ATTEMPTS, whole_number, default.task_attempts),
            task_retry_delay=read(TASK_RETRY_DELAY, seconds(TASK_RETRY_DELAY, 0), default.task_retry_delay),
        )
        if not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError(
                f"expected a redis://, rediss:// or unix:// URL, got {settings.redis_url.split('@')[-1]!r}",
                source=f"environment variable {REDIS_URL}",
            )
        return settings


@cache
def current_settings() -> CelerySettings:
    """This process's settings, from its environment (read once)."""
    return CelerySettings.from_environment()
