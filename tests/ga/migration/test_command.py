"""The migration command over a directory of query files: the report, the template, and rewriting
ids only when asked, originals kept. (Over the production files: tests/ga/data_api/test_real_configs.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from performanceplatform.collector.ga.migration.__main__ import main
from performanceplatform.collector.ga.migration.approximations import ENTRANCES, UNIQUE_PAGEVIEWS

GA = "performanceplatform.collector.ga"
FILES: dict[str, dict[str, Any]] = {
    "journey/goals.json": {"entrypoint": GA, "query": {
        "id": "ga:1", "metrics": ["goal1Completions", "goal2Starts"], "dimensions": ["eventCategory"],
        "filters": ["dimension9==<D1>"]}},
    "journey/landing.json": {"entrypoint": GA, "query": {"id": "ga:1", "metrics": ["entrances"]}},
    "journey/realtime.json": {"entrypoint": GA + ".realtime", "query": {
        "ids": "ga:2", "metrics": "ga:activeVisitors", "filters": "ga:pagePath==/apply"}},
    "journey/social.json": {"entrypoint": GA, "query": {"id": "ga:1", "metrics": ["sessions"],
                                                        "dimensions": ["socialNetwork"]}},
    "other/unmapped.json": {"entrypoint": GA, "query": {"id": "ga:3", "metrics": ["sessions"]}},
    "other/property.json": {"entrypoint": GA, "query": {"id": "properties/9", "metrics": ["uniquePageviews"],
                                                        "dimensions": ["pageTitle"]}},
    "other/uptime.json": {"entrypoint": "performanceplatform.collector.pingdom", "query": {"name": "apply"}},
}


@pytest.fixture
def queries(tmp_path: Path) -> Path:
    directory = tmp_path / "queries"
    for name, document in FILES.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # As the production files are written: two spaces, a space after each comma.
        path.write_text(json.dumps({"data-set": {"data-group": "g", "data-type": "t"}, "options": {}, **document},
                                   indent=2, separators=(", ", ": ")))
    return directory


def contents(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*"))
            if path.is_file()}


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_the_template_lists_every_view_goal_field_and_realtime_filter_the_files_use(
    queries: Path, tmp_path: Path
) -> None:
    template = tmp_path / "template.json"

    assert main([str(queries), "--template", str(template), "--report", str(tmp_path / "report.txt")]) == 0

    written = json.loads(template.read_text())
    assert written["views"] == {
        "ga:1": {
            "property": "",
            "goals": {"1": {"keyEvent": ""}, "2": {"keyEvent": "", "startEvent": ""}},
            "fields": {"dimension9": "", "eventCategory": ""},
            "_approximationsNeeded": {"entrances-as-sessions": ["journey/landing.json"],
                                      "goal-starts-from-start-event": ["journey/goals.json"]},
            "_files": 3,
        },
        "ga:2": {"property": "", "realtimeFilters": {"ga:pagePath==/apply": ""}, "_files": 1},
        "ga:3": {"property": "", "_files": 1},
    }
    assert written["properties"] == {
        "properties/9": {"_approximationsNeeded": {UNIQUE_PAGEVIEWS: ["other/property.json"]}, "_files": 1}}


def test_the_template_keeps_what_the_migration_file_says(queries: Path, tmp_path: Path) -> None:
    migration_file = write(tmp_path / "map.json", {
        "views": {"ga:1": {"property": "properties/1", "goals": {"1": "apply"}, "approximations": [ENTRANCES]},
                  "ga:2": "properties/2"},
        "properties": {"properties/1": {"fields": {"eventCategory": "customEvent:category"}}},
    })
    template = tmp_path / "template.json"

    assert main([str(queries), "--ga4-map", str(migration_file), "--template", str(template),
                 "--report", str(tmp_path / "report.txt")]) == 0

    written = json.loads(template.read_text())
    assert written["views"]["ga:1"]["property"] == "properties/1"
    assert written["views"]["ga:1"]["goals"] == {"1": {"keyEvent": "apply"}, "2": {"keyEvent": "", "startEvent": ""}}
    assert written["views"]["ga:1"]["approximations"] == [ENTRANCES]
    assert written["views"]["ga:2"]["property"] == "properties/2"
    assert written["properties"]["properties/1"] == {"fields": {"eventCategory": "customEvent:category"}}


def test_an_existing_template_is_kept_unless_forced(queries: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    template = write(tmp_path / "template.json", {"mine": True})

    assert main([str(queries), "--template", str(template)]) == 2
    assert json.loads(template.read_text()) == {"mine": True}
    assert capsys.readouterr().err.strip().endswith(f"--template {template}: exists; pass --force to replace it")
    assert main([str(queries), "--template", str(template), "--force"]) == 0
    assert "views" in json.loads(template.read_text())


def test_the_report_says_what_each_file_does_with_totals(queries: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    migration_file = write(tmp_path / "map.json", {
        "views": {"ga:1": "properties/1", "ga:2": "properties/2"},
        "properties": {"properties/1": {"goals": {"1": "apply", "2": {"keyEvent": "apply", "startEvent": "start"}},
                                        "fields": {"eventCategory": "eventName",
                                                   "dimension9": "customEvent:organisation"},
                                        "approximations": ["goal-starts-from-start-event"]},
                       "properties/9": {"approximations": [UNIQUE_PAGEVIEWS]}},
    })
    before = contents(queries)

    assert main([str(queries), "--ga4-map", str(migration_file)]) == 0

    report = capsys.readouterr().out
    lines = report.splitlines()
    assert lines[0] == f"GA4 migration report: 6 Google Analytics query file(s) under {queries}"
    assert lines[1] == f"migration file: GA4 migration file {migration_file}"
    assert [" ".join(line.split()) for line in lines[3:7]] == [
        "collects exactly: 0 (0.0%)", "collects with approximations: 2 (33.3%)", "refused: 3 (50.0%)",
        "stays on Universal Analytics: 1 (16.7%)"]
    file_lines = lines[lines.index("files:") + 1:]
    assert [line for line in file_lines if not line.startswith("      ")] == [
        "  journey/goals.json: collects with approximations: goal-starts-from-start-event",
        "  journey/landing.json: refused",
        "  journey/realtime.json: refused",
        "  journey/social.json: refused",
        "  other/property.json: collects with approximations: unique-pageviews-as-sessions",
        "  other/unmapped.json: stays on Universal Analytics (its view 'ga:3' is not in the migration file)",
    ]
    assert "  journey/landing.json: refused" in file_lines
    landing_reason = file_lines[file_lines.index("  journey/landing.json: refused") + 1]
    assert "key 'query.metrics'" in landing_reason and f"approximation {ENTRANCES!r}" in landing_reason
    assert "      1  socialNetwork" in lines
    assert f"      1  entrances (needs approximation {ENTRANCES})" in lines
    assert "      1  realtime page-path filter not mapped to a title filter" in lines
    assert contents(queries) == before  # read, never written


def test_rewrite_gives_collecting_files_their_property_and_keeps_the_originals(queries: Path, tmp_path: Path) -> None:
    migration_file = write(tmp_path / "map.json", {
        "views": {"ga:1": "properties/1", "ga:2": {"property": "properties/2",
                                                   "realtimeFilters": {"ga:pagePath==/apply": "unifiedScreenName==A"}}},
        "properties": {"properties/1": {"approximations": [ENTRANCES]}},
    })
    before = contents(queries)

    assert main([str(queries), "--ga4-map", str(migration_file), "--rewrite", "--report",
                 str(tmp_path / "report.txt")]) == 0

    after = contents(queries)
    landing = "journey/landing.json"
    assert after[landing] == before[landing].replace(b'"id": "ga:1"', b'"id": "properties/1"')
    assert after[landing + ".orig"] == before[landing]
    # Refused, or left on UA, or with settings of its view: as they were, without a copy.
    for name in ("journey/goals.json", "journey/social.json", "other/unmapped.json", "journey/realtime.json"):
        assert after[name] == before[name] and name + ".orig" not in after, name
    report = (tmp_path / "report.txt").read_text()
    assert f"  {landing}: id ga:1 -> properties/1 (original: landing.json.orig)" in report
    assert "journey/realtime.json: left as it is: view ga:2 has settings of its own" in report

    # Run again: the original already kept is never replaced.
    assert main([str(queries), "--ga4-map", str(migration_file), "--rewrite", "--report",
                 str(tmp_path / "again.txt")]) == 0
    assert contents(queries)[landing + ".orig"] == before[landing]


def test_a_bad_migration_file_is_one_line_and_exit_2(queries: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    migration_file = write(tmp_path / "map.json", {"views": {"ga:1": "UA-1"}})

    assert main([str(queries), "--ga4-map", str(migration_file)]) == 2

    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"GA4 migration file {migration_file}: key 'views.ga:1'" in line
    assert main([str(tmp_path / "nowhere")]) == 2
