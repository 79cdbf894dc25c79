"""The Backdrop stand-in keeps Backdrop's write contract (shared/reference/backdrop-write-api.md)."""

from __future__ import annotations

import gzip
import json
import sqlite3
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest
import requests

from performanceplatform.collector.standins.backdrop import BackdropStandIn
from tests.support.backdrop import DATA_GROUP, DATA_TYPE, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
TS = "2013-04-01T00:00:00+00:00"


def post(
    backdrop: BackdropStandIn,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    path: str | None = None,
) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.request(
        method,
        backdrop.url + (path or f"/data/{DATA_GROUP}/{DATA_TYPE}"),
        data=data,
        headers=AUTH if headers is None else headers,
        timeout=10,
    )


def test_status(backdrop: BackdropStandIn) -> None:
    response = requests.get(f"{backdrop.url}/_status", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "message": "app is up"}


def test_a_reset_forgets_how_many_requests_were_once_served_at_once(backdrop: BackdropStandIn) -> None:
    # The server is shared by the tests a worker runs: an earlier test's peak is not the next one's.
    assert post(backdrop, [{"_timestamp": TS, "_id": "a1"}]).status_code == 200
    assert backdrop.max_in_flight == 1

    backdrop.reset()

    assert backdrop.max_in_flight == 0


def test_settling_lets_a_held_request_be_answered_and_stored_before_it_returns(backdrop: BackdropStandIn) -> None:
    # What the fixture does between tests: a test that ends with a request held must not have it
    # stored in the next test's data set.
    held = backdrop.hold_next()
    answers: list[int] = []
    record = {"_timestamp": TS, "_id": "a1"}
    client = threading.Thread(target=lambda: answers.append(post(backdrop, [record]).status_code))
    client.start()
    assert held.reached.wait(60)

    assert backdrop.settle()

    assert backdrop.in_flight == 0
    assert [record["_id"] for record in backdrop.records(DATA_GROUP, DATA_TYPE)] == ["a1"]
    client.join()
    assert answers == [200]


def test_a_valid_post_is_stored(backdrop: BackdropStandIn) -> None:
    response = post(backdrop, [{"_timestamp": TS, "_id": "a1", "count": 3}])
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-cache"
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == [{"_timestamp": TS, "_id": "a1", "count": 3}]


def test_an_unknown_data_set_is_404_before_the_token_is_checked(backdrop: BackdropStandIn) -> None:
    response = post(backdrop, [{"_timestamp": TS}], headers={}, path="/data/no/such")
    assert response.status_code == 404
    assert response.json() == {"status": "error", "message": "Could not find data_set_config"}


