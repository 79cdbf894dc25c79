"""`pp-collector`: parse the command line, load the files, run the collector, map errors to exit codes.

Everything of substance lives in the library modules; this is the thin client around them. A
failure prints one line to stderr (cron mails it) and its details go to the log.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from performanceplatform.collector import config as config_files
from performanceplatform.collector.arguments import build_parser
from performanceplatform.collector.errors import (
    EXIT_COLLECTION_FAILED,
    EXIT_OK,
    CollectorError,
    ConfigurationError,
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
# Keys of credentials files whose values are file paths or URLs, not secrets: hiding them would
# only make error messages about them unreadable.
CREDENTIAL_PATH_KEYS = ("CLIENT_SECRETS", "STORAGE_PATH", "PRIVATE_KEY", "SERVICE_ACCOUNT_KEY", "API_ROOT")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    forget_all_secrets()
    try:
        level = level_from_environment()
        logging_setup = configure(console=args.console_logging, log_dir=args.log_dir, level=level)
    except ConfigurationError as error:
        _report(error)
        return error.exit_code
    try:
        return _run(args, logging_setup.context)
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
    register_secrets_in({k: v for k, v in credentials.items() if k not in CREDENTIAL_PATH_KEYS})
    register_secret(backdrop.omniscient_api_token)
    config_files.check_date_order(args.start_at, args.end_at)
    if args.department_codes:
        os.environ[DEPARTMENT_CODES_VARIABLE] = args.department_codes

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

    collector_main = load_entrypoint(query.entrypoint, query.source)
    data_set_config = config_files.data_set_config(backdrop, token, query, dry_run=args.dry_run)
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


def _report(error: CollectorError | str) -> None:
    print(f"pp-collector: error: {redact(str(error))}", file=sys.stderr)
