"""What a run has done so far: a progress display on a terminal, and one summary line at the end.

The parts of a run say what they did as events (`note`): a backfill announces how many periods (or
windows) it will fetch and each one that comes back, each request to a source is one event, each
chunk that lands in Backdrop is one. The events travel on a logger of their own that nothing but
`RunProgress` listens to, so they cost nothing without it, never reach the log files, and need no
plumbing from the CLI to the threads that fetch and push. The CLI attaches a `RunProgress` for the
run; it counts, draws the display when stderr is a terminal (tqdm; nothing of it under cron or in a
log), and writes the summary: periods, source requests, records and chunks, duration, warnings,
and, when a backfill stopped or failed part-way, the `-s` date from which a re-run completes it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

EVENTS = logging.getLogger("performanceplatform.collector.progress")
EVENTS.propagate = False  # events are for RunProgress only, never for the log files
EVENTS.setLevel(logging.INFO)

PERIODS = "periods"  # total=<n>, unit="periods"|"windows"|...: a backfill's size, once
PERIOD = "period"  # one period's (or window's) rows have come back
REQUEST = "request"  # service=<name>: one request (one attempt) to a source
CHUNK = "chunk"  # number=<n>, records=<n>, last=<the chunk's last _timestamp>: a chunk landed
REPLACES = "replaces"  # the push empties the data set first: a re-run redoes it whole, from no date


def note(event: str, **fields: Any) -> None:
    """Say that `event` happened (see the events above)."""
    if EVENTS.handlers:
        EVENTS.info(event, extra={"progress": event, **fields})


@dataclass
class _Counts:
    periods_total: int | None = None
    unit: str = "periods"
    periods_done: int = 0
    source_requests: int = 0
    records: int = 0
    chunks: int = 0
    warnings: int = 0
    # Chunk number → its last record's `_timestamp`; and how far every chunk has landed, in order.
    landed: dict[int, Any] = field(default_factory=dict)
    landed_in_order: int = 0
    replaces: bool = False


class RunProgress(logging.Handler):
    """Counts a run's events and warnings; draws them on a terminal; says what the run did."""

    def __init__(self, *, display_on: IO[str] | None = None):
        super().__init__(logging.INFO)
        self._counts = _Counts()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._display_on = display_on
        self._bar: Any = None

    def attach(self) -> RunProgress:
        """Listen to the events, and to the run's warnings on the root logger."""
        EVENTS.addHandler(self)
        logging.getLogger().addHandler(self)
        return self

    def close(self) -> None:
        EVENTS.removeHandler(self)
        logging.getLogger().removeHandler(self)
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        super().close()

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "progress", None)
        counts = self._counts
        with self._lock:
            if event is None:
                if record.levelno >= logging.WARNING:
                    counts.warnings += 1
                return
            if event == PERIODS:
                counts.periods_total = int(getattr(record, "total", 0))
                counts.unit = str(getattr(record, "unit", "periods"))
            elif event == PERIOD:
                counts.periods_done += 1
            elif event == REPLACES:
                counts.replaces = True
            elif event == REQUEST:
                counts.source_requests += 1
            elif event == CHUNK:
                counts.chunks += 1
                counts.records += int(getattr(record, "records", 0))
                counts.landed[int(getattr(record, "number", 0))] = getattr(record, "last", None)
                while counts.landed_in_order + 1 in counts.landed:
                    counts.landed_in_order += 1
            self._draw(counts)

    # The display ---------------------------------------------------------------------------------

    def _draw(self, counts: _Counts) -> None:
        if self._display_on is None:
            return
        if self._bar is None:
            # Imported only for a person at a terminal: a cron run never pays for it.
            from tqdm import tqdm

            self._bar = tqdm(total=counts.periods_total, unit=f" {counts.unit}", file=self._display_on,
                             dynamic_ncols=True, leave=False)
        bar = self._bar
        if counts.periods_total is not None and bar.total != counts.periods_total:
            bar.total = counts.periods_total
            bar.unit = f" {counts.unit}"
        bar.n = counts.periods_done
        bar.set_postfix_str(f"{counts.records:,} records pushed, {counts.source_requests} requests", refresh=False)
        bar.refresh()

    # The summary ---------------------------------------------------------------------------------

    def summary(self, outcome: str = "finished", *, resume_from: date | None = None) -> str:
        """One line: what the run did, how long it took, and how to complete it if it did not finish."""
        with self._lock:
            counts = self._counts
            seconds = time.monotonic() - self._started
            parts = []
            if counts.periods_total is not None:
                parts.append(f"{counts.periods_done} of {counts.periods_total} {counts.unit}")
            parts += [
                f"{counts.source_requests} source request{'s' if counts.source_requests != 1 else ''}",
                f"{counts.records} record{'s' if counts.records != 1 else ''} in {counts.chunks} "
                f"chunk{'s' if counts.chunks != 1 else ''}",
                f"{seconds:.1f} s",
                f"{counts.warnings} warning{'s' if counts.warnings != 1 else ''}",
            ]
        line = f"Run {outcome}: " + ", ".join(parts)
        if resume_from is not None:
            line += f"; re-run with -s {resume_from.isoformat()} to complete the data set"
        return line

    def resume_date(self, start_at: date | datetime | None) -> date | None:
        """Where a re-run of a stopped or failed backfill starts: the day of the last record known to
        have landed with every record before it (re-pushing the rest of its period overwrites,
        by `_id`); the run's own start when none had; None when the run fetched no periods (a
        realtime count, trending's fortnight) or replaces the data set, which a re-run redoes whole."""
        with self._lock:
            counts = self._counts
            if counts.periods_total is None or counts.replaces:
                return None
            last = counts.landed.get(counts.landed_in_order) if counts.landed_in_order else None
        day = _day_of(last)
        if day is not None:
            return day
        if isinstance(start_at, datetime):
            return start_at.date()
        return start_at


def _day_of(timestamp: Any) -> date | None:
    if isinstance(timestamp, datetime):
        return timestamp.date()
    if isinstance(timestamp, date):
        return timestamp
    if isinstance(timestamp, str):
        try:
            return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).date()
        except ValueError:
            return None
    return None
