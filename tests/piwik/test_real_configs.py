"""Every production Piwik query file, run against the Matomo stand-in: in dry run, for real, and `--check`.

The files are read where they are kept (`../shared/real-configs/queries/`, GOV.UK Verify and the
FCO's consular appointment booking service), never copied here; without that directory (a fresh
clone) these tests are skipped, saying why. The credentials templates beside them hold
placeholders (`"url": "foo"`), so the runs use the stand-in's address and token instead, and
`--check` is run on the templates as they are and with a real address put in a copy.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from freezegun import freeze_time

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.matomo import MatomoStandIn
from tests.support.cli import ConfigFiles, run_cli
from tests.support.shared import REAL_CONFIGS, require_shared

# Whole runs over many files or processes: `pytest -m 'not slow'` leaves them out while developing.
pytestmark = pytest.mark.slow

require_shared(REAL_CONFIGS)

QUERIES = REAL_CONFIGS / "queries"
ENTRYPOINTS = ("performanceplatform.collector.piwik.core", "performanceplatform.collector.piwik.realtime")
BACKDROP_TOKEN = "production-token-never-printed"


def piwik_query_files() -> list[Path]:
    files = []
    for path in sorted(QUERIES.rglob("*.json")):
        try:
            document = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            continue  # other collectors' broken files are their tests' business
        if isinstance(document, dict) and document.get("entrypoint") in ENTRYPOINTS:
            files.append(path)
    return files


PIWIK_FILES = piwik_query_files()
IDS = [str(path.relative_to(QUERIES)) for path in PIWIK_FILES]


def document_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def production_matomo() -> Iterator[MatomoStandIn]:
    # One stand-in for the module, with the sites the files name (1: Verify, 9: the FCO's).
    stand_in = MatomoStandIn(sites=("1", "9"))
    stand_in.start()
    yield stand_in
    stand_in.stop()


def run(path: Path, matomo: MatomoStandIn, configs: ConfigFiles, backdrop_url: str, *args: str) -> Any:
    argv = configs.args(
        query=path,
        backdrop=configs.backdrop(backdrop_url),
        credentials=configs.credentials(matomo.credentials()),
        token=configs.token(BACKDROP_TOKEN),
    )
    return run_cli([*argv, *args])


def one_request_answer(matomo: MatomoStandIn, query: dict[str, Any]) -> dict[str, Any]:
    """What the original's one request would have got for last week."""
    method = {"UserSettings.getBrowserVersion": "DevicesDetection.getBrowserVersions"}.get(
        query["api_method"], query["api_method"]
    )
    session = requests.Session()
    session.trust_env = False
    with session:
        response = session.post(matomo.credentials()["url"], data={"token_auth": matomo.token_auth}, timeout=10,
                                params={"module": "API", "method": method, "idSite": query["site_id"],
                                        "format": "json", "period": "week", "date": "previous1",
                                        "filter_limit": "-1", **query.get("api_method_arguments", {})})
    response.raise_for_status()
    return response.json()


