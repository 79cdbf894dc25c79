"""`pp-collector --check` on GA query files: every problem, found without a request."""

from __future__ import annotations

import json

import pytest

from tests.support.google import GaCollector


@pytest.mark.parametrize(
    ("entrypoint", "query", "options", "flags", "problems"),
    [
        ("ga", {"id": "ga:1", "metrics": ["visits"]}, {}, (), []),
        ("ga", {"id": "ga:1"}, {}, (), ["key 'query.metrics': expected at least one name"]),
        ("ga", {"id": "ga:1", "metrics": ["visits"]}, {}, ("-e", "2014-01-01"), ["--end was given without --start"]),
        ("ga.realtime", {"ids": "ga:1", "metrics": "rt:activeUsers"}, {}, ("-s", "2014-01-01"),
         ["Cannot backfill realtime collectors"]),
        ("ga.trending", {"id": "1", "metric": "pageviews"}, {}, (), ["key 'query.dimensions'"]),
        ("ga.contrib.content.table", {"id": "ga:1"}, {"filtersets": [["dimension9==<D1>"]]}, (),
         ["'dimension9==<D1>' names no department", "key 'query.metrics'"]),
    ],
)
def test_check_reports_each_problem(
    ga_collector: GaCollector, entrypoint: str, query: dict, options: dict, flags: tuple, problems: list[str]
) -> None:
    result = ga_collector.run(entrypoint, query, options, "--check", *flags)

    assert result.exit_code == (2 if problems else 0), result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == len(problems)
    for line, problem in zip(lines, problems, strict=True):
        assert problem in line
    assert ga_collector.ga.requests == [] and ga_collector.oauth.requests == []


def test_check_reads_the_credentials(ga_collector: GaCollector) -> None:
    ga_collector.credentials_path.write_text(json.dumps({"SERVICE_ACCOUNT_KEY": "/no/such/key.json"}))

    result = ga_collector.run("ga", {"id": "ga:1", "metrics": ["visits"]}, {}, "--check")

    assert result.exit_code == 2
    assert "/no/such/key.json does not exist" in result.stderr
