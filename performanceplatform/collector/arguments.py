"""The command line: flags, their help, and parsing of the dates.

Only parsing happens here; files are loaded by `config` so that their errors can name the file,
the key and what was expected.
"""

from __future__ import annotations

import argparse
import math
import re
from datetime import datetime

from performanceplatform.collector import __version__
from performanceplatform.collector.concurrency import (
    CONCURRENCY_VARIABLE,
    DEFAULT_CONCURRENCY,
    DEFAULT_PUSH_CONCURRENCY,
    GA4_MAX_CONCURRENCY,
    PUSH_CONCURRENCY_VARIABLE,
    parse_concurrency,
)
from performanceplatform.collector.errors import ConfigurationError

DESCRIPTION = (
    "Performance Platform Collector: fetches numbers from a source (Google Analytics, Pingdom, ...) "
    "as a query file describes, and pushes them as records to a Backdrop data set."
)

EPILOG = """\
exit codes:
  0    success (also when DISABLE_COLLECTORS=true or another run of the same query holds the lock)
  1    the collection failed (a source or Backdrop error); see the log for details
  2    usage or configuration error: fix the command line or the named file
  130  interrupted by Ctrl-C (SIGINT); 143 terminated by SIGTERM

environment:
  LOGLEVEL                         DEBUG, INFO (default), WARNING, ERROR or CRITICAL
  DISABLE_COLLECTORS=true          log what would have run, and exit 0
  PP_COLLECTOR_DEPARTMENT_CODES    JSON file of department codes (same as --department-codes)
  PP_COLLECTOR_CONCURRENCY         periods fetched at once in a backfill (same as --concurrency)
  PP_COLLECTOR_GA4_MAP             the GA4 migration file (same as --ga4-map)
  PP_COLLECTOR_PUSH_CONCURRENCY    chunks on their way to Backdrop at once (same as --push-concurrency)
  PP_COLLECTOR_RETRY_ATTEMPTS, PP_COLLECTOR_RETRY_BASE_DELAY, PP_COLLECTOR_RETRY_MAX_DELAY,
  PP_COLLECTOR_RETRY_MAX_TOTAL_DELAY, PP_COLLECTOR_CONNECT_TIMEOUT, PP_COLLECTOR_READ_TIMEOUT
                                   tune retries and timeouts (seconds)
  PP_COLLECTOR_ALLOW_INSECURE_HTTP=true
                                   allow credentials over plain http to non-loopback hosts
"""


ISO_8601_HINT = "write it as YYYY-MM-DD (ISO 8601), e.g. 2014-08-03, or 2014-08-03T10:00:00+01:00 with a time"
# A date that opens with a four-digit year is year-month-day, as in ISO 8601: nobody writes
# year-day-month, though dateutil can read it so.
_YEAR_FIRST = re.compile(r"\s*\d{4}(?:\D|\d{4}(?!\d))")
# Two defaults that differ in year, month and day (both leap years, both 31-day months): a field
# the text leaves out comes from the default, so it differs between the two readings.
_DEFAULTS = (datetime(2000, 1, 1), datetime(2004, 3, 2))
_DATE_FIELDS = ("year", "month", "day")


def parse_date(value: str) -> datetime:
    """A free-form date, as the original read them (`2014-08-03`, `2014-08-03T10:00+01:00`,
    `3 August 2014`), but never a guess.

    The original filled a missing year, month or day from today (`June 2` meant this year's) and
    read `01/02/2024` as 2 January (US order) in a UK tool; both are refused, asking for ISO 8601.
    A numeric date whose readings agree (`13/02/2024`, `01/01/2024`) is accepted.
    """
    from dateutil import parser as date_parser

    def read(default: datetime, *, dayfirst: bool = False, yearfirst: bool = False) -> datetime:
        return date_parser.parse(value, default=default, dayfirst=dayfirst, yearfirst=yearfirst)

    try:
        first, second = (read(default) for default in _DEFAULTS)
    except (ValueError, OverflowError, TypeError):
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: {ISO_8601_HINT}") from None
    missing = [name for name in _DATE_FIELDS if getattr(first, name) != getattr(second, name)]
    if missing:
        raise argparse.ArgumentTypeError(f"{value!r} has no {_joined(missing, 'and')}: {ISO_8601_HINT}")
    if not _YEAR_FIRST.match(value):
        readings = set()
        for dayfirst in (False, True):
            for yearfirst in (False, True):
                try:
                    readings.add(read(_DEFAULTS[0], dayfirst=dayfirst, yearfirst=yearfirst).date())
                except (ValueError, OverflowError):
                    continue  # not a date in that order, so not a possible reading
        if len(readings) > 1:
            shown = _joined([f"{reading:%-d %B %Y}" for reading in sorted(readings)], "or")
            raise argparse.ArgumentTypeError(
                f"{value!r} could be {shown}: the order of day, month and year is ambiguous; {ISO_8601_HINT}"
            )
    return first


