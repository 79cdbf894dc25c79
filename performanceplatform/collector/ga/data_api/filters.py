"""Core Reporting v3 filter expressions → the Data API's `dimensionFilter` and `metricFilter`.

v3 syntax (developers.google.com/analytics/devguides/reporting/core/v3/reference#filters): terms
`<name><operator><value>` joined by `;` (AND) and `,` (OR), where OR binds tighter than AND:
`a;b,c` is `a AND (b OR c)`. A backslash escapes a separator in a value (`\\,` `\\;`); every other
backslash belongs to the value (regexes such as `\\/` keep theirs). A `filters` list is OR-joined
first, as gapy joined it with `,`.

Dimension operators `==` `!=` `=~` `!~` `=@` `!@` become string filters (exact, partial regex,
contains; `!` ones wrapped in `notExpression`), case-insensitive as GA4's default and UA's
reporting were. Metric operators `==` `!=` `>` `<` `>=` `<=` become numeric filters. GA4 keeps
dimension and metric filters apart, AND-ing the two, so an AND of OR-groups splits cleanly; an OR
group mixing a metric and a dimension has no GA4 form and is refused, as is anything else GA4
cannot say. Every problem is a `ConfigurationError` on the key `filters`, raised before any request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.data_api.names import SOURCE, UA_NAMES, Field, NameTable, bare_name

KEY = "filters"
AND, OR, ESCAPE = ";", ",", "\\"
TERM = re.compile(r"(?P<name>[A-Za-z0-9_:]+?)(?P<operator>==|!=|=~|!~|=@|!@|>=|<=|>|<)(?P<value>.*)", re.DOTALL)
DIMENSION_OPERATORS = {
    "==": ("EXACT", False),
    "!=": ("EXACT", True),
    "=~": ("PARTIAL_REGEXP", False),
    "!~": ("PARTIAL_REGEXP", True),
    "=@": ("CONTAINS", False),
    "!@": ("CONTAINS", True),
}
METRIC_OPERATORS = {
    "==": ("EQUAL", False),
    "!=": ("EQUAL", True),
    ">": ("GREATER_THAN", False),
    "<": ("LESS_THAN", False),
    ">=": ("GREATER_THAN_OR_EQUAL", False),
    "<=": ("LESS_THAN_OR_EQUAL", False),
}
# GA4 matches regexes with RE2, which has no lookaround and no backreferences.
RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]")

FilterExpression = dict[str, Any]


@dataclass(frozen=True)
class Filters:
    """The two filters of a Data API request; None where the query filters nothing of that kind."""

    dimension_filter: FilterExpression | None = None
    metric_filter: FilterExpression | None = None

    def and_also(self, other: Filters) -> Filters:
        """Rows both select (a segment's page filter with the query's own)."""
        return Filters(
            _all_of([e for e in (self.dimension_filter, other.dimension_filter) if e is not None]),
            _all_of([e for e in (self.metric_filter, other.metric_filter) if e is not None]),
        )


def field_names(expression: FilterExpression) -> Iterator[str]:
    """The GA4 fields a filter expression names."""
    for kind, value in expression.items():
        if kind in ("andGroup", "orGroup"):
            for item in value["expressions"]:
                yield from field_names(item)
        elif kind == "notExpression":
            yield from field_names(value)
        elif kind == "filter":
            yield value["fieldName"]


def translate_filters(
    filters: Sequence[str],
    *,
    realtime: bool = False,
    metric_names: frozenset[str] = frozenset(),
    names: NameTable = UA_NAMES,
    key: str = KEY,
) -> Filters:
    """GA4's filters for a v3 `filters` value (its list items, OR-joined as gapy joined them).

    `metric_names` are the query's own metrics (bare names), so that a filter on a custom field
    (`customEvent:x`, which may be either) counts as a metric when the query asks for it as one.
    `names` is the name table (a GA4 migration's, when the run has one); `key` is the query key
    problems are reported under (a segment's condition is a filter too).
    """
    if not filters:
        return Filters()
    text = OR.join(filters)
    dimension_groups: list[FilterExpression] = []
    metric_groups: list[FilterExpression] = []
    for group_text in split_unescaped(text, AND):
        terms = [
            _term(term, realtime=realtime, metric_names=metric_names, names=names, key=key)
            for term in split_unescaped(group_text, OR)
        ]
        kinds = {field.is_metric for field, _ in terms}
        if len(kinds) > 1:
            metric = next(field.written for field, _ in terms if field.is_metric)
            dimension = next(field.written for field, _ in terms if not field.is_metric)
            raise ConfigurationError(
                f"{group_text!r} ORs the metric {metric!r} with the dimension {dimension!r}; GA4 "
                "filters metrics and dimensions separately (AND-ed together), so that OR has no "
                "GA4 equivalent: split it into separate queries",
                source=SOURCE,
                key=key,
            )
        expressions = [expression for _, expression in terms]
        group = expressions[0] if len(expressions) == 1 else {"orGroup": {"expressions": expressions}}
        (metric_groups if terms[0][0].is_metric else dimension_groups).append(group)
    return Filters(_all_of(dimension_groups), _all_of(metric_groups))


def split_unescaped(text: str, separator: str) -> list[str]:
    """`text` split at each `separator` not escaped by a backslash; escapes are kept in the parts."""
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == ESCAPE and index + 1 < len(text):
            current.append(text[index : index + 2])
            index += 2
            continue
        if char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def unescape(value: str) -> str:
    """A term's value with `\\,` and `\\;` made plain; other backslashes are the value's own."""
    out: list[str] = []
    index = 0
    while index < len(value):
        pair = value[index : index + 2]
        if pair in (ESCAPE + OR, ESCAPE + AND):
            out.append(pair[1])
            index += 2
        elif pair[:1] == ESCAPE and len(pair) == 2:
            out.append(pair)
            index += 2
        else:
            out.append(value[index])
            index += 1
    return "".join(out)


def _term(
    text: str, *, realtime: bool, metric_names: frozenset[str], names: NameTable, key: str
) -> tuple[Field, FilterExpression]:
    match = TERM.fullmatch(text)
    if match is None:
        raise ConfigurationError(
            f"{text!r} is not a filter term: expected <name><operator><value> with one of the "
            "operators == != =~ !~ =@ !@ > < >= <=",
            source=SOURCE,
            key=key,
        )
    field = names.resolve_filter_field(match["name"], key=key, realtime=realtime, metrics=metric_names)
    if field.per or field.dropped:
        what = "is derived from two GA4 metrics" if field.per else "is dropped from the GA4 request"
        raise ConfigurationError(
            f"{text!r}: {field.written!r} {what}, so GA4 cannot filter on it",
            source=SOURCE,
            key=key,
            reason=f"filter on {bare_name(field.written)}",
        )
    operator, value = match["operator"], unescape(match["value"])
    if field.is_metric:
        return field, _metric_filter(field, operator, value, text, key)
    return field, _dimension_filter(field, operator, value, text, key)


def _dimension_filter(field: Field, operator: str, value: str, text: str, key: str) -> FilterExpression:
    if operator not in DIMENSION_OPERATORS:
        raise ConfigurationError(
            f"{text!r}: {operator!r} compares numbers, and {field.written!r} is a dimension; "
            "dimension filters take == != =~ !~ =@ !@",
            source=SOURCE,
            key=key,
        )
    match_type, negated = DIMENSION_OPERATORS[operator]
    if field.values:
        value = _ga4_value(field, operator, value, text, key)
    if match_type == "PARTIAL_REGEXP" and RE2_UNSUPPORTED.search(value):
        raise ConfigurationError(
            f"{text!r}: GA4 matches regular expressions with RE2, which has no lookahead, "
            "lookbehind or backreferences",
            source=SOURCE,
            key=key,
        )
    expression: FilterExpression = {
        "filter": {
            "fieldName": field.api_name,
            "stringFilter": {"matchType": match_type, "value": value, "caseSensitive": False},
        }
    }
    return {"notExpression": expression} if negated else expression


def _ga4_value(field: Field, operator: str, value: str, text: str, key: str) -> str:
    """The GA4 value an exact UA value stands for, on a dimension whose values GA4 spells otherwise."""
    reverse = {ua: ga4 for ga4, ua in field.values.items()}
    choices = " or ".join(repr(ua) for ua in reverse)
    if operator not in ("==", "!=") or value not in reverse:
        raise ConfigurationError(
            f"{text!r}: GA4 spells {bare_name(field.written)!r} values differently "
            f"({', '.join(field.values)}), so only == and != with {choices} can be translated",
            source=SOURCE,
            key=key,
        )
    return reverse[value]


def _metric_filter(field: Field, operator: str, value: str, text: str, key: str) -> FilterExpression:
    if operator not in METRIC_OPERATORS:
        raise ConfigurationError(
            f"{text!r}: {operator!r} matches text, and {field.written!r} is a metric; metric "
            "filters take == != > < >= <=",
            source=SOURCE,
            key=key,
        )
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise ConfigurationError(
            f"{text!r}: a metric is compared with a number, not {value!r}", source=SOURCE, key=key
        )
    # UA's percentages are GA4's fractions (see names): compare like with like.
    number /= field.scale
    numeric = (
        {"int64Value": str(int(number))}
        if number == number.to_integral_value()
        else {"doubleValue": float(number)}
    )
    operation, negated = METRIC_OPERATORS[operator]
    expression: FilterExpression = {
        "filter": {"fieldName": field.api_name, "numericFilter": {"operation": operation, "value": numeric}}
    }
    return {"notExpression": expression} if negated else expression


def _all_of(expressions: list[FilterExpression]) -> FilterExpression | None:
    if not expressions:
        return None
    if len(expressions) == 1:
        return expressions[0]
    # An AND of ANDs is one AND: the request reads as the query was written.
    flat = [item for e in expressions for item in (e["andGroup"]["expressions"] if "andGroup" in e else [e])]
    return {"andGroup": {"expressions": flat}}
