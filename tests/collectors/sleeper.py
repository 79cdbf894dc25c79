"""A collector for lock and signal tests: announces that it started, then sleeps."""

import time
from pathlib import Path


def main(credentials, data_set_config, query, options, start_at, end_at):
    Path(query["started"]).write_text("started")
    time.sleep(float(query["sleep"]))
    Path(query["finished"]).write_text("finished")