def test_a_missing_authorization_header_is_401(backdrop: BackdropStandIn) -> None:
    response = post(backdrop, [{"_timestamp": TS}], headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "bearer"
    assert response.json() == {
        "status": "error",
        "message": "Expected header of form: Authorization: Bearer <token>",
    }
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == []


@pytest.mark.parametrize(
    ("authorization", "shown"),
    [("Bearer wrong", "wrong"), ("bearer " + TOKEN, "None"), ("Token " + TOKEN, "None")],
)
def test_a_wrong_token_or_scheme_is_401(
    backdrop: BackdropStandIn, authorization: str, shown: str
) -> None:
    response = post(
        backdrop,
        [{"_timestamp": TS}],
        headers={"Authorization": authorization, "Content-Type": "application/json"},
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "bearer"
    assert response.json() == {
        "status": "error",
        "message": f"Unauthorized: Invalid bearer token '{shown}' for 'test_group_test_type'",
    }


def test_tokens_are_per_data_set(backdrop: BackdropStandIn) -> None:
    backdrop.add_data_set("other", "set", "other-token")
    response = post(backdrop, [{"_timestamp": TS}], path="/data/other/set")
    assert response.status_code == 401
    response = post(
        backdrop,
        [{"_timestamp": TS}],
        path="/data/other/set",
        headers={"Authorization": "Bearer other-token", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert len(backdrop.records("other", "set")) == 1
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == []


def test_a_data_set_without_a_token_in_its_config_is_500(backdrop: BackdropStandIn) -> None:
    backdrop.add_data_set("no", "token", None)
    response = post(backdrop, [{"_timestamp": TS}], path="/data/no/token")
    assert response.status_code == 500
    assert response.json() == {
        "status": "error",
        "message": "Internal Server Error: KeyError('bearer_token')",
    }


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_the_content_type_must_be_json(backdrop: BackdropStandIn, content_type: str | None) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if content_type:
        headers["Content-Type"] = content_type
    response = post(backdrop, [{"_timestamp": TS}], headers=headers)
    assert response.status_code == 400
    assert response.json() == {
        "messages": ["ValidationError('Expected header: Content-type: application/json',)"]
    }


def test_content_type_parameters_are_accepted(backdrop: BackdropStandIn) -> None:
    headers = {**AUTH, "Content-Type": "application/json; charset=utf-8"}
    assert post(backdrop, [{"_timestamp": TS}], headers=headers).status_code == 200


def test_an_empty_body_is_400(backdrop: BackdropStandIn) -> None:
    response = post(backdrop, b"")
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "message": "Expected JSON request body but received zero bytes.",
    }


def test_malformed_json_is_400(backdrop: BackdropStandIn) -> None:
    response = post(backdrop, b"[{nope")
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith('Error parsing JSON: "') and message.endswith('"')
    assert response.json()["status"] == "error"


def test_an_object_is_taken_as_one_record(backdrop: BackdropStandIn) -> None:
    assert post(backdrop, {"_timestamp": TS, "_id": "x1"}).status_code == 200
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == [{"_timestamp": TS, "_id": "x1"}]


@pytest.mark.parametrize("body", ["foo", 3, [1, 2], [{"_timestamp": TS}, "x"]])
def test_a_scalar_or_a_list_of_non_objects_is_500(backdrop: BackdropStandIn, body: Any) -> None:
    response = post(backdrop, body)
    assert response.status_code == 500
    assert response.json()["message"].startswith("Internal Server Error: AttributeError(")
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == []


def test_an_empty_list_stores_nothing(backdrop: BackdropStandIn) -> None:
    response = post(backdrop, [])
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == []


@pytest.mark.parametrize(
    ("record", "messages"),
    [
        ({"_timestamp": TS, "a": 1}, ["a is not a valid key"]),
        ({"_timestamp": TS, "foo-bar": 1}, ["foo-bar is not a valid key"]),
        ({"_timestamp": TS, "1abc": 1}, ["1abc is not a valid key"]),
        ({"_timestamp": TS, "_updated_at": TS}, ["_updated_at is not a recognised internal field"]),
        ({"_timestamp": TS, "nested": {"a": 1}}, ["nested has an invalid value"]),
        ({"_timestamp": TS, "listed": [1]}, ["listed has an invalid value"]),
        ({"_timestamp": TS, "_id": 7}, ['_id "7" is not a valid id']),
        ({"_timestamp": TS, "_id": ""}, ['_id "" is not a valid id']),
        ({"_timestamp": TS, "_id": "a b"}, ['_id "a b" is not a valid id']),
        (
            # The schema's message first (on the value as sent), then the two of a bad timestamp.
            {"_timestamp": "hammer time"},
            [
                "'hammer time' is not a u'date-time'",
                "hammer time in the _timestamp field is not a valid date",
                "_timestamp is not a valid datetime object",
            ],
        ),
        (
            {"_timestamp": TS, "_start_at": None},
            [
                "the _start_at must be a date in the format yyyy-MM-ddT00:00:00Z",
                "_start_at is not a valid datetime object",
            ],
        ),
        # Only the first failing rule of a record is reported.
        ({"_timestamp": TS, "a": 1, "b-c": [1]}, ["a is not a valid key"]),
    ],
)
def test_invalid_records_get_backdrops_messages(
    backdrop: BackdropStandIn, record: dict[str, Any], messages: list[str]
) -> None:
    response = post(backdrop, [record])
    assert response.status_code == 400
    assert response.json() == {"messages": messages}


@pytest.mark.parametrize(
    ("record", "messages"),
    [
        ({"_timestamp": TS, "_id": "b\x0bc", "count": 1}, ['_id "b\x0bc" is not a valid id']),
        ({"_timestamp": TS, "_id": "b\tc", "count": 1}, ['_id "b\tc" is not a valid id']),
        ({"_timestamp": TS, "_id": "b", "count": 2**63}, ["count has an invalid value"]),
        ({"_timestamp": "2013-04-01", "_id": "b", "count": 1}, ["'2013-04-01' is not a u'date-time'"]),
        ({"_id": "b", "count": 1}, ["u'_timestamp' is a required property"]),
        ({"_timestamp": TS, "_id": 7, "count": 1}, ['_id "7" is not a valid id']),
        ({"_timestamp": TS, "_id": "b", "count": [1]}, ["count has an invalid value"]),
        ({"_timestamp": TS, "_id": "b", "count": {}}, ["count has an invalid value"]),
        ({"_id": "b", "_timestamp": TS, "Count": 1, "bad-key": 1}, ["bad-key is not a valid key"]),
        (
            {"_timestamp": TS, "_id": "b", "_end_at": 3},
            ["the _end_at must be a date in the format yyyy-MM-ddT00:00:00Z", "_end_at is not a valid datetime object"],
        ),
    ],
)
def test_a_bad_record_among_many_good_ones_gets_its_message(
    backdrop: BackdropStandIn, record: dict[str, Any], messages: list[str]
) -> None:
    # Records like the good ones are checked the quick way (by their set of keys and the types of
    # their values); that must not let a bad one through, nor change its message.
    backdrop.store_records = False
    good = [{"_timestamp": TS, "_id": f"a{n}", "count": n, "ratio": 0.5, "flag": True, "none": None} for n in range(50)]

    refused = post(backdrop, [*good[:25], record, *good[25:]])
    accepted = post(backdrop, good)

    assert refused.status_code == 400
    assert refused.json() == {"messages": messages}
    assert accepted.status_code == 200
    assert backdrop.received_records == 50


def test_valid_edge_cases_are_accepted(backdrop: BackdropStandIn) -> None:
    record = {"_timestamp": TS, "CamelCase": 1, "nothing": None, "flag": True, "ratio": 0.5, "ab": "x",
              "top": 2**63 - 1, "bottom": -(2**63), "_id": "no-break\u00a0space"}
    assert post(backdrop, [record]).status_code == 200
    stored = backdrop.records(DATA_GROUP, DATA_TYPE)[0]
    assert stored["CamelCase"] == 1 and stored["nothing"] is None and stored["flag"] is True
    assert (stored["top"], stored["bottom"], stored["_id"]) == (2**63 - 1, -(2**63), "no-break\u00a0space")


@pytest.mark.parametrize(
    ("data_type", "record", "messages"),
    [
        ("monitoring", {"uptime": 3600, "downtime": 0}, []),
        ("monitoring", {"uptime": 3600.0, "downtime": False}, [
            "False is not of type u'integer'", "3600.0 is not of type u'integer'"]),
        ("monitoring", {}, ["u'uptime' is a required property", "u'downtime' is a required property"]),
        ("monitoring", {"uptime": 2**63, "downtime": 0}, ["uptime has an invalid value"]),
        ("realtime", {"for_url": "", "unique_visitors": 0}, []),
        ("realtime", {"for_url": None, "unique_visitors": "7"}, [
            "None is not of type u'string'", "'7' is not of type u'integer'"]),
        ("realtime", {"for_url": "/caf\u00e9", "unique_visitors": 1.5}, ["1.5 is not of type u'integer'"]),
        ("realtime", {"for_url": ["/a"], "unique_visitors": 1}, [
            "[u'/a'] is not of type u'string'", "for_url has an invalid value"]),
        # Other data types' fields mean nothing elsewhere.
        (DATA_TYPE, {"uptime": "up", "for_url": None}, []),
    ],
)
def test_each_data_type_has_its_production_schema(
    backdrop: BackdropStandIn, data_type: str, record: dict[str, Any], messages: list[str]
) -> None:
    backdrop.add_data_set(DATA_GROUP, data_type, TOKEN)
    response = post(backdrop, [{"_timestamp": TS, "_id": "s", **record}], path=f"/data/{DATA_GROUP}/{data_type}")
    if messages:
        assert (response.status_code, response.json()) == (400, {"messages": messages})
        assert backdrop.records(DATA_GROUP, data_type) == []
    else:
        assert response.status_code == 200
        assert backdrop.record(DATA_GROUP, data_type, "s") is not None


def test_a_data_set_without_a_schema_takes_what_the_schema_refuses(backdrop: BackdropStandIn) -> None:
    backdrop.add_data_set(DATA_GROUP, "monitoring", TOKEN, production_schema=False)
    record = {"_timestamp": "2024-06-01", "_id": "m", "uptime": 3600.0}
    assert post(backdrop, [record], path=f"/data/{DATA_GROUP}/monitoring").status_code == 200
    assert backdrop.record(DATA_GROUP, "monitoring", "m") == {
        "_timestamp": "2024-06-01T00:00:00+00:00", "_id": "m", "uptime": 3600.0
    }


def test_whether_a_data_set_has_a_schema_is_kept_in_the_database(tmp_path: Path) -> None:
    database = tmp_path / "backdrop.sqlite3"
    # A file from before schemas: its data sets get them, as every production one had.
    with sqlite3.connect(database) as connection:
        connection.executescript(
            "CREATE TABLE data_sets (data_group TEXT NOT NULL, data_type TEXT NOT NULL, name TEXT NOT NULL,"
            " token TEXT, PRIMARY KEY (data_group, data_type));"
            "INSERT INTO data_sets VALUES ('old', 'set', 'old_set', 'token');"
        )
    connection.close()
    first = BackdropStandIn(database=database)
    first.add_data_set("loose", "set", "token", production_schema=False)
    first.stop()  # never started: only closes the file

    second = BackdropStandIn(database=database).start()
    try:
        undated = [{"_id": "u", "count": 1}]
        old = requests.post(f"{second.url}/data/old/set", json=undated, timeout=10,
                            headers={"Authorization": "Bearer token"})
        loose = requests.post(f"{second.url}/data/loose/set", json=undated, timeout=10,
                              headers={"Authorization": "Bearer token"})
    finally:
        second.stop()
    assert (old.status_code, old.json()) == (400, {"messages": ["u'_timestamp' is a required property"]})
    assert loose.status_code == 500  # stored, then Backdrop's KeyError: no schema


def test_one_bad_record_rejects_the_whole_request(backdrop: BackdropStandIn) -> None:
    response = post(
        backdrop,
        [
            {"_timestamp": TS, "good": 1},
            {"_timestamp": TS, "bad key": 2},
            {"_timestamp": TS, "_nope": 3},
        ],
    )
    assert response.status_code == 400
    # Errors are collected across all the records of the request.
    assert response.json() == {
        "messages": ["bad key is not a valid key", "_nope is not a recognised internal field"]
    }
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == []


def test_a_record_with_the_same_id_is_replaced_whole(backdrop: BackdropStandIn) -> None:
    assert post(backdrop, [{"_timestamp": TS, "_id": "k", "a1": 1, "b1": 2}]).status_code == 200
    assert post(backdrop, [{"_timestamp": TS, "_id": "k", "a1": 5}]).status_code == 200
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == [{"_timestamp": TS, "_id": "k", "a1": 5}]


def test_within_a_batch_the_last_record_with_an_id_wins(backdrop: BackdropStandIn) -> None:
    body = [{"_timestamp": TS, "_id": "k", "v1": 1}, {"_timestamp": TS, "_id": "k", "v1": 2}]
    assert post(backdrop, body).status_code == 200
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == [{"_timestamp": TS, "_id": "k", "v1": 2}]


def test_a_record_without_an_id_gets_a_fresh_one(backdrop: BackdropStandIn) -> None:
    assert post(backdrop, [{"_timestamp": TS, "v1": 1}, {"_timestamp": TS, "v1": 1}]).status_code == 200
    ids = [record["_id"] for record in backdrop.records(DATA_GROUP, DATA_TYPE)]
    assert len(ids) == 2 and ids[0] != ids[1]


# (sent, stored, whether it is an RFC 3339 date-time)
LENIENT_TIMESTAMPS = [
    ("2013-03-21T10:10:10+05:30", "2013-03-21T04:40:10+00:00", True),
    ("2013-03-21T10:10:10Z", "2013-03-21T10:10:10+00:00", True),
    ("2013-03-21T10:10:10", "2013-03-21T10:10:10+00:00", False),
    ("2013-03-22", "2013-03-22T00:00:00+00:00", False),
    ("22/03/2013 10:00", "2013-03-22T10:00:00+00:00", False),
]


@pytest.mark.parametrize(("sent", "stored", "rfc_3339"), LENIENT_TIMESTAMPS)
def test_timestamps_are_parsed_leniently_and_stored_in_utc(
    backdrop: BackdropStandIn, sent: str, stored: str, rfc_3339: bool
) -> None:
    # Without a schema, `_timestamp` is as lenient as `_start_at` and `_end_at` always are.
    backdrop.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN, production_schema=False)
    body = [{"_timestamp": sent, "_start_at": sent, "_end_at": sent, "_id": "t"}]
    assert post(backdrop, body).status_code == 200
    record = backdrop.record(DATA_GROUP, DATA_TYPE, "t")
    assert record == {"_timestamp": stored, "_start_at": stored, "_end_at": stored, "_id": "t"}


@pytest.mark.parametrize(("sent", "stored", "rfc_3339"), LENIENT_TIMESTAMPS)
def test_with_the_production_schema_only_an_rfc_3339_timestamp_is_accepted(
    backdrop: BackdropStandIn, sent: str, stored: str, rfc_3339: bool
) -> None:
    response = post(backdrop, [{"_timestamp": sent, "_start_at": sent, "_end_at": sent, "_id": "t"}])
    if rfc_3339:
        assert response.status_code == 200
        assert backdrop.record(DATA_GROUP, DATA_TYPE, "t") == {
            "_timestamp": stored, "_start_at": stored, "_end_at": stored, "_id": "t"
        }
    else:
        assert response.status_code == 400
        assert response.json() == {"messages": [f"'{sent}' is not a u'date-time'"]}
        assert backdrop.records(DATA_GROUP, DATA_TYPE) == []
    # `_start_at` and `_end_at` are in no schema: they stay lenient.
    response = post(backdrop, [{"_timestamp": TS, "_start_at": sent, "_end_at": sent, "_id": "u"}])
    assert response.status_code == 200
    assert backdrop.record(DATA_GROUP, DATA_TYPE, "u") == {"_timestamp": TS, "_start_at": stored, "_end_at": stored,
                                                            "_id": "u"}


def test_a_record_without_a_timestamp_is_refused_whole_by_the_schema(backdrop: BackdropStandIn) -> None:
    response = post(backdrop, [{"_timestamp": TS, "_id": "y", "count": 1}, {"_id": "n", "count": 1}])
    assert response.status_code == 400
    assert response.json() == {"messages": ["u'_timestamp' is a required property"]}
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == []


def test_without_a_schema_a_record_without_a_timestamp_is_stored_and_then_500(backdrop: BackdropStandIn) -> None:
    backdrop.add_data_set(DATA_GROUP, DATA_TYPE, TOKEN, production_schema=False)
    response = post(backdrop, [{"_id": "n", "count": 1}])
    assert response.status_code == 500
    assert response.json() == {
        "status": "error",
        "message": "Internal Server Error: KeyError('_timestamp')",
    }
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == [{"_id": "n", "count": 1}]


def test_put_of_an_empty_list_empties_the_data_set(backdrop: BackdropStandIn) -> None:
    backdrop.store(DATA_GROUP, DATA_TYPE, [{"_timestamp": TS, "_id": "old"}])
    response = post(backdrop, [], method="PUT")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "message": "test_group_test_type now contains 0 records",
    }
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == []


def test_put_of_records_is_not_implemented(backdrop: BackdropStandIn) -> None:
    backdrop.store(DATA_GROUP, DATA_TYPE, [{"_timestamp": TS, "_id": "old"}])
    response = post(backdrop, [{"_timestamp": TS}], method="PUT")
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "message": "Not implemented: you can only pass an empty JSON list",
    }
    assert len(backdrop.records(DATA_GROUP, DATA_TYPE)) == 1


