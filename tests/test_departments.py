"""The department code table (deployment data) and the department plugins (§11 items 20-21)."""

from __future__ import annotations

import re

import pytest

from performanceplatform.collector.departments import (
    NO_DEPARTMENTS,
    department_for,
    first_department_code,
    load_department_codes,
)
from performanceplatform.collector.errors import CollectorError, ConfigurationError, PluginError
from performanceplatform.collector.plugins import parse_plugin
from tests.support.cli import DEPARTMENT_CODES
from tests.support.shared import PRODUCTION_DEPARTMENT_CODES, require_shared


@pytest.fixture
def table(configs):
    """A few rows of the production table, read as --department-codes reads it."""
    return load_department_codes(configs.department_codes())


def test_the_production_table_loads():
    table = load_department_codes(require_shared(PRODUCTION_DEPARTMENT_CODES))
    assert len(table) > 400
    # The tests' small table is a true extract of it.
    assert {code: table[code] for code in DEPARTMENT_CODES} == DEPARTMENT_CODES


@pytest.mark.parametrize(
    ("value", "department"),
    [
        ("<D1>", "attorney-generals-office"),
        ("<D1><foo>", "attorney-generals-office"),
        ("<foo>", "<foo>"),
        ("<D10><D9>", "department-for-work-pensions"),
        ("Department for fooing the bar", "Department for fooing the bar"),
        ("<OT532>", "prime-ministers-office-10-downing-street"),
    ],
)
def test_department_for(table, value, department):
    assert department_for(value, table) == department


@pytest.mark.parametrize("content_filter", ["customVarValue9=~^<D1>", "Organisation=~^<D1>"])
def test_content_table_filters_resolve(table, content_filter):
    # The GA content.table collector splits its filter on "=~^" and looks the rest up.
    assert department_for(content_filter.split("=~^")[1], table) == "attorney-generals-office"


def test_without_a_table_codes_pass_through():
    assert department_for("<D1>", NO_DEPARTMENTS) == "<D1>"


def test_first_department_code_must_open_the_value():
    assert first_department_code("<D10><D9>") == "<D10>"
    assert first_department_code("x<D1>") is None
    assert first_department_code("<>") is None


def test_a_missing_table_is_a_configuration_error_naming_the_file(tmp_path):
    missing = tmp_path / "absent.json"
    with pytest.raises(ConfigurationError, match=re.escape(str(missing))) as error:
        load_department_codes(missing)
    assert "No such file" in str(error.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [("{not json", "not valid JSON"), ('["<D1>"]', "one JSON object"),
     ('{"<D1>": 1}', "one JSON object"), (b"\xff\xfe", "not UTF-8")],
)
def test_an_invalid_table_is_a_configuration_error_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "codes.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=problem) as error:
        load_department_codes(path)
    assert str(path) in str(error.value)


def test_a_table_is_read_once_per_path(tmp_path):
    path = tmp_path / "codes.json"
    path.write_text('{"<X1>": "first"}', encoding="utf-8")
    assert load_department_codes(path)["<X1>"] == "first"
    path.write_text('{"<X1>": "second"}', encoding="utf-8")
    assert load_department_codes(path)["<X1>"] == "first"
    other = tmp_path / "other.json"
    other.write_text('{"<X1>": "other"}', encoding="utf-8")
    assert load_department_codes(other)["<X1>"] == "other"


# --- the department plugins ------------------------------------------------------------------


def test_compute_department_key_takes_the_first_code(table):
    plugin = parse_plugin("ComputeDepartmentKey('customVarValue9')", departments=table)
    records = plugin([{"customVarValue9": "<D10><D9>"}, {"customVarValue9": "<foo>"}])
    assert [record["department"] for record in records] == [
        "department-for-work-pensions",
        "<foo>",
    ]


def test_compute_department_key_names_a_missing_key_instead_of_asserting(table):
    plugin = parse_plugin("ComputeDepartmentKey('customVarValue9')", departments=table)
    with pytest.raises(CollectorError, match=r"record 0 has no field 'customVarValue9'"):
        plugin([{"other": "<D1>"}])


def test_compute_department_key_needs_a_code_at_the_start(table):
    plugin = parse_plugin("ComputeDepartmentKey('org')", departments=table)
    with pytest.raises(CollectorError, match="does not start with a department code"):
        plugin([{"org": "no code here"}])
    with pytest.raises(CollectorError, match="does not start with a department code"):
        plugin([{"org": 7}])


def test_set_department_resolves_code_or_name(table):
    coded = parse_plugin("SetDepartment('<D3>')", departments=table)
    named = parse_plugin("SetDepartment('Department for fooing the bar')", departments=table)
    assert coded([{}, {}]) == [
        {"department": "department-for-business-innovation-skills"},
        {"department": "department-for-business-innovation-skills"},
    ]
    assert named([{}]) == [{"department": "Department for fooing the bar"}]


def test_set_department_takes_one_string():
    with pytest.raises(PluginError, match="exactly one string"):
        parse_plugin("SetDepartment(3)")
