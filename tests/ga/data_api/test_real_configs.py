"""Every production `ga`, `ga.realtime`, `ga.trending` and content.table query file, moved to GA4.

Each file is read where it lives (`../shared/real-configs/queries/`), its view id rewritten in
memory to a `properties/<same digits>` id and written to a temporary directory (never into the
repo), and run through `pp-collector --dry-run` against the Data API stand-in, which makes up a
few rows for any report. A file either collects (records built, nothing pushed) or is refused
before any request with one line naming the key and why GA4 cannot answer it. Which files are
refused, and for what, is pinned below: a change in translation shows up as a changed count.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.google_analytics_data import GoogleAnalyticsDataStandIn
from performanceplatform.collector.standins.google_oauth import ANALYTICS_READONLY, GoogleOAuthStandIn
from tests.support.cli import run_cli
from tests.support.google import SERVICE_ACCOUNT_EMAIL, GoogleKeyPair, ServiceAccount, write_json
from tests.support.shared import PRODUCTION_DEPARTMENT_CODES, REAL_CONFIGS, require_shared

# Whole runs over many files or processes: `pytest -m 'not slow'` leaves them out while developing.
pytestmark = pytest.mark.slow

require_shared(REAL_CONFIGS)
require_shared(PRODUCTION_DEPARTMENT_CODES)

QUERIES = REAL_CONFIGS / "queries"
PREFIX = "performanceplatform.collector."
# The key holding the view id, per entrypoint.
ID_KEYS = {"ga": "id", "ga.realtime": "ids", "ga.trending": "id", "ga.contrib.content.table": "id"}
COLLECTED = "collected"

# What a refusal says (after "key 'query.<key>': '<name>' ...") → the reason counted below.
REASONS = {
    "the GA4 Data API has no segments": "segment",
    "the Data API reports 'browser' but not its version": "browserVersion",
    "the Data API has no entrances": "entrances",
    "GA4 has no goals": "goals (goalNStarts, goalNCompletions)",
    "GA4 does not count unique events": "uniqueEvents",
    "GA4 does not count unique page views": "uniquePageviews",
    "GA4 has no such rate": "percentNewSessions",
    "GA4 events have a name and parameters": "event category / action / label",
    "GA4's Realtime API has no page path": "realtime page-path filter",
    "UA custom dimensions and metrics are numbered": "UA custom dimension by index (dimension9)",
}

# Files per (entrypoint, outcome): collected, or refused for the reason given.
EXPECTED = {
    ("ga", COLLECTED): 161,
    ("ga", "browserVersion"): 49,
    ("ga", "goals (goalNStarts, goalNCompletions)"): 64,
    ("ga", "segment"): 32,
    ("ga", "entrances"): 19,
    ("ga", "uniqueEvents"): 14,
    ("ga", "uniquePageviews"): 7,
    ("ga", "percentNewSessions"): 5,
    ("ga", "event category / action / label"): 4,
    ("ga.realtime", COLLECTED): 45,
    ("ga.realtime", "realtime page-path filter"): 7,
    ("ga.trending", COLLECTED): 1,
    ("ga.contrib.content.table", "uniquePageviews"): 9,
    ("ga.contrib.content.table", "entrances"): 3,
    ("ga.contrib.content.table", "UA custom dimension by index (dimension9)"): 2,
    ("ga.contrib.content.table", "browserVersion"): 1,
}


def ga_query_files() -> list[tuple[Path, str]]:
    files = []
    for path in sorted(QUERIES.rglob("*.json")):
        try:
            entrypoint = json.loads(path.read_text()).get("entrypoint", "")
        except ValueError:
            continue
        if entrypoint.removeprefix(PREFIX) in ID_KEYS:
            files.append((path, entrypoint.removeprefix(PREFIX)))
    return files


def as_ga4(document: dict, entrypoint: str) -> dict:
    """The query file with its view (`ga:74473500`, `66829898`) as a property (`properties/74473500`)."""
    key = ID_KEYS[entrypoint]
    return {**document, "query": {**document["query"], key: "properties/" + re.sub(r"\D", "", document["query"][key])}}


@dataclass
class Outcome:
    entrypoint: str
    exit_code: int
    stdout: str
    stderr: str
    statuses: list[int | None]
    pushed: int

    @property
    def reason(self) -> str:
        if self.exit_code == 0:
            return COLLECTED
        reasons = {reason for text, reason in REASONS.items() if text in self.stderr}
        return reasons.pop() if len(reasons) == 1 else f"unexpected: {self.stderr.strip()}"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, google_key_pair: GoogleKeyPair) -> Iterator[dict[str, Outcome]]:
    oauth = GoogleOAuthStandIn()
    api = GoogleAnalyticsDataStandIn(authorize=lambda request: oauth.check_bearer(request, ANALYTICS_READONLY))
    backdrop = BackdropStandIn()
    for stand_in in (oauth, api, backdrop):
        stand_in.start()
    api.auto_rows = 3
    api.realtime_rows = [{"activeUsers": "12"}]
    oauth.add_service_account(SERVICE_ACCOUNT_EMAIL, google_key_pair.public_pem)
    directory = tmp_path_factory.mktemp("ga4-real-configs")
    key = write_json(directory / "key.json", ServiceAccount(SERVICE_ACCOUNT_EMAIL, google_key_pair).json_key(
        oauth.token_url))
    common = [
        "-c", str(write_json(directory / "ga.json", {"SERVICE_ACCOUNT_KEY": str(key), "API_ROOT": f"{api.url}/"})),
        "-t", str(write_json(directory / "token.json", {"token": "real-configs-token"})),
        "-b", str(write_json(directory / "backdrop.json", {"backdrop_url": f"{backdrop.url}/data"})),
        "--department-codes", str(PRODUCTION_DEPARTMENT_CODES), "--dry-run", "--log-dir", str(directory / "log"),
    ]
    results = {}
    try:
        for path, entrypoint in ga_query_files():
            name = str(path.relative_to(QUERIES))
            query_file = write_json(directory / "queries" / name, as_ga4(json.loads(path.read_text()), entrypoint))
            before = len(api.requests)
            result = run_cli(["-q", str(query_file), *common])
            results[name] = Outcome(entrypoint, result.exit_code, result.stdout, result.stderr,
                                    [request.status for request in api.requests[before:]], len(backdrop.requests))
        yield results
    finally:
        for stand_in in (api, oauth, backdrop):
            stand_in.stop()


def test_the_corpus_is_there() -> None:
    assert {entrypoint for _, entrypoint in ga_query_files()} == set(ID_KEYS)
    assert len(ga_query_files()) > 400


def test_files_collected_and_refused_by_reason(outcomes: dict[str, Outcome]) -> None:
    counts = Counter((outcome.entrypoint, outcome.reason) for outcome in outcomes.values())
    assert dict(counts) == EXPECTED


def test_each_collecting_file_builds_records_and_pushes_nothing(outcomes: dict[str, Outcome]) -> None:
    collected = {name: outcome for name, outcome in outcomes.items() if outcome.exit_code == 0}
    assert collected
    for name, outcome in collected.items():
        assert outcome.stderr == "", name
        assert outcome.statuses and set(outcome.statuses) == {200}, name
        assert "POST " in outcome.stdout, name  # records were built and would have been sent
        assert outcome.pushed == 0, name


def test_each_refusal_is_one_line_naming_the_key_before_any_request(outcomes: dict[str, Outcome]) -> None:
    refused = {name: outcome for name, outcome in outcomes.items() if outcome.exit_code != 0}
    assert refused
    for name, outcome in refused.items():
        assert outcome.exit_code == 2, name
        (line,) = outcome.stderr.strip().splitlines()
        keys = "id|ids|metrics|dimensions|filters|segment|sort"
        assert re.match(rf"pp-collector: error: query file \S+: key 'query\.({keys})': ", line), (name, line)
        assert outcome.statuses == [], name
