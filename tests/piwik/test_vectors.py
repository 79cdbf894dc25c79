"""Matomo records equal the original's: the Python 2 vectors of tests/vectors/gen_py2_matomo_vectors.py.

The generator ran the original's reading of Matomo answers (and its DataParser) under CPython
2.7.18 on hand-written and random answers: both week-key forms, days and months, report rows and
single objects, every JSON type, colliding mappings, ids with and without `idMapping`. Here the
same answers go through pp-collector: first straight into the record builder (every field, its
type and the record's Python 2 key order), then from the Matomo stand-in, over HTTP, through
`pp-collector` into the Backdrop stand-in (what lands, ids included).

The original made records in Python 2's order of the period keys; pp-collector pushes them in
period order. Records are compared period by period, in each period in the answer's row order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time

from performanceplatform.collector.options import parse_options
from performanceplatform.collector.periods import TIME_SPANS
from performanceplatform.collector.piwik.answers import mappings_from, period_rows
from performanceplatform.collector.py2compat import py2_dict_order
from performanceplatform.collector.records import build_records
from performanceplatform.collector.standins.backdrop import BackdropStandIn
from performanceplatform.collector.standins.matomo import MatomoStandIn
from tests.support.backdrop import DATA_GROUP, TOKEN
from tests.support.cli import ConfigFiles, run_cli
from tests.vectors import decode, load_matomo_vectors

CASES = load_matomo_vectors()["core"]
WRITTEN = [case for case in CASES if not case["name"].startswith("random-")]
REALTIME = load_matomo_vectors()["realtime"]


def first_day(key: str) -> date:
    """The period a vector's key names (independently of the collector's own reading)."""
    text = re.search(r"\d{4}-\d{2}(-\d{2})?", key).group()  # type: ignore[union-attr]
    return date.fromisoformat(text if len(text) == 10 else text + "-01")


def expected_records(case: dict[str, Any]) -> list[list[tuple[str, Any]]]:
    """The Python 2 records, as (key, value) pairs in its key order, periods in date order."""
    in_period_order = sorted(case["records"], key=lambda made: first_day(made["period"]))
    return [[(key, decode(value)) for key, value in made["record"]] for made in in_period_order]


def kind(value: Any) -> type:
    """A value's type; any datetime counts as one (a frozen clock made some of them FakeDatetimes)."""
    return datetime if isinstance(value, datetime) else type(value)


def as_stored(value: Any) -> Any:
    """A value as Backdrop stores it: datetimes as UTC ISO strings."""
    return value.isoformat() if isinstance(value, datetime) else value


def test_the_vectors_cover_what_the_collector_meets() -> None:
    assert len(CASES) >= 70
    assert {case["form"] for case in CASES} == {"piwik2", "matomo5"}
    assert {case["frequency"] for case in CASES} == {"daily", "weekly", "monthly"}
    assert sum(len(case["records"]) for case in CASES) > 300
    assert any('"idMapping"' not in case["options"] for case in CASES)
    # The original's own test vector is among them.
    [reference] = [case for case in CASES if case["name"] == "reference-browser-count-piwik2"]
    [record] = expected_records(reference)
    assert dict(record)["humanId"] == "browser-count2015-02-02 00:00:00+00:00weekChrome"
    assert dict(record)["_id"] == "YnJvd3Nlci1jb3VudDIwMTUtMDItMDIgMDA6MDA6MDArMDA6MDB3ZWVrQ2hyb21l"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_records_from_an_answer_are_the_originals(case: dict[str, Any]) -> None:
    options = json.loads(case["options"])
    mappings = mappings_from(parse_options(options))
    periods = period_rows(json.loads(case["answer"]), mappings, TIME_SPANS[case["frequency"]], case["method"])

    records = build_records([row for period in periods for row in period], options, case["data_type"])

    expected = expected_records(case)
    assert records == [dict(pairs) for pairs in expected]
    for record, pairs in zip(records, expected, strict=True):
        # Same types too (12 and 12.0 are equal, but an id renders them differently).
        assert [kind(record[key]) for key, _ in pairs] == [kind(value) for _, value in pairs]
        # The key order each record keeps is its Python 2 insertion history.
        assert py2_dict_order(record) == [key for key, _ in pairs]


def period_end(first: date, frequency: str) -> date:
    if frequency == "daily":
        return first
    if frequency == "weekly":
        return first + timedelta(days=6)
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


@pytest.mark.parametrize("case", WRITTEN, ids=lambda case: case["name"])
def test_what_lands_in_backdrop_is_what_the_original_pushed(
    case: dict[str, Any],
    make_matomo: Callable[..., MatomoStandIn],
    configs: ConfigFiles,
    backdrop: BackdropStandIn,
) -> None:
    matomo = make_matomo(flavour=case["form"])
    answer = json.loads(case["answer"])
    matomo.set_report(case["method"], {first_day(key): value for key, value in answer.items()})
    firsts = sorted(first_day(key) for key in answer)
    backdrop.add_data_set(DATA_GROUP, case["data_type"], TOKEN)
    query = configs.query(
        "performanceplatform.collector.piwik.core",
        {"site_id": "1", "api_method": case["method"], "frequency": case["frequency"]},
        json.loads(case["options"]),
        data_group=DATA_GROUP,
        data_type=case["data_type"],
    )
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=configs.credentials(matomo.credentials()), token=configs.token(TOKEN))

    result = run_cli([*argv, "-s", firsts[0].isoformat(), "-e", period_end(firsts[-1], case["frequency"]).isoformat()])

    assert result.exit_code == 0, result.all_output()
    landed = backdrop.records(DATA_GROUP, case["data_type"])
    expected = {}
    for pairs in expected_records(case):  # a later record with the same _id overwrites, as in Backdrop
        expected[dict(pairs)["_id"]] = {key: as_stored(value) for key, value in pairs}
    assert {record["_id"]: record for record in landed} == expected
    assert [type(value) for record in landed for value in record.values()] == [
        type(expected[record["_id"]][key]) for record in landed for key in record
    ]


@pytest.mark.parametrize("vector", REALTIME, ids=lambda vector: vector["now"])
def test_the_realtime_record_is_the_originals(
    vector: dict[str, Any],
    matomo: MatomoStandIn,
    configs: ConfigFiles,
    backdrop: BackdropStandIn,
) -> None:
    [counters] = json.loads(vector["answer"])
    matomo.set_counters(counters)
    query = configs.query("performanceplatform.collector.piwik.realtime",
                          {"site_id": "9", "api_method": "Live.getCounters", "minutes": "1"},
                          {}, data_group=DATA_GROUP, data_type="realtime")
    backdrop.add_data_set(DATA_GROUP, "realtime", TOKEN)
    argv = configs.args(query=query, backdrop=configs.backdrop(f"{backdrop.url}/data"),
                        credentials=configs.credentials(matomo.credentials()), token=configs.token(TOKEN))

    with freeze_time(datetime.fromisoformat(vector["now"]).astimezone(UTC)):
        result = run_cli(argv)

    assert result.exit_code == 0, result.all_output()
    assert backdrop.records(DATA_GROUP, "realtime") == [
        {key: decode(value) for key, value in sorted(vector["record"])}
    ]
    [call] = matomo.api_calls("Live.getCounters")
    assert call.parameters["lastMinutes"] == "1"
