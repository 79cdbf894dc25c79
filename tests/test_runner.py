"""Running a collector: its own copies of the configs, and the garbage collector set for a backfill."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from performanceplatform.collector.config import QueryConfig
from performanceplatform.collector.runner import YOUNG_GENERATION_THRESHOLD, run_collector


def query_config() -> QueryConfig:
    return QueryConfig(
        entrypoint="tests.collector", data_group="g", data_type="t", query={"id": "ga:1", "metrics": ["a"]},
        options={"plugins": []}, source="query file q.json",
    )


def test_a_collector_runs_with_start_up_objects_frozen_and_fewer_young_collections() -> None:
    seen: dict[str, Any] = {}

    def collector(credentials, data_set_config, query, options, start_at, end_at) -> str:
        seen["threshold"] = gc.get_threshold()
        seen["frozen"] = gc.get_freeze_count()
        query["metrics"].append("changed")  # the collector's own copy
        return "done"

    before = gc.get_threshold()
    config = query_config()
    result = run_collector(collector, credentials={}, data_set_config={}, query=config, start_at=None, end_at=None)
    assert result == "done"
    assert seen["threshold"] == (max(before[0], YOUNG_GENERATION_THRESHOLD), *before[1:])
    assert seen["frozen"] > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    assert config.query["metrics"] == ["a"]


def test_the_settings_are_restored_when_a_collector_fails() -> None:
    def collector(*_: Any) -> None:
        raise RuntimeError("broken")

    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="broken"):
        run_collector(collector, credentials={}, data_set_config={}, query=query_config(), start_at=None, end_at=None)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
