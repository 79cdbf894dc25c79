"""Reading Google's answers: errors into retry-or-fail, response pages into gapy-shaped rows."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime

import httplib2
import pytest
from googleapiclient.errors import HttpError

from performanceplatform.collector.errors import CollectorError, FatalUpstreamError, RetryableError
from performanceplatform.collector.ga.core_reporting.pages import page_from_response
from performanceplatform.collector.ga.core_reporting.query import CoreQuery
from performanceplatform.collector.ga.google_errors import classify_http_error, reason_and_message
from performanceplatform.collector.ga.query import GaQuery
from performanceplatform.collector.ga.rows import record_rows
from performanceplatform.collector.records import build_records


def http_error(status: int, body: bytes | str, headers: dict[str, str] | None = None) -> HttpError:
    response = httplib2.Response({"status": str(status), **(headers or {})})
    response.reason = "Reason Phrase"
    return HttpError(response, body.encode() if isinstance(body, str) else body)


def google_body(status: int, reason: str, message: str = "a message") -> str:
    return json.dumps({"error": {"errors": [{"domain": "global", "reason": reason, "message": message}],
                                 "code": status, "message": message}})


@pytest.mark.parametrize(
    ("status", "reason", "retryable"),
    [
        (429, "rateLimitExceeded", True),
        (500, "internalServerError", True),
        (502, "badGateway", True),
        (503, "backendError", True),
        (403, "userRateLimitExceeded", True),
        (403, "quotaExceeded", True),
        (403, "rateLimitExceeded", True),
        (403, "insufficientPermissions", False),
        (403, "dailyLimitExceeded", False),
        (403, "usageLimits.userRateLimitExceededUnreg", False),
        (400, "invalidParameter", False),
        (401, "authError", False),
        (404, "notFound", False),
    ],
)
def test_classification(status: int, reason: str, retryable: bool) -> None:
    error = classify_http_error(http_error(status, google_body(status, reason, "Google says why")), "request")

    assert isinstance(error, RetryableError if retryable else FatalUpstreamError)
    assert error.status == status
    assert f"{status} {reason}" in str(error) and "Google says why" in str(error)


def test_retry_after_is_passed_on() -> None:
    error = classify_http_error(http_error(429, google_body(429, "rateLimitExceeded"), {"retry-after": "7"}), "x")
    assert isinstance(error, RetryableError) and error.retry_after == 7.0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (google_body(400, "invalidParameter", "Invalid value"), ("invalidParameter", "Invalid value")),
        ("", ("Reason Phrase", "")),
        ("<html><body>Bad gateway</body></html>", ("Reason Phrase", "")),
        # The newer shape: a status word, no errors list.
        (json.dumps({"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}),
         ("PERMISSION_DENIED", "denied")),
    ],
)
def test_reason_and_message(body: str, expected: tuple[str, str]) -> None:
    assert reason_and_message(body.encode(), "Reason Phrase") == expected


def core_query(query: dict) -> CoreQuery:
    return CoreQuery.of(GaQuery.from_config(query, source="q"), source="q")


QUERY = core_query({"id": "ga:1", "metrics": ["visits", "avgSessionDuration"], "dimensions": ["date", "hour"]})


def test_rows_follow_gapy() -> None:
    response = {"query": {"start-date": "2013-04-01", "end-date": "2013-04-07"},
                "rows": [["20130402", "05", "12", "400.0"]]}

    (row,) = page_from_response(response, QUERY, date(2013, 4, 1), date(2013, 4, 7))

    assert row == {
        "metrics": {"visits": 12, "avgSessionDuration": 400.0},
        "dimensions": {"date": "20130402", "hour": "05", "datetime": datetime(2013, 4, 2, 5)},
        "start_date": date(2013, 4, 1),
        "end_date": date(2013, 4, 7),
    }
    (record_row,) = record_rows([row], "weekly")
    assert dict(record_row.fields) == {"visits": 12, "avgSessionDuration": 400000.0, "timeSpan": "week"}


def test_no_rows_and_no_dimensions() -> None:
    assert list(page_from_response({}, QUERY, date(2013, 4, 1), date(2013, 4, 7))) == []
    no_dimensions = core_query({"id": "ga:1", "metrics": ["visits"]})
    (row,) = page_from_response({"rows": [["3"]]}, no_dimensions, date(2013, 4, 1), date(2013, 4, 7))
    assert "dimensions" not in row


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ({"rows": [["20130402", "05", "12"]]}, r"a row of 3 values for 2 dimension\(s\) and 2 metric\(s\)"),
        ({"rows": [["2013-04-02", "05", "1", "2"]]}, "date dimension"),
        ({"query": {"start-date": "yesterday"}, "rows": []}, "not a pair of dates"),
    ],
)
def test_answers_that_make_no_sense_are_errors(response: dict, message: str) -> None:
    # A page is checked as it is read; its dates when its rows are read, or built into records.
    with pytest.raises(CollectorError, match=message):
        list(page_from_response(response, QUERY, date(2013, 4, 1), date(2013, 4, 7)))
    with pytest.raises(CollectorError, match=message):
        build_records(record_rows(page_from_response(response, QUERY, date(2013, 4, 1), date(2013, 4, 7)), "weekly"),
                      {}, "t")


@pytest.mark.parametrize(
    "module",
    ["performanceplatform.collector.ga", "performanceplatform.collector.ga.realtime",
     "performanceplatform.collector.ga.trending", "performanceplatform.collector.ga.contrib.content.table"],
)
def test_entrypoints_import_without_googles_libraries(module: str) -> None:
    # ga.realtime runs every two minutes: importing it must not pay for google-api-python-client.
    code = (
        f"import sys, {module}\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('googleapiclient', 'google', 'httplib2'))\n"
        "print(heavy)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
