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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from performanceplatform.collector.ga.migration.__main__ import main as migration_command
from performanceplatform.collector.ga.migration.approximations import APPROXIMATIONS
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
    "GA4 events have a name and parameters": "event category / action / label",
    "GA4's Realtime API has no page path": "realtime page-path filter",
    "UA custom dimensions and metrics are numbered": "UA custom dimension by index (dimension9)",
}

# Files per (entrypoint, outcome): collected, or refused for the reason given.
EXPECTED = {
    ("ga", COLLECTED): 161,
    ("ga", "browserVersion"): 49,
    # Five of them also ask for percentNewSessions, which GA4 derives (newUsers / sessions).
    ("ga", "goals (goalNStarts, goalNCompletions)"): 69,
    ("ga", "segment"): 32,
    ("ga", "entrances"): 19,
    ("ga", "uniqueEvents"): 14,
    ("ga", "uniquePageviews"): 7,
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


@dataclass
class StandIns:
    api: GoogleAnalyticsDataStandIn
    backdrop: BackdropStandIn
    directory: Path
    common: list[str]

    def run_each(self, query_file_for: Callable[[Path, str, str], Path], *extra: str) -> dict[str, Outcome]:
        """`pp-collector --dry-run` of every production GA file, as `query_file_for` writes it."""
        results = {}
        for path, entrypoint in ga_query_files():
            name = str(path.relative_to(QUERIES))
            before = len(self.api.requests)
            result = run_cli(["-q", str(query_file_for(path, entrypoint, name)), *self.common, *extra])
            results[name] = Outcome(entrypoint, result.exit_code, result.stdout, result.stderr,
                                    [request.status for request in self.api.requests[before:]],
                                    len(self.backdrop.requests))
        return results


@contextmanager
def stand_ins(directory: Path, google_key_pair: GoogleKeyPair) -> Iterator[StandIns]:
    oauth = GoogleOAuthStandIn()
    api = GoogleAnalyticsDataStandIn(authorize=lambda request: oauth.check_bearer(request, ANALYTICS_READONLY))
    backdrop = BackdropStandIn()
    for stand_in in (oauth, api, backdrop):
        stand_in.start()
    try:
        api.auto_rows = 3
        api.realtime_rows = [{"activeUsers": "12"}]
        oauth.add_service_account(SERVICE_ACCOUNT_EMAIL, google_key_pair.public_pem)
        key = write_json(directory / "key.json", ServiceAccount(SERVICE_ACCOUNT_EMAIL, google_key_pair).json_key(
            oauth.token_url))
        common = [
            "-c", str(write_json(directory / "ga.json", {"SERVICE_ACCOUNT_KEY": str(key), "API_ROOT": f"{api.url}/"})),
            "-t", str(write_json(directory / "token.json", {"token": "real-configs-token"})),
            "-b", str(write_json(directory / "backdrop.json", {"backdrop_url": f"{backdrop.url}/data"})),
            "--department-codes", str(PRODUCTION_DEPARTMENT_CODES), "--dry-run", "--log-dir", str(directory / "log"),
        ]
        yield StandIns(api, backdrop, directory, common)
    finally:
        for stand_in in (api, oauth, backdrop):
            stand_in.stop()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, google_key_pair: GoogleKeyPair) -> Iterator[dict[str, Outcome]]:
    """Every file with its view id rewritten to a property, and no migration file: GA4 as it was."""
    directory = tmp_path_factory.mktemp("ga4-real-configs")

    def rewritten(path: Path, entrypoint: str, name: str) -> Path:
        return write_json(directory / "queries" / name, as_ga4(json.loads(path.read_text()), entrypoint))

    with stand_ins(directory, google_key_pair) as running:
        yield running.run_each(rewritten)


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


# With a GA4 migration file: the production files as they are, their view ids mapped ---------------

# What the operator writes for each UA event field (GA4 keeps category and label as event
# parameters registered as custom dimensions; the action became the event's name).
EVENT_FIELDS = {"eventCategory": "customEvent:event_category", "eventAction": "eventName",
                "eventLabel": "customEvent:event_label"}
# The only UA name of the production files GA4 has nothing for, and no migration can map.
REFUSED_WITH_A_MIGRATION_FILE = {"socialNetwork": 7}


def filled_in(template: dict) -> dict:
    """The migration command's template, filled in as an operator would: every view's property, each
    goal's key and start events, each event field and UA custom dimension, each realtime page
    filter as a title filter, and every approximation accepted."""
    for view, entry in template["views"].items():
        entry["property"] = "properties/" + view.removeprefix("ga:")
        for number, goal in entry.get("goals", {}).items():
            goal["keyEvent"] = f"goal_{number}_complete"
            if "startEvent" in goal:
                goal["startEvent"] = f"goal_{number}_start"
        for name in entry.get("fields", {}):
            entry["fields"][name] = EVENT_FIELDS.get(name, f"customEvent:ua_{name.lower()}")
        for written in entry.get("realtimeFilters", {}):
            entry["realtimeFilters"][written] = re.sub(r"^ga:pagePath", "unifiedScreenName", written)
        entry["approximations"] = list(APPROXIMATIONS)
    return template


