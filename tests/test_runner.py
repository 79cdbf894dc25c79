"""Running a collector: the context for built-in ones, private copies for six-argument ones, and
the garbage collector set for a backfill."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pytest

from performanceplatform.collector.context import RunContext
from performanceplatform.collector.runner import (
    YOUNG_GENERATION_THRESHOLD,
    Collector,
    legacy_main,
    load_collector,
    run,
    takes_run_context,
)

DATA_SET_CONFIG = {"url": "https://backdrop.example/data/g/t", "token": "t0ken", "data-group": "g",
                   "data-type": "t", "dry_run": True}


def context(query: dict[str, Any] | None = None, options: dict[str, Any] | None = None) -> RunContext:
    return RunContext.from_collector_arguments(
        "tests.collector", {"key": "value"}, DATA_SET_CONFIG, query or {"metrics": ["a"]}, options, None, None
    )


def test_a_collector_runs_with_start_up_objects_frozen_and_fewer_young_collections() -> None:
    seen: dict[str, Any] = {}

    def collect(run_context: RunContext) -> str:
        seen["threshold"] = gc.get_threshold()
        seen["frozen"] = gc.get_freeze_count()
        return "done"

    before = gc.get_threshold()
    assert run(Collector("tests.collector", collect, None), context()) == "done"
    assert seen["threshold"] == (max(before[0], YOUNG_GENERATION_THRESHOLD), *before[1:])
    assert seen["frozen"] > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_the_settings_are_restored_when_a_collector_fails() -> None:
    def collect(run_context: RunContext) -> None:
        raise RuntimeError("broken")

    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="broken"):
        run(Collector("tests.collector", collect, None), context())
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_six_argument_collector_gets_private_copies_of_the_context(tmp_path: Path) -> None:
    record_to = tmp_path / "arguments.json"
    loaded = context({"record_to": str(record_to), "metrics": ["a"]}, {"chunk-size": 5})
    collector = load_collector("tests.collectors.recorder", "query file q.json")
    run(collector, loaded)
    received = json.loads(record_to.read_text())
    assert received["credentials"] == {"key": "value"}
    assert received["data_set_config"] == DATA_SET_CONFIG
    assert received["options"] == {"chunk-size": 5}
    # The recorder scribbled over every argument: the context is as it was.
    assert "scribbled" not in loaded.query and "scribbled" not in loaded.credentials
    assert "scribbled" not in loaded.options.raw


def test_a_built_in_collector_takes_the_context_and_keeps_a_six_argument_main() -> None:
    seen: list[RunContext] = []

    @takes_run_context
    def collect(run_context: RunContext) -> None:
        seen.append(run_context)

    main = legacy_main("tests.collector", collect)
    main({"key": "value"}, DATA_SET_CONFIG, {"metrics": ["a"]}, {"chunk-size": 3}, None, None)
    (received,) = seen
    assert received.options.chunk_size == 3 and received.dry_run
    assert received.data_set.name == "g/t"