def original_records(document: dict[str, Any], answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The records the original made of an answer, written out from the reference (piwik-matomo.md §3)."""
    options = document["options"]
    data_type = document["data-set"]["data-type"]
    records = []
    for key, value in answer.items():
        start = key[:10]
        for row in [value] if isinstance(value, dict) else value:
            record = {"_timestamp": f"{start}T00:00:00+00:00", "dataType": data_type,
                      **options.get("additionalFields", {}),
                      **{target: row[source] for source, target in options["mappings"].items()}, "timeSpan": "week"}
            rendered = {**record, "_timestamp": f"{start} 00:00:00+00:00"}
            human = "".join(str(rendered.get(name, "")) for name in options["idMapping"])
            records.append({**record, "humanId": human,
                            "_id": base64.urlsafe_b64encode(human.encode()).decode()})
    return records


def test_the_corpus_has_the_piwik_files() -> None:
    # piwik-matomo.md: production ran 9; 6 are kept in ../shared.
    assert len(PIWIK_FILES) == 6
    methods = {document_of(path)["query"]["api_method"] for path in PIWIK_FILES}
    assert methods == {"Goals.get", "DevicesDetection.getType", "UserSettings.getBrowserVersion"}


@freeze_time("2015-02-18 10:00:00")
@pytest.mark.parametrize("path", PIWIK_FILES, ids=IDS)
def test_a_production_file_runs_in_dry_run(path: Path, production_matomo: MatomoStandIn, configs: ConfigFiles) -> None:
    document = document_of(path)
    result = run(path, production_matomo, configs, "https://www.performance.service.gov.uk/data", "--dry-run")

    assert result.exit_code == 0, result.all_output()
    group, data_type = document["data-set"]["data-group"], document["data-set"]["data-type"]
    assert f"POST https://www.performance.service.gov.uk/data/{group}/{data_type}" in result.stdout
    assert BACKDROP_TOKEN not in result.stdout and production_matomo.token_auth not in result.all_output()
    [body] = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("[")]
    expected = original_records(document, one_request_answer(production_matomo, document["query"]))
    assert body == expected
    assert {record["_timestamp"] for record in body} == {"2015-02-09T00:00:00+00:00"}


@freeze_time("2015-02-18 10:00:00")
@pytest.mark.parametrize("path", PIWIK_FILES, ids=IDS)
def test_a_production_file_collects_into_backdrop(
    path: Path, production_matomo: MatomoStandIn, configs: ConfigFiles, backdrop: BackdropStandIn
) -> None:
    document = document_of(path)
    group, data_type = document["data-set"]["data-group"], document["data-set"]["data-type"]
    backdrop.add_data_set(group, data_type, BACKDROP_TOKEN)

    for _ in range(2):  # a second run overwrites: the ids are the original's, and deterministic
        result = run(path, production_matomo, configs, f"{backdrop.url}/data")
        assert result.exit_code == 0, result.all_output()

    expected = original_records(document, one_request_answer(production_matomo, document["query"]))
    assert backdrop.records(group, data_type) == expected
    if document["query"]["api_method"] == "UserSettings.getBrowserVersion":
        assert "UserSettings.getBrowserVersion was removed in Piwik 2.14" in result.text_log()


def check(path: Path, credentials: Path) -> Any:
    token = document_of(path)["token"]
    return run_cli([
        "--check", "-q", str(path), "-c", str(credentials),
        "-t", str(REAL_CONFIGS / "tokens" / f"{token}.json"),
        "-b", str(REAL_CONFIGS / "performanceplatform.json"),
    ])


@pytest.mark.parametrize("path", PIWIK_FILES, ids=IDS)
def test_check_with_the_credentials_template_names_its_placeholder_url_and_nothing_else(
    path: Path, tmp_path: Path
) -> None:
    template = REAL_CONFIGS / "credentials" / f"{document_of(path)['token']}.json"
    placeholders = json.loads(template.read_text())
    # The FCO's template has "foo" for both: the token is a secret wherever it appears.
    shown = repr(placeholders["url"]).replace(placeholders["token_auth"], "[REDACTED]")

    as_kept = check(path, template)
    filled_in = tmp_path / template.name
    filled_in.write_text(json.dumps({**json.loads(template.read_text()), "url": "https://matomo.example.gov.uk/"}))
    with_an_address = check(path, filled_in)

    assert as_kept.exit_code == 2
    assert as_kept.stderr.splitlines() == [
        f"pp-collector: check: credentials file {template}: key 'url': expected the Matomo address, an http:// or "
        f"https:// URL such as https://matomo.example.gov.uk/index.php, got {shown}"
    ]
    assert (with_an_address.exit_code, with_an_address.stderr) == (0, "")
    assert with_an_address.stdout == f"{path}: OK\n"
