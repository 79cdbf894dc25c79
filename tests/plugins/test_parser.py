"""Property: no plugin string, however it is built, runs code or fails other than with PluginError.

The strings are built from plugin-call syntax mixed with fragments that would have side effects if
anything evaluated them (each would create a marker file). Whatever the parser makes of them, the
marker must never appear and the only failure allowed is a `PluginError` quoting the string.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from performanceplatform.collector.errors import CollectorError, PluginError
from performanceplatform.collector.plugins import parse_plugin

MARKER = Path(__file__).resolve().parent / "__plugin_code_ran__"
TOUCH = f"__import__('pathlib').Path({str(MARKER)!r}).touch()"
SIDE_EFFECTS = [
    TOUCH,
    f"open({str(MARKER)!r}, 'w')",
    f"exec({TOUCH!r})",
    f"eval({TOUCH!r})",
    f"(lambda: {TOUCH})()",
    f"[{TOUCH} for _ in 'x']",
    f"{{'k': {TOUCH}}}",
    f"*[{TOUCH}]",
    f"key={TOUCH}",
    f"f'{{{TOUCH}}}'",
    f"(_ := {TOUCH})",
    f"Comment.__init__.__globals__['__builtins__']['__import__']('pathlib').Path({str(MARKER)!r}).touch()",
    f"aggregate_count({TOUCH})",
]
NAMES = ["Comment", "ComputeIdFrom", "ComputeRank", "RemoveKey", "AggregateKey", "ComputeDepartmentKey",
         "SetDepartment", "aggregate_count", "aggregate_rate", "__import__", "eval", "open", "os.system",
         "getattr", "type", "ComputeIdFrom.__call__", "load_plugins"]
LITERALS = ["'rank'", '"department"', "1", "-2.5", "None", "True", "'a', 'b'", "u'x'", "b'x'", "0x10", "1e3",
            "aggregate_count('count')", "aggregate_rate('rate', 'count')", "()", "[]"]

argument = st.sampled_from(SIDE_EFFECTS + LITERALS)
spacing = st.sampled_from(["", " ", "\n", "\t", "  "])


@st.composite
def plugin_strings(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(NAMES))
    arguments = draw(st.lists(argument, max_size=4))
    gap = draw(spacing)
    trailing = draw(st.sampled_from(["", ",", ", "]))
    call = f"{gap}{name}({gap}{f',{gap}'.join(arguments)}{trailing if arguments else ''}){gap}"
    wrapper = draw(st.sampled_from(["{}", "({})", "{}.x", "{}()", "[{}]", "{} or 1", "not {}", "{};1", "{}#"]))
    return wrapper.format(call)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plugin_strings() | st.text(max_size=200))
def test_no_plugin_string_runs_code(text):
    try:
        plugin = parse_plugin(text)
    except PluginError as error:
        assert str(error).startswith("key 'plugins': plugin ")
    else:
        # What parses must be a plugin made of literals only: running it on a record can fail
        # cleanly, never run code.
        with contextlib.suppress(CollectorError):
            plugin([{"_timestamp": "2014-01-01", "rank": 1, "department": "d", "a": 1, "b": 2, "count": 1}])
    assert not MARKER.exists(), f"code ran for {text!r}"
