"""v3-shaped GA queries → GA4 Data API requests, offline: names, filters, sort, limits, refusals.

These are the parsers and tables on hand-built input; `test_ga4_collector.py` checks the same
requests arriving at the stand-in through `pp-collector`.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from performanceplatform.collector.errors import ConfigurationError
from performanceplatform.collector.ga.data_api.filters import split_unescaped, translate_filters, unescape
from performanceplatform.collector.ga.data_api.names import DIMENSION, METRIC, resolve
from performanceplatform.collector.ga.data_api.query import PAGE_SIZE, DateRange, ReportQuery, translate
from performanceplatform.collector.ga.query import GaQuery

SOURCE = "query file q.json"


def report_query(query: dict) -> ReportQuery:
    return ReportQuery.of(GaQuery.from_config(query, source=SOURCE), source=SOURCE)


PROPERTY = "properties/123"


def exact(field: str, value: str) -> dict:
    return {"filter": {"fieldName": field, "stringFilter": {"matchType": "EXACT", "value": value,
                                                            "caseSensitive": False}}}


def regex(field: str, value: str) -> dict:
    return {"filter": {"fieldName": field, "stringFilter": {"matchType": "PARTIAL_REGEXP", "value": value,
                                                            "caseSensitive": False}}}


def numeric(field: str, operation: str, value: dict) -> dict:
    return {"filter": {"fieldName": field, "numericFilter": {"operation": operation, "value": value}}}


@pytest.mark.parametrize(
    ("written", "kind", "api_name"),
    [
        ("sessions", METRIC, "sessions"),
        ("ga:sessions", METRIC, "sessions"),
        ("users", METRIC, "totalUsers"),
        ("visitors", METRIC, "totalUsers"),
        ("pageviews", METRIC, "screenPageViews"),
        ("avgSessionDuration", METRIC, "averageSessionDuration"),
        ("totalEvents", METRIC, "eventCount"),
        ("newUsers", METRIC, "newUsers"),
        ("bounceRate", METRIC, "bounceRate"),
        ("engagementRate", METRIC, "engagementRate"),  # GA4's own name passes through
        ("keyEvents:purchase", METRIC, "keyEvents:purchase"),
        ("pagePath", DIMENSION, "pagePathPlusQueryString"),
        ("ga:landingPagePath", DIMENSION, "landingPagePlusQueryString"),
        ("deviceCategory", DIMENSION, "deviceCategory"),
        ("date", DIMENSION, "date"),
        ("sourceMedium", DIMENSION, "sessionSourceMedium"),
        ("keyword", DIMENSION, "sessionManualTerm"),
        ("userType", DIMENSION, "newVsReturning"),
        ("unifiedPagePathScreen", DIMENSION, "unifiedPagePathScreen"),
        ("customEvent:organisation", DIMENSION, "customEvent:organisation"),
    ],
)
def test_names(written: str, kind: str, api_name: str) -> None:
    field = resolve(written, kind, key="metrics" if kind == METRIC else "dimensions")
    assert (field.written, field.api_name, field.kind) == (written, api_name, kind)


@pytest.mark.parametrize(
    ("written", "kind", "message"),
    [
        ("uniqueEvents", METRIC, "'uniqueEvents' has no GA4 equivalent: GA4 does not count unique events"),
        ("goal3Completions", METRIC, "GA4 has no goals: count the goal's event with 'keyEvents:<event name>'"),
        ("entrances", METRIC, "the Data API has no entrances"),
        ("browserVersion", DIMENSION, "reports 'browser' but not its version"),
        ("eventCategory", DIMENSION, "GA4 events have a name and parameters"),
        ("dimension9", DIMENSION, "UA custom dimensions and metrics are numbered"),
        ("sesions", METRIC, "'sesions' is neither a metric of the GA4 Data API nor a Universal Analytics metric"),
        ("pagePath", METRIC, "'pagePath' is a dimension, not a metric"),
        ("rt:activeUsers", METRIC, "neither a metric"),  # rt: names belong to realtime only
    ],
)
def test_names_without_a_ga4_equivalent_are_refused(written: str, kind: str, message: str) -> None:
    key = "metrics" if kind == METRIC else "dimensions"
    with pytest.raises(ConfigurationError) as raised:
        resolve(written, kind, key=key)
    assert raised.value.key == key
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"query: key '{key}': ")


@pytest.mark.parametrize(
    ("written", "kind", "api_name"),
    [("rt:activeUsers", METRIC, "activeUsers"), ("ga:activeVisitors", METRIC, "activeUsers"),
     ("rt:deviceCategory", DIMENSION, "deviceCategory"), ("ga:pageTitle", DIMENSION, "unifiedScreenName")],
)
def test_realtime_names(written: str, kind: str, api_name: str) -> None:
    assert resolve(written, kind, key="metrics", realtime=True).api_name == api_name


def test_a_realtime_page_path_is_refused_with_the_nearest_field() -> None:
    with pytest.raises(ConfigurationError) as raised:
        translate_filters(["ga:pagePath=~^/make-a-sorn$"], realtime=True)
    assert raised.value.key == "filters"
    assert "GA4's Realtime API has no page path" in str(raised.value)
    assert "unifiedScreenName" in str(raised.value)


@pytest.mark.parametrize(
    ("term", "expression"),
    [
        ("ga:pagePath==/account", exact("pagePathPlusQueryString", "/account")),
        ("pagePath!=/account", {"notExpression": exact("pagePathPlusQueryString", "/account")}),
        ("pagePath=~^/vat", regex("pagePathPlusQueryString", "^/vat")),
        ("pagePath!~^/$", {"notExpression": regex("pagePathPlusQueryString", "^/$")}),
        ("pageTitle=@Tax", {"filter": {"fieldName": "pageTitle", "stringFilter": {
            "matchType": "CONTAINS", "value": "Tax", "caseSensitive": False}}}),
        ("pageTitle!@Tax", {"notExpression": {"filter": {"fieldName": "pageTitle", "stringFilter": {
            "matchType": "CONTAINS", "value": "Tax", "caseSensitive": False}}}}),
        ("sessions>99", numeric("sessions", "GREATER_THAN", {"int64Value": "99"})),
        ("ga:sessions<5", numeric("sessions", "LESS_THAN", {"int64Value": "5"})),
        ("sessions>=1.5", numeric("sessions", "GREATER_THAN_OR_EQUAL", {"doubleValue": 1.5})),
        ("users<=10", numeric("totalUsers", "LESS_THAN_OR_EQUAL", {"int64Value": "10"})),
        ("sessions==3", numeric("sessions", "EQUAL", {"int64Value": "3"})),
        ("sessions!=3", {"notExpression": numeric("sessions", "EQUAL", {"int64Value": "3"})}),
        # UA's percentage is GA4's fraction.
        ("bounceRate>45", numeric("bounceRate", "GREATER_THAN", {"doubleValue": 0.45})),
        ("userType==New Visitor", exact("newVsReturning", "new")),
    ],
)
def test_each_operator(term: str, expression: dict) -> None:
    filters = translate_filters([term])
    assert filters.dimension_filter == (None if "numericFilter" in str(expression) else expression)
    assert filters.metric_filter == (expression if "numericFilter" in str(expression) else None)


def test_or_binds_tighter_than_and() -> None:
    filters = translate_filters(["ga:pagePath==/account;ga:eventName==a,ga:eventName==b;sessions>2"])
    assert filters.dimension_filter == {"andGroup": {"expressions": [
        exact("pagePathPlusQueryString", "/account"),
        {"orGroup": {"expressions": [exact("eventName", "a"), exact("eventName", "b")]}},
    ]}}
    assert filters.metric_filter == numeric("sessions", "GREATER_THAN", {"int64Value": "2"})


def test_list_items_are_or_joined_as_gapy_joined_them() -> None:
    # gapy sent "a;b,c": a AND (b OR c), not (a AND b) OR c.
    filters = translate_filters(["pagePath==/a;ga:pageTitle==B", "pageTitle==C"])
    assert filters.dimension_filter == {"andGroup": {"expressions": [
        exact("pagePathPlusQueryString", "/a"),
        {"orGroup": {"expressions": [exact("pageTitle", "B"), exact("pageTitle", "C")]}},
    ]}}


def test_escaped_separators_belong_to_the_value_and_regex_backslashes_stay() -> None:
    filters = translate_filters([r"pageTitle==Tax\, VAT\; duties,pagePath=~^(\/vat|.*-vat)\?x$"])
    assert filters.dimension_filter == {"orGroup": {"expressions": [
        exact("pageTitle", "Tax, VAT; duties"),
        regex("pagePathPlusQueryString", r"^(\/vat|.*-vat)\?x$"),
    ]}}


def test_a_metric_filter_on_a_custom_field_follows_the_querys_metrics() -> None:
    as_metric = translate_filters(["customEvent:score>3"], metric_names=frozenset({"customEvent:score"}))
    as_dimension = translate_filters(["customEvent:score==3"])
    assert as_metric.metric_filter is not None and as_metric.dimension_filter is None
    assert as_dimension.dimension_filter is not None and as_dimension.metric_filter is None


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (["sessions>99,pagePath==/a"], "ORs the metric 'sessions' with the dimension 'pagePath'"),
        (["pagePath>3"], "'>' compares numbers, and 'pagePath' is a dimension"),
        (["sessions=~9"], "'=~' matches text, and 'sessions' is a metric"),
        (["sessions>many"], "a metric is compared with a number, not 'many'"),
        (["pagePath=/a"], "is not a filter term"),
        (["pagePath==/a;"], "'' is not a filter term"),
        (["pagePath=~^/(?!admin)"], "RE2, which has no lookahead"),
        (["userType=~New"], "only == and != with 'New Visitor' or 'Returning Visitor'"),
        (["eventCategory==x"], "GA4 events have a name and parameters"),
        (["uniqueEvents>2"], "'uniqueEvents' has no GA4 equivalent"),
    ],
)
def test_filters_without_a_ga4_equivalent_are_refused(filters: list[str], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        translate_filters(filters)
    assert raised.value.key == "filters"
    assert message in str(raised.value)


@given(st.lists(st.text(alphabet="ab,;\\x", max_size=8), min_size=1, max_size=5))
def test_splitting_keeps_every_character(parts: list[str]) -> None:
    for separator in (",", ";"):
        text = separator.join(parts)
        assert separator.join(split_unescaped(text, separator)) == text


@given(st.text(alphabet="ab,;", max_size=12))
def test_escaped_separators_round_trip(value: str) -> None:
    escaped = value.replace(",", "\\,").replace(";", "\\;")
    assert split_unescaped(escaped, ",") == [escaped]
    assert split_unescaped(escaped, ";") == [escaped]
    assert unescape(escaped) == value


def test_a_whole_query() -> None:
    query = report_query({
        "id": PROPERTY, "metrics": ["sessions", "users", "visitors"], "dimensions": ["deviceCategory", "pagePath"],
        "filters": "ga:pagePath=~^/vehicle-tax;ga:sessions>9", "sort": ["-sessions", "deviceCategory"],
        "maxResults": 20, "frequency": "daily",
    })

    body = query.request_body([DateRange(date(2014, 10, 13), date(2014, 10, 13))], offset=0, limit=20)

    assert body == {
        "dateRanges": [{"startDate": "2014-10-13", "endDate": "2014-10-13"}],
        # users and visitors both read totalUsers: asked once, written under each name.
        "metrics": [{"name": "sessions"}, {"name": "totalUsers"}],
        "dimensions": [{"name": "deviceCategory"}, {"name": "pagePathPlusQueryString"}],
        "dimensionFilter": regex("pagePathPlusQueryString", "^/vehicle-tax"),
        "metricFilter": numeric("sessions", "GREATER_THAN", {"int64Value": "9"}),
        "orderBys": [{"metric": {"metricName": "sessions"}, "desc": True},
                     {"dimension": {"dimensionName": "deviceCategory"}, "desc": False}],
        "offset": "0",
        "limit": "20",
        "returnPropertyQuota": True,
    }
    assert [m.written for m in query.metrics] == ["sessions", "users", "visitors"]
    assert (query.max_results, query.frequency) == (20, "daily")


def test_page_limits_follow_max_results() -> None:
    capped = report_query({"id": PROPERTY, "metrics": ["sessions"], "maxResults": 25_000})
    uncapped = report_query({"id": PROPERTY, "metrics": ["sessions"], "maxResults": 0})
    assert [capped.page_limit(read) for read in (0, 10_000, 20_000)] == [PAGE_SIZE, PAGE_SIZE, 5_000]
    assert (uncapped.max_results, uncapped.page_limit(0)) == (None, PAGE_SIZE)


def test_every_problem_is_listed_and_the_first_raised() -> None:
    query = {"id": PROPERTY, "metrics": ["uniqueEvents", "sessions"], "dimensions": ["browserVersion"],
             "segment": "gaid::-1", "sort": ["-pageviews"]}

    problems = translate(GaQuery.from_config(query, source=SOURCE), source=SOURCE)[1]

    assert [problem.key for problem in problems] == ["query.segment", "query.metrics", "query.dimensions", "query.sort"]
    assert all(str(problem).startswith(f"{SOURCE}: ") for problem in problems)
    assert "the GA4 Data API has no segments" in str(problems[0])
    assert "'-pageviews' sorts on a field the query does not ask for" in str(problems[3])
    with pytest.raises(ConfigurationError) as raised:
        report_query(query)
    assert str(raised.value) == str(problems[0])


@pytest.mark.parametrize(
    ("query", "key", "message"),
    [
        ({"id": "properties/G-ABC123", "metrics": ["sessions"]}, "id", "the numeric property id, not a 'G-'"),
        ({"id": PROPERTY}, "metrics", "expected at least one name"),
        ({"id": PROPERTY, "metrics": ["sessions"], "maxResults": -1}, "maxResults", "expected a whole number"),
        ({"id": PROPERTY, "metrics": ["sessions"], "frequency": "hourly"}, "frequency", "expected one of daily"),
    ],
)
def test_the_v3_checks_of_each_key_apply(query: dict, key: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        report_query(query)
    assert raised.value.key == f"query.{key}"
    assert message in str(raised.value)
