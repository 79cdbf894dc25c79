"""Reading plugin strings such as `ComputeIdFrom('_timestamp', 'timeSpan', )`.

The original `eval`'d them with every builtin in scope, so a query file (or a Stagecraft record)
could run any code. Here a string is only parsed: `ast.parse(mode="eval")` builds a syntax tree
without executing anything, and the tree must be exactly one call of a known plugin whose
arguments are literals (strings, numbers, booleans, None; `aggregate_count(...)` and
`aggregate_rate(...)` calls of literals inside AggregateKey). Anything else is a `PluginError`
quoting the string.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence

from ..departments import NO_DEPARTMENTS
from ..errors import PluginError
from .builtin import AGGREGATIONS, PLUGINS, AggregateKey, Aggregation, BadArguments, Literal, Plugin

# Production plugin strings are under 120 characters; the cap keeps the parser's own recursion
# and memory far from their limits whatever the input.
MAX_PLUGIN_LENGTH = 1000

_LITERAL_TYPES = (str, int, float, bool, type(None))


class _Rejected(Exception):
    """Why a plugin string is not acceptable; turned into a PluginError that quotes it."""


def parse_plugin(text: object, *, departments: Mapping[str, str] = NO_DEPARTMENTS) -> Plugin:
    """The plugin a string names, or PluginError. Never executes any part of the string.

    `departments` is the run's department code table, for the plugins that name departments.
    """
    if not isinstance(text, str):
        raise PluginError(f"plugin {text!r} is not a string", key="plugins")
    try:
        return _parse(text, departments)
    except _Rejected as reason:
        raise PluginError(f"plugin {_quote(text)} {reason}", key="plugins") from None


def parse_plugins(texts: object, *, departments: Mapping[str, str] = NO_DEPARTMENTS) -> list[Plugin]:
    """The plugins of an `options.plugins` value: None or a list of plugin strings."""
    if texts is None:
        return []
    if not isinstance(texts, list):
        raise PluginError(f"must be a list of plugin strings, not {texts!r}", key="plugins")
    return [parse_plugin(text, departments=departments) for text in texts]


def _parse(text: str, departments: Mapping[str, str]) -> Plugin:
    if len(text) > MAX_PLUGIN_LENGTH:
        raise _Rejected(f"is longer than {MAX_PLUGIN_LENGTH} characters")
    if "\x00" in text:
        raise _Rejected("contains a null byte")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as error:
        detail = getattr(error, "msg", None) or type(error).__name__
        raise _Rejected(f"is not a plugin call ({detail})") from None
    name, args = _call(tree.body, PLUGINS.keys() | {"AggregateKey"})
    try:
        if name == "AggregateKey":
            return AggregateKey(tuple(_aggregation(arg) for arg in args))
        return PLUGINS[name]([_literal(arg) for arg in args], departments)
    except BadArguments as error:
        raise _Rejected(f"has the wrong arguments: {error}") from None


def _call(node: ast.expr, names: set[str] | frozenset[str]) -> tuple[str, Sequence[ast.expr]]:
    if not isinstance(node, ast.Call):
        raise _Rejected(f"is not a call of one of {', '.join(sorted(names))}")
    if not isinstance(node.func, ast.Name):
        raise _Rejected("calls something other than a plugin name")
    name = node.func.id
    if name not in names:
        if name in AGGREGATIONS:
            raise _Rejected(f"uses {name} outside AggregateKey(...)")
        raise _Rejected(f"names an unknown plugin {name!r}; known: {', '.join(sorted(names))}")
    if node.keywords:
        raise _Rejected("uses keyword arguments; plugins take positional literals only")
    return name, node.args


def _literal(node: ast.expr) -> Literal:
    if isinstance(node, ast.Constant) and type(node.value) in _LITERAL_TYPES:
        return node.value  # type: ignore[no-any-return]
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) in (int, float)
    ):
        return -node.operand.value  # type: ignore[no-any-return]
    raise _Rejected(
        "has an argument that is not a literal string, number, True, False or None: "
        f"{_snippet(node)}"
    )


def _aggregation(node: ast.expr) -> Aggregation:
    name, args = _call_of_aggregation(node)
    return AGGREGATIONS[name]([_literal(arg) for arg in args])


def _call_of_aggregation(node: ast.expr) -> tuple[str, Sequence[ast.expr]]:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise _Rejected(
            f"gives AggregateKey an argument that is not aggregate_count(...) or "
            f"aggregate_rate(...): {_snippet(node)}"
        )
    return _call(node, frozenset(AGGREGATIONS))


def _snippet(node: ast.expr) -> str:
    try:
        text = ast.unparse(node)
    except (ValueError, RecursionError):
        text = type(node).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _quote(text: str) -> str:
    return repr(text) if len(text) <= 200 else f"{text[:200]!r}… ({len(text)} characters)"
