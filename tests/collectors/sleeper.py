"""A collector for lock and signal tests: says on stdout that it started, then sleeps.

The test reads that line (an event, not a file it polls for), then does what it tests while the
run is asleep holding its lock.
"""

import sys
import time
from pathlib import Path


def main(credentials, data_set_config, query, options, start_at, end_at):
    Path(query["started"]).write_text("started")
    print("started", flush=True)
    time.sleep(float(query["sleep"]))
    Path(query["finished"]).write_text("finished")
    sys.stdout.flush()
