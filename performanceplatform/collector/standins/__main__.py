"""`python -m performanceplatform.collector.standins`: the stand-ins on a local port, until Ctrl-C.

For developing a query file or a new collector without a Google, Pingdom, Matomo or Backdrop account:
every service pp-collector talks to answers on http://127.0.0.1:PORT, accepts the example
accounts of `examples/`, and makes up numbers for any query. What is pushed can be read back with
`GET /data/<group>/<type>`, and with `--database` it survives a restart.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from performanceplatform.collector.standins.local import (
    DEFAULT_PORT,
    DEFAULT_SEED,
    EXAMPLE_BACKDROP_TOKENS,
    EXAMPLES_BASE_URL,
    LocalStandIns,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m performanceplatform.collector.standins",
        description="Serve stand-ins of Google OAuth, Google Analytics, Pingdom, Matomo, Backdrop and Stagecraft "
        "on 127.0.0.1, for running pp-collector offline. Stop with Ctrl-C.",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}, the one examples/ names; 0 picks a free one)",
    )
    parser.add_argument(
        "--database", metavar="FILE",
        help="keep Backdrop's data sets and records in this SQLite file, so they survive a restart",
    )
    parser.add_argument(
        "--backdrop-token", metavar="TOKEN", action="append", default=[],
        help="also accept pushes to any data set with this bearer token (repeatable); the example "
        "tokens are always accepted",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED,
        help=f"seed of the made-up numbers (default {DEFAULT_SEED}): the same seed, the same numbers",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0 <= args.port < 65536:
        print(f"standins: error: --port must be between 0 and 65535, got {args.port}", file=sys.stderr)
        return 2
    stand_ins = LocalStandIns(
        args.port, seed=args.seed, database=args.database, backdrop_tokens=args.backdrop_token
    )
    try:
        stand_ins.start()
    except OSError as error:
        stand_ins.stop()
        print(f"standins: error: cannot listen on 127.0.0.1:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    # SIGTERM (kill, a test's terminate()) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        print(describe(stand_ins, args.database), flush=True)
        stopping.wait()
    finally:
        stand_ins.stop()
    print("standins: stopped", flush=True)
    return 0


def describe(stand_ins: LocalStandIns, database: str | None) -> str:
    lines = [f"Stand-ins listening on {stand_ins.url} (Ctrl-C stops them)"]
    lines += [f"  {url:<48} {description}" for url, description in stand_ins.endpoints()]
    if stand_ins.url != EXAMPLES_BASE_URL:
        lines.append(f"The files in examples/ name {EXAMPLES_BASE_URL}: use copies that name {stand_ins.url}.")
    tokens = ", ".join(sorted(stand_ins.backdrop.open_tokens))
    lines.append(f"Backdrop accepts pushes to any data set with one of: {tokens}")
    lines.append(f"Read what landed: GET {stand_ins.url}/data/<data-group>/<data-type>")
    if database:
        lines.append(f"Backdrop keeps its data in {database}")
    example = f"examples/tokens/{next(iter(EXAMPLE_BACKDROP_TOKENS))}.json"
    lines.append(f"Ready. Example: pp-collector -q examples/queries/ga4-weekly-devices.json "
                 f"-c examples/credentials/ga-service-account.json -t {example} -b examples/backdrop.json")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
