"""Where log lines go: stderr (`--console-logging`) or two files in the log directory.

The files are `collector.log` (text) and `collector.json.log` (one logstash-style JSON object per
line). Hundreds of cron processes append to the same files, so each record is written with a single
`write()` on a file opened with O_APPEND: the kernel keeps such writes whole and in order, with no
lock files. Rotation is left to logrotate (`copytruncate` is safe with O_APPEND).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.redaction import RedactingFilter, redact

TEXT_LOG = "collector.log"
JSON_LOG = "collector.json.log"
TEXT_FORMAT = "%(asctime)s [%(levelname)s] %(name)s -> %(message)s"
CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# LogRecord attributes that are plumbing rather than information.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def level_from_environment(environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    name = environ.get("LOGLEVEL", "INFO").strip().upper() or "INFO"
    if name not in LEVELS:
        raise ConfigurationError(
            f"expected one of {', '.join(LEVELS)}, got {environ.get('LOGLEVEL')!r}",
            source="environment variable LOGLEVEL",
        )
    return getattr(logging, name)


@dataclass
class LogFields(logging.Filter):
    """Fields about the run that every JSON log line carries, filled in once the query is known."""

    entrypoint: str = "unknown"
    fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    def describe(
        self, *, entrypoint: str, data_group: str, data_type: str, query: Mapping[str, Any], path: str | None
    ) -> None:
        self.entrypoint = entrypoint
        self.fields = {
            "data_group": data_group,
            "data_type": data_type,
            "data_group_data_type": f"{data_group}/{data_type}",
            "query": " ".join(f"{key}={query[key]!r}" for key in sorted(query)),
        }
        if path is not None:
            self.fields["path_to_query"] = path

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_context = self
        return True


class AppendingFileHandler(logging.Handler):
    """One `os.write` per record on an O_APPEND descriptor: safe for many writers at once."""

    def __init__(self, path: Path, formatter: logging.Formatter):
        super().__init__()
        self.path = path
        self.setFormatter(formatter)
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record).replace("\n", "\n    ") + "\n"
            if self._fd is not None:
                os.write(self._fd, line.encode("utf-8", "replace"))
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        super().close()


class JsonLineHandler(AppendingFileHandler):
    def __init__(self, path: Path, formatter: logging.Formatter):
        super().__init__(path, formatter)
        self.host = socket.gethostname()  # once: a backfill writes thousands of lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = json.dumps(self.document(record), default=str) + "\n"
            if self._fd is not None:
                os.write(self._fd, line.encode("utf-8", "replace"))
        except Exception:
            self.handleError(record)

    def document(self, record: logging.LogRecord) -> dict[str, Any]:
        context: LogFields | None = getattr(record, "run_context", None)
        fields: dict[str, Any] = {
            "levelname": record.levelname,
            "name": record.name,
            "module": record.module,
            "funcName": record.funcName,
            "lineno": record.lineno,
            "process": record.process,
            "threadName": record.threadName,
        }
        if context is not None:
            fields.update(context.fields)
        # Extras are ours only: libraries put raw request details (google-auth: signed assertions)
        # in theirs, and those are not registered secrets.
        if record.name.startswith("performanceplatform"):
            for key, value in vars(record).items():
                if key not in _RECORD_ATTRIBUTES and key != "run_context":
                    fields[key] = redact(value) if isinstance(value, str) else value
        if record.exc_text:
            fields["exc_text"] = record.exc_text
        return {
            "@timestamp": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "@message": record.getMessage(),
            "@source_host": self.host,
            "@tags": ["collector", context.entrypoint if context else "unknown"],
            "@fields": fields,
        }


@dataclass
class LoggingSetup:
    fields: LogFields
    handlers: list[logging.Handler]
    previous_level: int

    def close(self) -> None:
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(self.previous_level)


def configure(*, console: bool, log_dir: str | Path, level: int) -> LoggingSetup:
    """Attach this run's handlers to the root logger; `close()` removes them again."""
    fields = LogFields()
    redacting = RedactingFilter()
    handlers: list[logging.Handler] = []
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter(CONSOLE_FORMAT))
        handlers.append(stream)
    else:
        directory = Path(log_dir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            handlers.append(AppendingFileHandler(directory / TEXT_LOG, logging.Formatter(TEXT_FORMAT)))
            handlers.append(JsonLineHandler(directory / JSON_LOG, logging.Formatter()))
        except OSError as error:
            for handler in handlers:
                handler.close()
            raise ConfigurationError(
                f"cannot write log files there ({error.strerror or error}); choose another "
                "--log-dir or use --console-logging",
                source=f"log directory {directory}",
            ) from None
    root = logging.getLogger()
    for handler in handlers:
        handler.addFilter(fields)
        handler.addFilter(redacting)
        root.addHandler(handler)
    previous_level = root.level
    root.setLevel(level)
    # Libraries' own chatter (connection pools, discovery cache) is only wanted when debugging.
    for noisy in ("urllib3", "googleapiclient.discovery_cache", "google.auth"):
        logging.getLogger(noisy).setLevel(max(level, logging.INFO) if level > logging.DEBUG else level)
    return LoggingSetup(fields=fields, handlers=handlers, previous_level=previous_level)
