"""A collector for stop tests: it pushes the query's records, and waits at one of them until the
test opens the gate, so that a test can stop the run at exactly the moment it means to.

The run context's own collector API, as built-in collectors use it: `collect(context)` and the
pipeline's sink.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from performanceplatform.collector.context import RunContext
from performanceplatform.collector.pipeline import open_sink, push
from performanceplatform.collector.runner import takes_run_context

# Gates by name; a test makes one, names it in the query, and opens it (or stops the run first).
GATES: dict[str, threading.Event] = {}
# A gate never opened is a test bug: fail it rather than hang the suite.
GATE_LIMIT_SECONDS = 60


@takes_run_context
def collect(context: RunContext) -> None:
    # Without a gate (a run in another process than the test's), the records flow freely.
    gate = GATES[context.query["gate"]] if "gate" in context.query else None
    gate_at = context.query.get("gate_at")

    def records() -> Iterator[dict[str, Any]]:
        for index, record in enumerate(context.query["records"]):
            if gate is not None and index == gate_at and not gate.wait(GATE_LIMIT_SECONDS):
                raise AssertionError(f"gate {context.query['gate']!r} was never opened")
            yield dict(record)

    push(open_sink(context), records())
