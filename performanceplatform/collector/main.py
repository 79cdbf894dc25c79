"""`pp-collector`: parse the command line, load the files, run the collector, map errors to exit codes.

Everything of substance lives in the library modules; this is the thin client around them. A
failure prints one line to stderr (cron mails it) and its details go to the log.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from performanceplatform.collector.arguments import build_parser
from performanceplatform.collector.context import RunContext, load_context
from performanceplatform.collector.errors import (
    EXIT_COLLECTION_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CollectorError,
    ConfigurationError,
    RunInterrupted,
)
from performanceplatform.collector.logging_setup import LogFields, configure, level_from_environment
from performanceplatform.collector.progress import RunProgress

if TYPE_CHECKING:
    from performanceplatform.collector.locking import RunLocks
from performanceplatform.collector.redaction import forget_all_secrets, redact

log = logging.getLogger("performanceplatform.collector")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.online and not args.check:
        parser.error("--online goes with --check: it proves the files' credentials and Backdrop without a run")
    return run_command(args)


def run_command(args: Any, *, locks: RunLocks | None = None) -> int:
    """One `pp-collector` run of parsed arguments, as the CLI makes it: logging, the run context,
    the query's lock (`locks`; by default a flock in the lock directory), the collector, and the
    error mapped to an exit code. A scheduler that runs jobs in-process (Celery) calls this too."""
    forget_all_secrets()
    if args.check:
        return _check(args)
    try:
        level = level_from_environment()
        logging_setup = configure(console=args.console_logging, log_dir=args.log_dir, level=level)
    except ConfigurationError as error:
        _report(error)
        return error.exit_code
    run_progress = RunProgress(display_on=sys.stderr if _at_a_terminal() else None).attach()
    try:
        with _interruptible():
            exit_code = _run(args, logging_setup.fields, locks or _file_locks(args))
        log.info("%s", run_progress.summary())
        return exit_code
    except CollectorError as error:
        # An expected failure is one line (a traceback only at LOGLEVEL=DEBUG); with
        # --console-logging that line is the report, not a log line saying it again.
        outcome = "stopped" if isinstance(error, RunInterrupted) else "failed"
        resume_from = None if isinstance(error, ConfigurationError) else run_progress.resume_date(args.start_at)
        log.info("%s", run_progress.summary(outcome, resume_from=resume_from))
        if not args.console_logging:
            log.error("%s", _with_notes(error), exc_info=level <= logging.DEBUG)
        _report(error, resume_from)
        return error.exit_code
    except Exception as error:
        log.info("%s", run_progress.summary("failed"))
        log.error("Unhandled exception: %s", error, exc_info=True)
        where = "above" if args.console_logging else "in the log"
        _report(f"internal error: {type(error).__name__}: {error} (the traceback is {where})")
        return EXIT_COLLECTION_FAILED
    finally:
        run_progress.close()
        logging_setup.close()


def _run(args: Any, log_fields: LogFields, locks: RunLocks) -> int:
    context = load_context(args)
    log_fields.describe(
        entrypoint=context.entrypoint,
        data_group=context.data_set.data_group,
        data_type=context.data_set.data_type,
        query=context.query,
        path=context.query_path,
    )
    log.info("%s logging started", context.entrypoint)

    if os.environ.get("DISABLE_COLLECTORS", "").strip().lower() == "true":
        log.info(
            "Collector %s NOT run with the following %r",
            context.entrypoint,
            {
                "start_at": context.start_at,
                "end_at": context.end_at,
                "query": {
                    "data-set": {"data-group": context.data_set.data_group, "data-type": context.data_set.data_type},
                    "query": dict(context.query),
                    "options": dict(context.options.raw),
                },
            },
        )
        return EXIT_OK

    from performanceplatform.collector import runner

    collector = runner.load_collector(context.entrypoint, context.query_source)
    with _one_run_per_query(args, context, locks) as holding:
        if not holding:
            return EXIT_OK
        runner.run(collector, context)
    return EXIT_OK


@contextmanager
def _one_run_per_query(args: Any, context: RunContext, locks: RunLocks) -> Iterator[bool]:
    """Hold this query's lock for the run; a dry run pushes nothing, so it needs none."""
    if context.dry_run:
        yield True
        return
    identity = os.path.abspath(context.query_path) if context.query_path else f"stagecraft:{args.collector_slug}"
    with locks.hold(context, identity) as holding:
        if not holding:
            message = (
                f"Another run of {identity} into {context.data_set.name} is still running (its lock was held for "
                f"over {args.lock_wait:.0f} s); leaving it to finish"
            )
            log.warning("%s", message)
            if _at_a_terminal() and not args.console_logging:
                # Cron wants silence (exit 0); a person at a terminal wants to know nothing ran.
                print(f"pp-collector: {message}", file=sys.stderr)
        yield holding


def _file_locks(args: Any) -> RunLocks:
    from performanceplatform.collector.locking import FileLocks

    return FileLocks(Path(args.lock_dir) if args.lock_dir else Path(args.log_dir).parent / "lock", args.lock_wait)


@contextmanager
def _interruptible() -> Iterator[None]:
    """Turn SIGTERM (and Ctrl-C) into `RunInterrupted`, raised wherever the run is."""

    def terminate(signum: int, frame: object) -> None:
        raise RunInterrupted(f"stopped by {signal.Signals(signum).name}", signal_number=signum)

    def interrupt(signum: int, frame: object) -> None:
        # Raised as a RunInterrupted rather than a KeyboardInterrupt, so that the Backdrop client
        # can add what had landed, as it does for SIGTERM.
        raise RunInterrupted("stopped by SIGINT (Ctrl-C)", signal_number=signal.SIGINT)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, terminate)
    previous_interrupt = signal.getsignal(signal.SIGINT)
    if previous_interrupt is not signal.SIG_IGN:  # a job started in the background ignores Ctrl-C
        signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        raise RunInterrupted("stopped by SIGINT (Ctrl-C)", signal_number=signal.SIGINT) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_interrupt is not None:
            signal.signal(signal.SIGINT, previous_interrupt)


def _check(args: Any) -> int:
    from performanceplatform.collector.check import check_files

    problems, proven = check_files(args)
    for problem in problems:
        print(f"pp-collector: check: {redact(problem)}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    print(redact(f"{args.query}: OK" + (f" ({'; '.join(proven)})" if proven else "")))
    return EXIT_OK


def _report(error: CollectorError | str, resume_from: date | None = None) -> None:
    """The one line cron mails: the error, what had landed, and where a re-run would start."""
    text = _with_notes(error)
    if resume_from is not None:
        text += f"; re-run with -s {resume_from.isoformat()} to complete the data set"
    print(f"pp-collector: error: {redact(text)}", file=sys.stderr)


def _with_notes(error: CollectorError | str) -> str:
    # Notes say what had landed in Backdrop when a push stopped (see `backdrop.sink`).
    notes = getattr(error, "__notes__", None) or []
    return "; ".join([str(error), *notes])


def _at_a_terminal() -> bool:
    """Whether a person is watching: stderr is a terminal (never under cron)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
