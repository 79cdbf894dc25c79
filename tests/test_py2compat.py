"""py2compat against CPython 2.7.18's own answers (tests/vectors) and the reference's examples."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from performanceplatform.collector.errors import CollectorError
from performanceplatform.collector.py2compat import (
    id_timestamp,
    py2_dict_order,
    py2_float_str,
    py2_repr,
    py2_set_difference_order,
    py2_set_order_of_dict,
    py2_str_hash,
    py2_unicode,
    value_id,
)
from tests.vectors import decode, load_vectors

VECTORS = load_vectors()


def test_vectors_come_from_python_2_7():
    assert VECTORS["python"] == "2.7.18"


@pytest.mark.parametrize(("text", "expected"), VECTORS["hash"])
def test_string_hash_matches_python_2(text, expected):
    assert py2_str_hash(text) == expected


def test_dict_order_matches_python_2_for_every_generated_key_set():
    cases = VECTORS["dict_order"]
    assert len(cases) > 500
    mismatches = [case for case in cases if py2_dict_order(case["keys"]) != case["order"]]
    assert mismatches == []


def test_dict_order_vectors_exercise_resizing_and_collisions():
    # Guards the vectors themselves: orders that differ from insertion order, big tables.
    cases = VECTORS["dict_order"]
    assert sum(case["order"] != list(dict.fromkeys(case["keys"])) for case in cases) > 300
    assert max(len(case["keys"]) for case in cases) >= 1000


# The table of §2.5 of the behaviour reference: gapy's dimension dict, then `datetime`.
@pytest.mark.parametrize(
    ("inserted", "python2_order"),
    [
        (["browser", "browserVersion"], ["browserVersion", "browser"]),
        (["date", "browser", "datetime"], ["date", "datetime", "browser"]),
        (["date", "hour", "datetime"], ["date", "hour", "datetime"]),
        (["customVarValue9", "pagePath"], ["pagePath", "customVarValue9"]),
        (["pagePath", "pageTitle"], ["pageTitle", "pagePath"]),
        (
            ["eventCategory", "eventAction", "eventLabel"],
            ["eventLabel", "eventCategory", "eventAction"],
        ),
        (["month", "year"], ["year", "month"]),
    ],
)
def test_dimension_orders_from_the_reference_table(inserted, python2_order):
    assert py2_dict_order(inserted) == python2_order


def test_a_repeated_key_keeps_its_first_place():
    assert py2_dict_order(["pagePath", "pageTitle", "pagePath"]) == ["pageTitle", "pagePath"]


def test_dict_order_refuses_keys_it_cannot_hash_like_python_2():
    with pytest.raises(CollectorError, match="dict order"):
        py2_dict_order(["a", 1])  # type: ignore[list-item]


def test_set_orders_match_python_2():
    for case in VECTORS["set_difference"]:
        set_order = py2_set_order_of_dict(py2_dict_order(case["keys"]))
        assert set_order == case["set_order"]
        difference = py2_set_difference_order(set_order, set(case["removed"]))
        assert difference == case["difference_order"]


def test_rendering_matches_python_2_unicode():
    cases = VECTORS["rendering"]
    assert len(cases) > 1000
    mismatches = [
        (case["value"], py2_unicode(decode(case["value"])), case["unicode"])
        for case in cases
        if py2_unicode(decode(case["value"])) != case["unicode"]
    ]
    assert mismatches == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1 + 0.2, "0.3"),
        (1234567.123456789, "1234567.12346"),
        (1e16, "1e+16"),
        (400.0, "400.0"),
        (-0.0, "-0.0"),
        (1e11, "1e+11"),
        (12345678901.0, "12345678901.0"),
        (123456789012.0, "1.23456789012e+11"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (float("inf"), "inf"),
        (float("nan"), "nan"),
        # Python 2's dtoa kept these zeros (a tie at the 13th digit of a whole number).
        (6568914972805.0, "6.56891497280e+12"),
        (6568914972800.0, "6.5689149728e+12"),
    ],
)
def test_float_rendering_keeps_12_significant_digits(value, expected):
    assert py2_float_str(value) == expected
    assert py2_unicode(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "True"),
        (False, "False"),
        (None, "None"),
        (12, "12"),
        (2**64, "18446744073709551616"),
        (datetime(2013, 4, 1), "2013-04-01 00:00:00"),
        (datetime(2014, 10, 30, 13, tzinfo=UTC), "2014-10-30 13:00:00+00:00"),
        (date(2013, 1, 2), "2013-01-02"),
        (["a", 1, 2**64, 1.1, None, True], "[u'a', 1, 18446744073709551616L, 1.1, None, True]"),
        ({"b": "\u20ac"}, "{u'b': u'\\u20ac'}"),
        ("déjà", "déjà"),
    ],
)
def test_unicode_of_other_values(value, expected):
    assert py2_unicode(value) == expected


def test_repr_of_strings_picks_quotes_as_python_2_did():
    assert py2_repr("it's") == 'u"it\'s"'
    assert py2_repr("a'\"") == "u'a\\'\"'"


def test_values_python_2_never_held_are_refused_not_guessed():
    with pytest.raises(CollectorError, match="bytes"):
        py2_unicode(b"raw")
    with pytest.raises(CollectorError, match="UTC offset"):
        py2_unicode(datetime(2014, 1, 1, tzinfo=timezone(timedelta(seconds=30))))


def test_id_timestamp_is_utc():
    assert id_timestamp(datetime(2012, 1, 1, 12, tzinfo=UTC)) == "20120101120000"
    plus_one = timezone(timedelta(hours=1))
    assert id_timestamp(datetime(2014, 6, 1, 0, 30, tzinfo=plus_one)) == "20140531233000"


def test_id_timestamp_refuses_a_naive_datetime():
    with pytest.raises(CollectorError, match="naive"):
        id_timestamp(datetime(2012, 1, 1))


def test_value_id_is_urlsafe_base64_of_utf8():
    # §11 item 13 of the behaviour reference.
    assert value_id("a_20120101120000_week_one_two") == (
        "YV8yMDEyMDEwMTEyMDAwMF93ZWVrX29uZV90d28=",
        "a_20120101120000_week_one_two",
    )
    assert value_id("a_20120101120000_week_one_\u00a9 \u262f \u262e")[0] == (
        "YV8yMDEyMDEwMTEyMDAwMF93ZWVrX29uZV_CqSDimK8g4piu"
    )
    assert value_id("1\u0601" + "2")[0] == "MdiBMg=="
    assert value_id("foo")[0] == "Zm9v"


def test_value_id_is_urlsafe():
    # Standard base64 of these bytes is w7/DvsO9Pj4+Pz8/.
    assert value_id("\u00ff\u00fe\u00fd>>>???")[0] == "w7_DvsO9Pj4-Pz8_"
