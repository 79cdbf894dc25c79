"""Plugins: parsed, never evaluated; the original's semantics; clear errors instead of crashes."""

from __future__ import annotations

import builtins
import contextlib
import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from performanceplatform.collector.errors import CollectorError, PluginError
from performanceplatform.collector.plugins import (
    MAX_PLUGIN_LENGTH,
    AggregateKey,
    Aggregation,
    Comment,
    ComputeIdFrom,
    ComputeRank,
    RemoveKey,
    parse_plugin,
    parse_plugins,
    run_plugins,
)
from performanceplatform.collector.plugins.ordering import Py2Ordered
from performanceplatform.collector.py2compat import (
    py2_dict_order,
    py2_set_difference_order,
    py2_set_order_of_dict,
    value_id,
)
from tests.support.shared import REAL_CONFIGS, require_shared
from tests.vectors import decode, load_vectors

# Every plugin string of the production corpus (real-config-corpus.md §3).
CORPUS = {
    "Comment('department computed from filtersets by collect-content-dashboard-table.py')":
        Comment(("department computed from filtersets by collect-content-dashboard-table.py",)),
    "ComputeRank('rank')": ComputeRank("rank"),
    "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'department', 'rank')":
        ComputeIdFrom(("_timestamp", "timeSpan", "dataType", "department", "rank")),
    "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'rank')":
        ComputeIdFrom(("_timestamp", "timeSpan", "dataType", "rank")),
    "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType')":
        ComputeIdFrom(("_timestamp", "timeSpan", "dataType")),
    "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'department', )":
        ComputeIdFrom(("_timestamp", "timeSpan", "dataType", "department")),
    "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'department', 'browser', "
    "'browserVersion')":
        ComputeIdFrom(
            ("_timestamp", "timeSpan", "dataType", "department", "browser", "browserVersion")
        ),
    "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'department', 'deviceCategory')":
        ComputeIdFrom(("_timestamp", "timeSpan", "dataType", "department", "deviceCategory")),
    "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'department', 'visitorType')":
        ComputeIdFrom(("_timestamp", "timeSpan", "dataType", "department", "visitorType")),
    "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'deviceCategory')":
        ComputeIdFrom(("_timestamp", "timeSpan", "dataType", "deviceCategory")),
    "ComputeIdFrom('_timestamp', 'timeSpan', 'dataType', 'visitorType')":
        ComputeIdFrom(("_timestamp", "timeSpan", "dataType", "visitorType")),
}


@pytest.mark.parametrize(("text", "plugin"), CORPUS.items())
def test_every_corpus_plugin_string_parses(text, plugin):
    assert parse_plugin(text) == plugin


def test_every_plugin_string_in_the_real_configs_parses():
    texts = set()
    for path in sorted(require_shared(REAL_CONFIGS).glob("queries/**/*.json")):
        options = json.loads(path.read_text(encoding="utf-8")).get("options") or {}
        texts.update(options.get("plugins", []))
    assert len(texts) >= 8
    assert texts <= set(CORPUS)  # the held-back files use no others (corpus §3)
    for text in texts:
        assert parse_plugin(text) == CORPUS[text]


@pytest.mark.parametrize(
    ("text", "plugin"),
    [
        ('  ComputeRank("rank")  \n', ComputeRank("rank")),
        ("ComputeIdFrom(\n  'a',\n  'b',\n)", ComputeIdFrom(("a", "b"))),
        ("ComputeIdFrom(u'a' 'b')", ComputeIdFrom(("ab",))),
        ("Comment(1, -2.5, True, None, 'x')", Comment((1, -2.5, True, None, "x"))),
        ("RemoveKey()", RemoveKey(())),
        (
            "AggregateKey(aggregate_count('visits'), aggregate_rate('rate', 'visits'),)",
            AggregateKey((Aggregation("visits"), Aggregation("rate", "visits"))),
        ),
        ("AggregateKey()", AggregateKey(())),
    ],
)
def test_literal_call_syntax_is_accepted(text, plugin):
    assert parse_plugin(text) == plugin


