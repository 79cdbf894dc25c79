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
from pathlib import Path
from typing import Any

from performanceplatform.collector import config as config_files
from performanceplatform.collector.arguments import build_parser
from performanceplatform.collector.concurrency import CONCURRENCY_VARIABLE, concurrency_from_environment
from performanceplatform.collector.errors import (
    EXIT_COLLECTION_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CollectorError,
    ConfigurationError,
    RunInterrupted,
)
from performanceplatform.collector.logging_setup import configure, level_from_environment
from performanceplatform.collector.redaction import (
    forget_all_secrets,
    redact,
    register_secret,
    register_secrets_in,
)

log = logging.getLogger("performanceplatform.collector")

DEPARTMENT_CODES_VARIABLE = "PP_COLLECTOR_DEPARTMENT_CODES"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    forget_all_secrets()
    if args.check:
        return _check(args)
    try:
        level = level_from_environment()
        logging_setup = configure(console=args.console_logging, log_dir=args.log_dir, level=level)
    except ConfigurationError as error:
        _report(error)
        return error.exit_code
    try:
        with _interruptible():
            return _run(args, logging_setup.context)
    except RunInterrupted as error:
        log.error("%s", error)
        _report(error)
        return error.exit_code
    except CollectorError as error:
        if isinstance(error, ConfigurationError):
            log.error("%s", error)
        else:
            log.error("Collection failed: %s", error, exc_info=True)
        _report(error)
        return error.exit_code
    except Exception as error:
        log.error("Unhandled exception: %s", error, exc_info=True)
        _report(f"internal error: {type(error).__name__}: {error} (the traceback is in the log)")
        return EXIT_COLLECTION_FAILED
    finally:
        logging_setup.close()


def _run(args: Any, context: Any) -> int:
    backdrop_document = config_files.load_json_file(args.performanceplatform, "Backdrop file")
    backdrop = config_files.parse_backdrop_config(backdrop_document, f"Backdrop file {args.performanceplatform}")
    token = config_files.parse_token(
        config_files.load_json_file(args.token, "token file"), f"token file {args.token}"
    )
    register_secret(token)
    credentials = config_files.load_json_file(args.credentials, "credentials file")
    register_secrets_in(credentials)
    register_secret(backdrop.omniscient_api_token)
    config_files.check_date_order(args.start_at, args.end_at)
    if args.department_codes:
        os.environ[DEPARTMENT_CODES_VARIABLE] = args.department_codes
    # Collectors' `main` has a fixed signature, so settings reach them through the environment.
    if args.concurrency is not None:
        os.environ[CONCURRENCY_VARIABLE] = str(args.concurrency)

    if args.query is not None:
        query_document = config_files.load_json_file(args.query, "query file")
        query = config_files.parse_query_config(query_document, f"query file {args.query}", path=args.query)
    else:
        from performanceplatform.collector.stagecraft import fetch_collector_query

        query = fetch_collector_query(backdrop, args.collector_slug)

    context.describe(
        entrypoint=query.entrypoint,
        data_group=query.data_group,
        data_type=query.data_type,
        query=query.query,
        path=query.path,
    )
    log.info("%s logging started", query.entrypoint)

    if os.environ.get("DISABLE_COLLECTORS") == "true":
        log.info(
            "Collector %s NOT run with the following %r",
            query.entrypoint,
            {
                "start_at": args.start_at,
                "end_at": args.end_at,
                "query": {
                    "data-set": {"data-group": query.data_group, "data-type": query.data_type},
                    "query": query.query,
                    "options": query.options,
                },
            },
        )
        return EXIT_OK

    from performanceplatform.collector.runner import load_entrypoint, run_collector

    concurrency_from_environment()  # a bad PP_COLLECTOR_CONCURRENCY fails here, before any request
    collector_main = load_entrypoint(query.entrypoint, query.source)
    data_set_config = config_files.data_set_config(backdrop, token, query, dry_run=args.dry_run)
    with _one_run_per_query(args, query) as holding:
        if not holding:
            return EXIT_OK
        with config_files.credentials_file_named(args.credentials):
            run_collector(
                collector_main,
                credentials=credentials,
                data_set_config=data_set_config,
                query=query,
                start_at=args.start_at,
                end_at=args.end_at,
            )
    log.info("Collection into %s/%s finished", query.data_group, query.data_type)
    return EXIT_OK


@contextmanager
def _one_run_per_query(args: Any, query: Any) -> Iterator[bool]:
    """Hold this query's lock for the run; a dry run pushes nothing, so it needs none."""
    if args.dry_run:
        yield True
        return
    from performanceplatform.collector.locking import exclusive_run, lock_path

    lock_dir = Path(args.lock_dir) if args.lock_dir else Path(args.log_dir).parent / "lock"
    identity = os.path.abspath(query.path) if query.path else f"stagecraft:{args.collector_slug}"
    path = lock_path(lock_dir, query.data_group, query.data_type, identity)
    with exclusive_run(path, args.lock_wait) as holding:
        if not holding:
            log.warning(
                "Another run of %s into %s/%s is still running (lock %s held for over %.0f s); "
                "leaving it to finish",
                identity,
                query.data_group,
                query.data_type,
                path,
                args.lock_wait,
            )
        yield holding


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

    problems = check_files(args)
    for problem in problems:
        print(f"pp-collector: check: {redact(problem)}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    print(f"{args.query}: OK")
    return EXIT_OK


def _report(error: CollectorError | str) -> None:
    # Notes say what had landed in Backdrop when a streamed push stopped (see `backdrop.DataSet`).
    notes = getattr(error, "__notes__", None) or []
    text = "; ".join([str(error), *notes])
    print(f"pp-collector: error: {redact(text)}", file=sys.stderr)