def test_put_needs_the_token(backdrop: BackdropStandIn) -> None:
    backdrop.store(DATA_GROUP, DATA_TYPE, [{"_timestamp": TS, "_id": "old"}])
    response = post(backdrop, [], method="PUT", headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert len(backdrop.records(DATA_GROUP, DATA_TYPE)) == 1


@pytest.mark.parametrize("method", ["DELETE", "PATCH"])
def test_other_methods_are_405(backdrop: BackdropStandIn, method: str) -> None:
    response = post(backdrop, [], method=method)
    assert response.status_code == 405
    assert response.json() == {
        "status": "error",
        "message": "The method is not allowed for the requested URL.",
    }


def test_gzip_bodies_are_decompressed(backdrop: BackdropStandIn) -> None:
    body = gzip.compress(json.dumps([{"_timestamp": TS, "_id": "z"}]).encode())
    response = post(backdrop, body, headers={**AUTH, "Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert backdrop.record(DATA_GROUP, DATA_TYPE, "z") is not None


def test_a_gzip_body_over_10_mib_decompressed_is_413_html(backdrop: BackdropStandIn) -> None:
    padding = " " * (10 * 1024 * 1024)
    body = gzip.compress(("[" + padding + "]").encode())
    response = post(backdrop, body, headers={**AUTH, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Request Entity Too Large" in response.text


@pytest.mark.parametrize(("size", "status"), [(10_485_760, 200), (10_485_761, 413)])
def test_the_gzip_limit_is_exactly_10_mib_decompressed(backdrop: BackdropStandIn, size: int, status: int) -> None:
    body = gzip.compress(("[" + " " * (size - 2) + "]").encode())
    response = post(backdrop, body, headers={**AUTH, "Content-Encoding": "gzip"})
    assert response.status_code == status


def test_deflate_is_not_understood(backdrop: BackdropStandIn) -> None:
    body = zlib.compress(json.dumps([{"_timestamp": TS}]).encode())
    response = post(backdrop, body, headers={**AUTH, "Content-Encoding": "deflate"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("Error parsing JSON:")


def test_get_returns_what_was_stored_with_backdrops_added_fields(backdrop: BackdropStandIn) -> None:
    assert post(backdrop, [{"_timestamp": "2014-01-08T13:45:00Z", "_id": "g", "v1": 1}]).status_code == 200
    response = requests.get(backdrop.data_url(DATA_GROUP, DATA_TYPE), timeout=10)
    assert response.status_code == 200
    (record,) = response.json()["data"]
    assert record["_timestamp"] == "2014-01-08T13:45:00+00:00"
    assert record["_hour_start_at"] == "2014-01-08T13:00:00+00:00"
    assert record["_day_start_at"] == "2014-01-08T00:00:00+00:00"
    assert record["_week_start_at"] == "2014-01-06T00:00:00+00:00"
    assert record["_month_start_at"] == "2014-01-01T00:00:00+00:00"
    assert record["_quarter_start_at"] == "2014-01-01T00:00:00+00:00"
    assert record["_year_start_at"] == "2014-01-01T00:00:00+00:00"
    assert record["_updated_at"].endswith("+00:00")
    assert requests.get(backdrop.data_url("no", "such"), timeout=10).status_code == 404


def test_injected_faults_have_backdrops_error_shape(backdrop: BackdropStandIn) -> None:
    backdrop.fail_next(503)
    response = post(backdrop, [{"_timestamp": TS}])
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and "503" in body["message"]
    assert backdrop.records(DATA_GROUP, DATA_TYPE) == []
    backdrop.fail_next(401)
    assert post(backdrop, [{"_timestamp": TS}]).headers["WWW-Authenticate"] == "bearer"