ATTACKS = [
    "__import__('os').system('echo pwned')",
    "ComputeRank(__import__('os').getcwd())",
    "ComputeIdFrom.__init__('a')",
    "ComputeRank('a').__class__",
    "ComputeRank('a') or __import__('os')",
    "(ComputeRank('a'), __import__('os'))",
    "[c for c in ().__class__.__bases__[0].__subclasses__()]",
    "(lambda: __import__('os'))()",
    "ComputeRank(f'{1}')",
    "ComputeRank(name='rank')",
    "ComputeRank(*['rank'])",
    "ComputeRank(**{'name': 'rank'})",
    "ComputeRank((x := 'rank'))",
    "ComputeRank('a' + 'b')",
    "ComputeRank(--1)",
    "ComputeRank(-'a')",
    "ComputeRank(b'rank')",
    "ComputeRank(1j)",
    "ComputeRank(...)",
    "ComputeRank(['rank'])",
    "ComputeRank({'rank'})",
    "Unknown('x')",
    "eval('1')",
    "load_plugins(['x'])",
    "aggregate_count('visits')",
    "AggregateKey(aggregate_count(__import__('os')))",
    "AggregateKey(aggregate_count('a', k=1))",
    "AggregateKey(ComputeRank('a'))",
    "AggregateKey('visits')",
    "1",
    "",
    "ComputeRank('rank'); import os",
    "ComputeRank('rank')\nimport os",
    "ComputeRank('rank'",
    "ComputeRank('rank')\x00",
    "ComputeRank('\ud800')",
    "(" * 400 + "ComputeRank('rank')" + ")" * 400,
    "ComputeRank(" + "-" * 900 + "1)",
    "ComputeRank('" + "x" * (MAX_PLUGIN_LENGTH + 1) + "')",
    "ComputeRank(" + "1" * 900 + ")" + "ComputeRank(" + "[" * 100,
]


@pytest.mark.parametrize("text", ATTACKS)
def test_anything_but_a_literal_call_of_a_known_plugin_is_refused(text):
    with pytest.raises(PluginError) as refused:
        parse_plugin(text)
    assert repr(text[:200]) in str(refused.value)
    assert "plugins" in str(refused.value)


def test_refused_strings_run_nothing(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    touch = f"__import__('pathlib').Path({str(marker)!r}).touch()"

    def forbidden(*args, **kwargs):
        raise AssertionError("plugin text was evaluated")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    for text in [touch, f"ComputeRank({touch})", f"AggregateKey(aggregate_count({touch}))",
                 f"Comment(lambda: {touch})"]:
        with pytest.raises(PluginError):
            parse_plugin(text)
    # The corpus strings still parse with eval and exec gone.
    for text in CORPUS:
        parse_plugin(text)
    assert not marker.exists()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.from_regex(r"[A-Za-z_]+\([^)]{0,40}\)", fullmatch=True))
def test_no_input_raises_anything_but_plugin_error(text):
    with contextlib.suppress(PluginError):
        parse_plugin(text)


@pytest.mark.parametrize("value", [1, None, b"ComputeRank('rank')", ["ComputeRank('rank')"]])
def test_a_plugin_that_is_not_a_string_is_refused(value):
    with pytest.raises(PluginError, match="not a string"):
        parse_plugin(value)


def test_the_plugins_option_must_be_a_list():
    assert parse_plugins(None) == []
    assert parse_plugins([]) == []
    with pytest.raises(PluginError, match="list of plugin strings"):
        parse_plugins("ComputeRank('rank')")


@pytest.mark.parametrize(
    "text",
    ["ComputeIdFrom()", "ComputeIdFrom(1)", "ComputeRank()", "ComputeRank('a', 'b')",
     "RemoveKey(None)", "SetDepartment()", "ComputeDepartmentKey(2)",
     "AggregateKey(aggregate_rate('rate'))", "AggregateKey(aggregate_count())"],
)
def test_wrong_arguments_are_refused(text):
    with pytest.raises(PluginError, match="wrong arguments"):
        parse_plugin(text)


# --- semantics -------------------------------------------------------------------------------


def test_compute_id_from_joins_fields_with_underscores():
    (record,) = parse_plugin('ComputeIdFrom("a", "b")')([{"a": 1, "b": 2}])
    assert (record["_id"], record["humanId"]) == value_id("1_2")


def test_compute_id_from_renders_as_python_2():
    records = [
        {
            "_timestamp": datetime(2014, 10, 13, tzinfo=UTC),
            "rate": 0.1 + 0.2,
            "day": date(2013, 1, 2),
            "none": None,
        }
    ]
    (record,) = ComputeIdFrom(("_timestamp", "rate", "day", "none"))(records)
    assert record["humanId"] == "20141013000000_0.3_2013-01-02_None"


def test_compute_id_from_names_a_missing_field_and_the_record():
    with pytest.raises(CollectorError, match=r"record 1 has no field 'b'"):
        ComputeIdFrom(("a", "b"))([{"a": 1, "b": 2}, {"a": 1}])


def test_compute_id_from_refuses_a_naive_datetime():
    with pytest.raises(CollectorError, match="without a time zone"):
        ComputeIdFrom(("when",))([{"when": datetime(2014, 1, 1)}])