def _joined(words: list[str], conjunction: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def parse_lock_wait(value: str) -> float:
    """`--lock-wait`: seconds, zero or more (a negative or NaN wait would never wait at all, silently)."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, 0 or more, got {value!r}")
    return seconds


def parse_concurrency_flag(value: str) -> int:
    try:
        return parse_concurrency(value, source="--concurrency")
    except ConfigurationError as error:
        raise argparse.ArgumentTypeError(error.detail) from None


def parse_push_concurrency_flag(value: str) -> int:
    try:
        return parse_concurrency(value, source="--push-concurrency")
    except ConfigurationError as error:
        raise argparse.ArgumentTypeError(error.detail) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pp-collector",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "-q", "--query", metavar="QUERY.json", help="query file: entrypoint, data-set, query, options"
    )
    source.add_argument(
        "-l",
        "--collector",
        metavar="SLUG",
        dest="collector_slug",
        help="fetch the query of collector SLUG from Stagecraft (needs stagecraft_url and "
        "omniscient_api_token in the -b file)",
    )
    parser.add_argument(
        "-c", "--credentials", metavar="CREDENTIALS.json", required=True,
        help="credentials for the source (Google Analytics, Pingdom, ...)",
    )
    parser.add_argument(
        "-t", "--token", metavar="TOKEN.json", required=True,
        help='the Backdrop bearer token: {"token": "..."}',
    )
    parser.add_argument(
        "-b", "--performanceplatform", metavar="BACKDROP.json", required=True,
        help='where to push: {"backdrop_url": "https://.../data"} (older files: "url")',
    )
    parser.add_argument(
        "-s", "--start", metavar="START", dest="start_at", type=parse_date,
        help="first date to collect (backfill), best as YYYY-MM-DD; defaults depend on the collector",
    )
    parser.add_argument(
        "-e", "--end", metavar="END", dest="end_at", type=parse_date,
        help="last date to collect; needs --start for Google Analytics",
    )
    parser.add_argument(
        "--console-logging", action="store_true",
        help="log human-readable lines to stderr instead of the log files",
    )
    parser.add_argument(
        "--dry-run", action="store_true",
        help="fetch from the source but send nothing to Backdrop; print each request that "
        "would be sent (token redacted) on stdout",
    )
    parser.add_argument(
        "--log-dir", metavar="DIR", default="log",
        help="directory for collector.log and collector.json.log (default: ./log)",
    )
    parser.add_argument(
        "--lock-dir", metavar="DIR", default=None,
        help="directory for the lock files that stop two runs of the same query overlapping "
        "(default: 'lock' beside the log directory)",
    )
    parser.add_argument(
        "--lock-wait", metavar="SECONDS", type=parse_lock_wait, default=10.0,
        help="how long to wait for an overlapping run of the same query to finish before "
        "leaving it be and exiting 0 (default: 10)",
    )
    parser.add_argument(
        "--department-codes", metavar="CODES.json",
        help="JSON object mapping department codes (<D1>) to GOV.UK organisation slugs, "
        "used by the department plugins and ga.contrib.content.table",
    )
    parser.add_argument(
        "--concurrency", metavar="N", type=parse_concurrency_flag, default=None,
        help=f"how many periods (Google Analytics), weeks (Pingdom) or requests (Matomo) a backfill fetches at once "
        f"(default: {DEFAULT_CONCURRENCY}; at least 1, which fetches one after another). GA4 "
        f"allows {GA4_MAX_CONCURRENCY} concurrent requests per property, so GA4 queries use at most "
        f"{GA4_MAX_CONCURRENCY}. Records still reach Backdrop in period order. "
        f"Same as {CONCURRENCY_VARIABLE}",
    )
    parser.add_argument(
        "--ga4-map", metavar="MAP.json", default=None,
        help="the GA4 migration file: the GA4 property each Universal Analytics view became, goals as "
        "key events, event fields, accepted approximations (README: Moving from Universal Analytics). "
        "A query whose view it maps is asked of GA4. Default: PP_COLLECTOR_GA4_MAP",
    )
    parser.add_argument(
        "--push-concurrency", metavar="N", type=parse_push_concurrency_flag, default=None,
        help=f"how many chunks of records may be on their way to Backdrop at once (default: "
        f"{DEFAULT_PUSH_CONCURRENCY}; 1 sends each chunk once the one before it was stored). A chunk "
        f"repeating an _id of a chunk still on its way waits for it, so Backdrop ends up with what a "
        f"one-at-a-time push leaves. Same as {PUSH_CONCURRENCY_VARIABLE}",
    )
    parser.add_argument(
        "--check", action="store_true",
        help="check the four files (JSON, required keys, entrypoint, query, plugins, credentials "
        "shape, dates) without touching the network; exit 0, or 2 with one line per problem",
    )
    parser.add_argument(
        "--online", action="store_true",
        help="with --check: also prove the credentials (a token, and the smallest request the source "
        "answers) and that Backdrop answers at its URL and takes the token (an empty push, which stores "
        "nothing); no record is fetched for Backdrop or written",
    )
    parser.add_argument("--version", action="version", version=f"pp-collector {__version__}")
    return parser
