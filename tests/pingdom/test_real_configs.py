"""Every production Pingdom query file, run in dry-run against the stand-in.

The files are read where they are kept (`../shared/real-configs/queries/`), never copied here. The
stand-in serves a check of each file's name, so each run must find its check, fetch the last 24
hours and print the records it would push to the file's own data set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from freezegun import freeze_time

from performanceplatform.collector.standins.pingdom import PingdomStandIn
from tests.support.cli import ConfigFiles, run_cli
from tests.support.shared import REAL_CONFIGS, require_shared

# Whole runs over many files or processes: `pytest -m 'not slow'` leaves them out while developing.
pytestmark = pytest.mark.slow

require_shared(REAL_CONFIGS)

ENTRYPOINT = "performanceplatform.collector.pingdom"
QUERIES = REAL_CONFIGS / "queries"


def pingdom_query_files() -> list[Path]:
    files = []
    for path in sorted(QUERIES.rglob("*.json")):
        try:
            document = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            continue  # other collectors' broken files are their tests' business
        if isinstance(document, dict) and document.get("entrypoint") == ENTRYPOINT:
            files.append(path)
    return files


PINGDOM_QUERY_FILES = pingdom_query_files()


def check_name(path: Path) -> str:
    return json.loads(path.read_text())["query"]["name"]


@pytest.fixture(scope="module")
def production_pingdom() -> Iterator[PingdomStandIn]:
    # One stand-in for the module: every production check name, as on the real account.
    stand_in = PingdomStandIn(sorted({check_name(path) for path in PINGDOM_QUERY_FILES}))
    stand_in.start()
    yield stand_in
    stand_in.stop()


def test_the_corpus_has_the_pingdom_files() -> None:
    # real-config-corpus.md §2.5 counts 39; a few files are held back from ../shared.
    assert len(PINGDOM_QUERY_FILES) >= 35
    names = [check_name(path) for path in PINGDOM_QUERY_FILES]
    assert "Electronic Vehicle Licensing - Tax Disc" in names


@freeze_time("2015-10-21 09:41:00")
@pytest.mark.parametrize(
    "path", PINGDOM_QUERY_FILES, ids=[str(p.relative_to(QUERIES)) for p in PINGDOM_QUERY_FILES]
)
def test_a_production_query_runs_in_dry_run(
    path: Path, production_pingdom: PingdomStandIn, configs: ConfigFiles
) -> None:
    document = json.loads(path.read_text())
    name = document["query"]["name"]
    argv = configs.args(
        query=path,
        backdrop=configs.backdrop("https://www.performance.service.gov.uk/data"),
        credentials=configs.credentials(production_pingdom.credentials("2.0")),
        token=configs.token("production-token-never-printed"),
    )
    result = run_cli([*argv, "--dry-run"])
    assert result.exit_code == 0, result.stderr
    group, data_type = document["data-set"]["data-group"], document["data-set"]["data-type"]
    assert f"POST https://www.performance.service.gov.uk/data/{group}/{data_type}" in result.stdout
    assert "production-token-never-printed" not in result.stdout
    [body] = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("[")]
    assert len(body) == 24
    assert body[0]["_id"] == f"{name.replace(' ', '_')}.2015-10-20T09:00:00+00:00"
    assert body[-1]["_timestamp"] == "2015-10-21T08:00:00+00:00"
    assert {record["check"] for record in body} == {name}