def test_compute_id_from_refuses_an_empty_id():
    with pytest.raises(CollectorError, match="empty _id"):
        ComputeIdFrom(("a",))([{"a": ""}])


def test_compute_rank_numbers_from_one_in_list_order():
    records = ComputeRank("rank")([{"n": "x"}, {"n": "y"}, {"n": "z"}])
    assert [record["rank"] for record in records] == [1, 2, 3]


def test_remove_key_deletes_and_names_what_is_missing():
    assert RemoveKey(("b",))([{"a": 1, "b": 2}]) == [{"a": 1}]
    with pytest.raises(CollectorError, match="RemoveKey: record 0 has no field 'c'"):
        RemoveKey(("c",))([{"a": 1}])


def test_comment_changes_nothing():
    records = [{"a": 1}]
    assert Comment(("anything",))(records) is records


def test_run_plugins_applies_them_in_order():
    plugins = parse_plugins(["ComputeRank('rank')", "ComputeIdFrom('rank')", "RemoveKey('rank')"])
    assert run_plugins(plugins, [{"x": 1}, {"x": 2}]) == [
        {"x": 1, "_id": "MQ==", "humanId": "1"},
        {"x": 2, "_id": "Mg==", "humanId": "2"},
    ]


# --- AggregateKey ----------------------------------------------------------------------------


def test_aggregate_count_sums():
    plugin = parse_plugin("AggregateKey(aggregate_count('visits'))")
    docs = [{"a": 2, "b": 2, "c": 2, "visits": 201}, {"a": 2, "b": 2, "c": 2, "visits": 103}]
    assert plugin(docs) == [{"a": 2, "b": 2, "c": 2, "visits": 304}]


def test_aggregate_rate_is_weighted_by_the_count():
    plugin = parse_plugin("AggregateKey(aggregate_count('visits'), aggregate_rate('rate', 'visits'))")
    docs = [
        {"a": 2, "b": 2, "c": 2, "visits": 100, "rate": 0.25},
        {"a": 2, "b": 2, "c": 2, "visits": 100, "rate": 0.75},
    ]
    assert plugin(docs) == [{"a": 2, "b": 2, "c": 2, "visits": 200, "rate": 0.5}]


def test_aggregate_key_on_nothing_gives_nothing():
    assert parse_plugin("AggregateKey(aggregate_count('visits'))")([]) == []


def test_aggregate_key_needs_every_grouping_field_in_every_record():
    plugin = parse_plugin("AggregateKey(aggregate_count('visits'))")
    with pytest.raises(CollectorError, match=r"record 1 has no field 'page'"):
        plugin([{"page": "/", "visits": 1}, {"visits": 2}])


def test_aggregate_key_refuses_what_python_2_could_not_sort_or_sum():
    plugin = parse_plugin("AggregateKey(aggregate_count('visits'))")
    with pytest.raises(CollectorError, match="cannot be ordered"):
        plugin([{"when": datetime(2014, 1, 1), "visits": 1}, {"when": "x", "visits": 1}])
    with pytest.raises(CollectorError, match="not a number"):
        plugin([{"page": "/", "visits": "1"}])
    rate = parse_plugin("AggregateKey(aggregate_rate('rate', 'visits'))")
    with pytest.raises(CollectorError, match="total count of 0"):
        rate([{"page": "/", "visits": 0, "rate": 0.5}])


def test_aggregate_key_matches_python_2():
    cases = load_vectors()["aggregate"]
    assert len(cases) >= 50
    for case in cases:
        docs = [{key: decode(value) for key, value in pairs} for pairs in case["docs"]]
        calls = [
            f"aggregate_count({a[1]!r})" if a[0] == "count" else f"aggregate_rate({a[1]!r}, {a[2]!r})"
            for a in case["aggregations"]
        ]
        aggregated = {a[1] for a in case["aggregations"]}
        first_order = py2_set_order_of_dict(py2_dict_order(docs[0]))
        assert py2_set_difference_order(first_order, aggregated) == case["group_key_order"]
        result = parse_plugin(f"AggregateKey({', '.join(calls)})")(docs)
        expected = [{key: decode(value) for key, value in doc.items()} for doc in case["result"]]
        assert result == expected, case


def test_sorting_follows_python_2_comparisons():
    cases = load_vectors()["sort"]
    assert len(cases) >= 50
    for case in cases:
        rows = [decode(row) for row in case["rows"]]
        order = sorted(range(len(rows)), key=lambda index: Py2Ordered(rows[index]))
        assert order == case["order"], rows
