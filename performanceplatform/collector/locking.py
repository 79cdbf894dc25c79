"""One run at a time per query: the lock that keeps overlapping cron runs apart.

The lock is an advisory `flock` on a file in the lock directory, named after the data set and the
query file (or Stagecraft slug). The kernel releases it when the process ends however it ends, so a
crashed run can never leave a lock that blocks the next one; the file itself may stay.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from performanceplatform.collector.errors import ConfigurationError

if TYPE_CHECKING:
    from performanceplatform.collector.context import RunContext

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.1


def lock_name(data_group: str, data_type: str, query_identity: str) -> str:
    """The name of a query's lock, readable and unique: `group.type.<digest of the query>`
    (a lock file's name here, a Redis key's end in the Celery extra)."""
    digest = hashlib.sha256(query_identity.encode("utf-8")).hexdigest()[:12]
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{data_group}.{data_type}")
    return f"{readable}.{digest}"


def lock_path(lock_dir: Path, data_group: str, data_type: str, query_identity: str) -> Path:
    return lock_dir / f"{lock_name(data_group, data_type, query_identity)}.lock"


@contextmanager
def flock_held(
    path: Path, wait_seconds: float, *, cannot_open: Callable[[OSError], Exception], mode: int = 0o644
) -> Iterator[int | None]:
    """Hold an exclusive `flock` on `path`: yield its descriptor, or None if still taken after `wait_seconds`.

    Polled with a deadline rather than blocking, so a process stuck while holding the lock cannot
    hang every other cron job for ever. `cannot_open` turns a failure to create the file into the
    caller's own error.
    """
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    except OSError as error:
        raise cannot_open(error) from None
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield None
                    return
                time.sleep(POLL_INTERVAL)
        try:
            yield descriptor
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@contextmanager
def exclusive_run(path: Path, wait_seconds: float) -> Iterator[bool]:
    """Yield True holding the lock, or False if another run still held it after `wait_seconds`."""

    def cannot_open(error: OSError) -> ConfigurationError:
        return ConfigurationError(
            f"cannot create the lock file ({error.strerror or error}); choose another --lock-dir",
            source=f"lock file {path}",
        )

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise cannot_open(error) from None
    with flock_held(path, wait_seconds, cannot_open=cannot_open) as descriptor:
        if descriptor is not None:
            # Who holds it, for an operator looking at the lock directory.
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"{os.getpid()}\n".encode())
        yield descriptor is not None


class RunLocks(Protocol):
    """Keeps two runs of one query apart: `hold` yields True while this run holds the query's lock,
    or False when another run still held it after waiting (the run is then skipped, exit 0)."""

    def hold(self, context: RunContext, identity: str) -> AbstractContextManager[bool]: ...


@dataclass(frozen=True)
class FileLocks:
    """One flock file per data set and query in `directory` (cron on one host: the default)."""

    directory: Path
    wait_seconds: float

    def hold(self, context: RunContext, identity: str) -> AbstractContextManager[bool]:
        data_set = context.data_set
        return exclusive_run(lock_path(self.directory, data_set.data_group, data_set.data_type, identity),
                             self.wait_seconds)
