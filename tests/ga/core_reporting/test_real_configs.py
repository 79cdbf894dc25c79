"""Every production `ga`, `ga.realtime`, `ga.trending` and content.table query file, in dry run.

The files are read where they live (`../shared/real-configs/queries/`), never copied. The GA
stand-in makes up a few rows for any query (`auto_rows`), so each file's options (mappings,
idMapping, plugins, filtersets) run on real-looking rows; nothing may fail and nothing is pushed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.google_analytics import GoogleAnalyticsStandIn
from performanceplatform.collector.standins.google_oauth import ANALYTICS_READONLY, GoogleOAuthStandIn
from tests.support.cli import run_cli
from tests.support.google import SERVICE_ACCOUNT_EMAIL, GoogleKeyPair, ServiceAccount, write_json
from tests.support.shared import PRODUCTION_DEPARTMENT_CODES, REAL_CONFIGS, require_shared

# Whole runs over many files or processes: `pytest -m 'not slow'` leaves them out while developing.
pytestmark = pytest.mark.slow

require_shared(REAL_CONFIGS)
require_shared(PRODUCTION_DEPARTMENT_CODES)

ENTRYPOINTS = {
    "performanceplatform.collector.ga",
    "performanceplatform.collector.ga.realtime",
    "performanceplatform.collector.ga.trending",
    "performanceplatform.collector.ga.contrib.content.table",
}


def ga_query_files() -> list[Path]:
    files = []
    for path in sorted((REAL_CONFIGS / "queries").rglob("*.json")):
        try:
            entrypoint = json.loads(path.read_text()).get("entrypoint")
        except ValueError:
            continue
        if entrypoint in ENTRYPOINTS:
            files.append(path)
    return files


QUERY_FILES = ga_query_files()


@dataclass
class Stack:
    ga: GoogleAnalyticsStandIn
    backdrop: BackdropStandIn
    credentials: Path
    token: Path
    backdrop_file: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, google_key_pair: GoogleKeyPair) -> Iterator[Stack]:
    oauth = GoogleOAuthStandIn()
    ga = GoogleAnalyticsStandIn(authorize=lambda request: oauth.check_bearer(request, ANALYTICS_READONLY))
    backdrop = BackdropStandIn()
    for stand_in in (oauth, ga, backdrop):
        stand_in.start()
    ga.auto_rows = 3
    ga.realtime_rows = [["12"]]
    oauth.add_service_account(SERVICE_ACCOUNT_EMAIL, google_key_pair.public_pem)
    directory = tmp_path_factory.mktemp("real-configs")
    account = ServiceAccount(SERVICE_ACCOUNT_EMAIL, google_key_pair)
    key = write_json(directory / "key.json", account.json_key(oauth.token_url))
    try:
        yield Stack(
            ga,
            backdrop,
            write_json(directory / "ga.json", {"SERVICE_ACCOUNT_KEY": str(key), "API_ROOT": f"{ga.url}/"}),
            write_json(directory / "token.json", {"token": "real-configs-token"}),
            write_json(directory / "backdrop.json", {"backdrop_url": f"{backdrop.url}/data"}),
        )
    finally:
        for stand_in in (ga, oauth, backdrop):
            stand_in.stop()


def test_the_corpus_is_there() -> None:
    entrypoints = {json.loads(path.read_text())["entrypoint"] for path in QUERY_FILES}
    assert entrypoints == ENTRYPOINTS
    assert len(QUERY_FILES) > 400


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda path: str(path.relative_to(REAL_CONFIGS / "queries")))
def test_runs_in_dry_run(stack: Stack, path: Path, tmp_path: Path) -> None:
    before = len(stack.ga.requests)

    result = run_cli([
        "-q", str(path), "-c", str(stack.credentials), "-t", str(stack.token), "-b", str(stack.backdrop_file),
        "--department-codes", str(PRODUCTION_DEPARTMENT_CODES), "--dry-run", "--log-dir", str(tmp_path / "log"),
    ])

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert len(stack.ga.requests) > before
    assert all(request.status == 200 for request in stack.ga.requests[before:])
    assert "POST " in result.stdout  # records were built and would have been sent
    assert stack.backdrop.requests == []