def define_properties(api: GoogleAnalyticsDataStandIn, migration_file: dict) -> None:
    """Give each mapped property the custom dimensions and key events the migration file names."""
    for entry in migration_file["views"].values():
        events = [event for goal in entry.get("goals", {}).values() for event in goal.values()]
        custom = [name for name in entry.get("fields", {}).values() if name.startswith("customEvent:")]
        api.define(entry["property"], custom_dimensions=custom, key_events=events)


@pytest.fixture(scope="module")
def migration_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ga4-migration-file")
    template = directory / "template.json"
    assert migration_command([str(QUERIES), "--template", str(template), "--department-codes",
                              str(PRODUCTION_DEPARTMENT_CODES), "--report", str(directory / "report.txt")]) == 0
    return write_json(directory / "ga4-map.json", filled_in(json.loads(template.read_text())))


@pytest.fixture(scope="module")
def migrated(
    tmp_path_factory: pytest.TempPathFactory, google_key_pair: GoogleKeyPair, migration_file: Path
) -> Iterator[dict[str, Outcome]]:
    """Every production file as it is (a `ga:` view id), run with the migration file."""
    with stand_ins(tmp_path_factory.mktemp("ga4-migrated"), google_key_pair) as running:
        define_properties(running.api, json.loads(migration_file.read_text()))
        yield running.run_each(lambda path, entrypoint, name: path, "--ga4-map", str(migration_file))


def refusal_reason(outcome: Outcome) -> str:
    """The UA name a refusal names (`key 'query.dimensions': 'socialNetwork' has no ...`)."""
    match = re.search(r"key 'query\.\w+': '(?:ga:)?(\w+)' has no GA4 equivalent", outcome.stderr)
    return match.group(1) if match else f"unexpected: {outcome.stderr.strip()}"


def test_with_the_migration_file_at_least_95_percent_of_the_files_collect(migrated: dict[str, Outcome]) -> None:
    collected = [name for name, outcome in migrated.items() if outcome.exit_code == 0]
    assert len(collected) >= 0.95 * len(migrated)
    assert len(migrated) - len(collected) == sum(REFUSED_WITH_A_MIGRATION_FILE.values())


def test_with_the_migration_file_every_other_file_is_refused_with_its_reason(migrated: dict[str, Outcome]) -> None:
    refused = {name: outcome for name, outcome in migrated.items() if outcome.exit_code != 0}
    assert Counter(refusal_reason(outcome) for outcome in refused.values()) == REFUSED_WITH_A_MIGRATION_FILE
    for name, outcome in refused.items():
        assert outcome.exit_code == 2, name
        (line,) = outcome.stderr.strip().splitlines()
        assert re.match(r"pp-collector: error: query file \S+: key 'query\.(dimensions|filters)': ", line), line
        assert outcome.statuses == [], name


def test_with_the_migration_file_each_collecting_file_checks_its_names_and_pushes_nothing(
    migrated: dict[str, Outcome]
) -> None:
    for name, outcome in migrated.items():
        if outcome.exit_code != 0:
            continue
        assert outcome.stderr == "", name
        assert outcome.statuses and set(outcome.statuses) == {200}, name
        assert "POST " in outcome.stdout, name
        assert outcome.pushed == 0, name


def pushed_records(outcome: Outcome) -> list[dict]:
    """The records a dry run printed; a realtime record's time (its _timestamp and _id) left out."""
    records = [record for line in outcome.stdout.splitlines() if line.startswith("[") for record in json.loads(line)]
    if outcome.entrypoint == "ga.realtime":
        records = [{key: value for key, value in record.items() if key not in ("_timestamp", "_id")}
                   for record in records]
    return records


def test_the_files_that_collected_without_a_migration_file_push_the_same_records_with_one(
    outcomes: dict[str, Outcome], migrated: dict[str, Outcome]
) -> None:
    collected = [name for name, outcome in outcomes.items() if outcome.exit_code == 0]
    assert len(collected) == 207
    for name in collected:
        assert migrated[name].exit_code == 0, (name, migrated[name].stderr)
        assert pushed_records(migrated[name]) == pushed_records(outcomes[name]), name
        assert pushed_records(outcomes[name]), name


def test_the_migration_report_says_what_the_runs_did(migration_file: Path, migrated: dict[str, Outcome]) -> None:
    report = migration_file.parent / "checked-report.txt"

    assert migration_command([str(QUERIES), "--ga4-map", str(migration_file), "--department-codes",
                              str(PRODUCTION_DEPARTMENT_CODES), "--report", str(report)]) == 0

    lines = report.read_text().splitlines()
    outcome_of = {line.split(": ")[0].strip(): line.split(": ")[1] for line in lines if line.startswith("  ")
                  and line.split(": ")[0].strip() in migrated}
    assert set(outcome_of) == set(migrated)
    for name, outcome in migrated.items():
        assert (outcome_of[name] in ("collects exactly", "collects with approximations")) == (outcome.exit_code == 0)
    refused = len(migrated) - sum(outcome.exit_code == 0 for outcome in migrated.values())
    totals = dict(re.findall(r"^([A-Za-z ]+):\s+(\d+) \(", report.read_text(), re.MULTILINE))
    assert {name: int(count) for name, count in totals.items()} == {
        "collects exactly": 257, "collects with approximations": 159, "refused": refused,
        "stays on Universal Analytics": 0}
    assert "      7  socialNetwork" in lines
