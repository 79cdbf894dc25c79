"""`pp-collector --check` over every production query file, with the matching credentials template.

The templates name `./client_secrets.json` and `./storage.db`: with those present (placeholder
contents of the right shape) every GA, realtime, trending, content.table and Pingdom file passes.
Without them each GA-family file fails for exactly that reason. The Piwik templates' `url` is a
placeholder (`"foo"`), so each Piwik file fails for exactly that reason (with an address there it
passes: tests/piwik/test_real_configs.py). Webtrends collectors were not carried over, so their
files fail naming the entrypoint.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.shared import PRODUCTION_DEPARTMENT_CODES, REAL_CONFIGS, require_shared

# Whole runs over many files or processes: `pytest -m 'not slow'` leaves them out while developing.
pytestmark = pytest.mark.slow

require_shared(REAL_CONFIGS)
require_shared(PRODUCTION_DEPARTMENT_CODES)

CREDENTIALS = {
    "performanceplatform.collector.ga": "ga.json",
    "performanceplatform.collector.ga.realtime": "ga.json",
    "performanceplatform.collector.ga.trending": "ga.json",
    "performanceplatform.collector.ga.contrib.content.table": "ga-gov-uk-content.json",
    "performanceplatform.collector.pingdom": "pingdom.json",
    "performanceplatform.collector.piwik.core": "piwik_fco.json",
    "performanceplatform.collector.webtrends.reports": "webtrends_nhs_choices.json",
    "performanceplatform.collector.webtrends.keymetrics": "webtrends_nhs_choices.json",
}
# Piwik's templates differ by service: the query file's token names the one it was deployed with.
CREDENTIALS_BY_TOKEN = {"piwik_fco": "piwik_fco.json", "piwik_verify": "piwik_verify.json"}
PIWIK = {"performanceplatform.collector.piwik.core", "performanceplatform.collector.piwik.realtime"}
NOT_CARRIED_OVER = {
    "performanceplatform.collector.webtrends.reports",
    "performanceplatform.collector.webtrends.keymetrics",
}
QUERY_FILES = sorted(REAL_CONFIGS.glob("queries/**/*.json"))
GA_FAMILY = [
    path for path in QUERY_FILES
    if json.loads(path.read_text())["entrypoint"].startswith("performanceplatform.collector.ga")
]


def check(query_path: Path) -> tuple[str, int, list[str]]:
    entrypoint = json.loads(query_path.read_text())["entrypoint"]
    token = json.loads(query_path.read_text())["token"]
    credentials = CREDENTIALS_BY_TOKEN.get(token, CREDENTIALS[entrypoint])
    result = run_cli([
        "--check", "-q", str(query_path),
        "-c", str(REAL_CONFIGS / "credentials" / credentials),
        "-t", str(REAL_CONFIGS / "tokens" / f"{token}.json"),
        "-b", str(REAL_CONFIGS / "performanceplatform.json"),
        "--department-codes", str(PRODUCTION_DEPARTMENT_CODES),
    ])
    return entrypoint, result.exit_code, result.stderr.strip().splitlines()


def placeholder_ga_files(directory: Path) -> None:
    (directory / "client_secrets.json").write_text(json.dumps({"installed": {
        "client_id": "placeholder.apps.googleusercontent.com", "client_secret": "placeholder",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token",
        "redirect_uris": ["http://localhost"],
    }}))
    (directory / "storage.db").write_text(json.dumps({
        "type": "authorized_user", "client_id": "placeholder.apps.googleusercontent.com",
        "client_secret": "placeholder", "refresh_token": "placeholder",
    }))


def test_the_corpus_is_here():
    assert len(QUERY_FILES) >= 470


def test_every_carried_over_file_passes_with_the_templates_files_in_place(tmp_path):
    placeholder_ga_files(tmp_path)  # the autouse fixture made tmp_path the working directory
    outcomes = collections.Counter()
    for query_path in QUERY_FILES:
        entrypoint, code, problems = check(query_path)
        if entrypoint in NOT_CARRIED_OVER:
            assert code == 2
            assert len(problems) == 1
            assert f"key 'entrypoint': no module named '{entrypoint}'" in problems[0]
        elif entrypoint in PIWIK:
            assert code == 2
            assert len(problems) == 1
            assert "key 'url': expected the Matomo address" in problems[0]
        else:
            assert (code, problems) == (0, []), query_path
        outcomes[entrypoint, code] += 1
    assert outcomes == {
        ("performanceplatform.collector.ga", 0): 355,
        ("performanceplatform.collector.ga.realtime", 0): 52,
        ("performanceplatform.collector.pingdom", 0): 38,
        ("performanceplatform.collector.ga.contrib.content.table", 0): 15,
        ("performanceplatform.collector.ga.trending", 0): 1,
        ("performanceplatform.collector.webtrends.reports", 2): 10,
        ("performanceplatform.collector.piwik.core", 2): 6,
        ("performanceplatform.collector.webtrends.keymetrics", 2): 1,
    }


@pytest.mark.parametrize(
    "query_path",
    GA_FAMILY,
    ids=lambda path: str(path.relative_to(REAL_CONFIGS)),
)
def test_without_the_templates_files_ga_files_fail_naming_the_missing_file(query_path):
    _, code, problems = check(query_path)
    assert code == 2
    assert len(problems) == 1
    assert "key 'CLIENT_SECRETS': the client secrets file" in problems[0]
    assert "client_secrets.json does not exist" in problems[0]
