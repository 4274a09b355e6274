"""QueryError parsing: status names, clean messages, SQL positions and query ids."""

import re

import pytest

from mmtui.flightsql import (
    ConnectionFailed,
    DeadlineExceeded,
    FlightSQLClient,
    QueryCancelled,
    QueryError,
)
from mmtui.flightsql.errors import clean_message
from tests.fault_server import STATUS_ERRORS

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CLASS_BY_CODE: dict[str, type[QueryError]] = {
    "UNAVAILABLE": ConnectionFailed,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
    "CANCELLED": QueryCancelled,
}


def test_sql_error_position_and_query_id(fault_client: FlightSQLClient) -> None:
    with pytest.raises(QueryError) as caught:
        fault_client.query("SELECT nope FROM log_entries -- fault:sql_error")
    error = caught.value

    assert type(error) is QueryError
    assert error.code == "INVALID_ARGUMENT"
    assert error.line == 2
    assert error.column == 8
    assert error.query_id is not None
    assert UUID_RE.fullmatch(error.query_id)
    assert error.message.startswith("error building dataframe: Schema error: No field named nope.")
    assert error.message.endswith(f"(query_id={error.query_id})")
    assert "Traceback" not in error.message
    assert "Detail:" not in error.message


def test_prepare_error_has_position(fault_client: FlightSQLClient) -> None:
    with pytest.raises(QueryError) as caught:
        fault_client.prepare_statement("SELECT nope -- fault:sql_error")

    assert caught.value.code == "INVALID_ARGUMENT"
    assert (caught.value.line, caught.value.column) == (2, 8)


def test_long_error_message_arrives(fault_client: FlightSQLClient) -> None:
    # gRPC's default cap on received metadata (16 KiB) replaced such an error with its own
    # RESOURCE_EXHAUSTED one, so the server's message and position were lost.
    with pytest.raises(QueryError) as caught:
        fault_client.prepare_statement("SELECT nope -- fault:long_error:100000")
    error = caught.value

    assert error.code == "INVALID_ARGUMENT"
    assert "No field named nope." in error.message
    assert "metadata" not in error.message
    assert (error.line, error.column) == (1, 8)


def test_overlong_position_keeps_message(fault_client: FlightSQLClient) -> None:
    digits = "9" * 4400  # int() converts at most 4,300 digits by default
    with pytest.raises(QueryError) as caught:
        fault_client.prepare_statement(f"SELECT 1 -- fault:sql_error:{digits}_1")
    error = caught.value

    assert error.code == "INVALID_ARGUMENT"
    assert error.line is None
    assert error.column is None
    assert f"(at line {digits}, column 1)" in error.message


@pytest.mark.parametrize("code", sorted(STATUS_ERRORS))
def test_status_code_names(fault_client: FlightSQLClient, code: str) -> None:
    with pytest.raises(QueryError) as caught:
        fault_client.query(f"fault:status:{code}")
    error = caught.value

    assert error.code == code
    assert type(error) is CLASS_BY_CODE.get(code, QueryError)
    assert error.query_id == f"fault-status-{code.lower()}"
    assert error.message.endswith(f"simulated {code} error (query_id=fault-status-{code.lower()})")
    assert error.line is None
    assert error.column is None


def test_str_names_code_and_message() -> None:
    error = QueryError("INVALID_ARGUMENT", "bad column")

    assert str(error) == "INVALID_ARGUMENT: bad column"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Flight returned invalid argument error, with message: error building dataframe: "
            "x (at line 1, column 2) (query_id=q). gRPC client debug context: UNKNOWN:Error "
            'received from peer {grpc_message:"x", grpc_status:3}. Client context: OK',
            "error building dataframe: x (at line 1, column 2) (query_id=q)",
        ),
        (
            "late failure. Detail: Python exception: Traceback (most recent call last):\n"
            '  File "x.py", line 1\nValueError: late failure\n. gRPC client debug context: '
            "UNKNOWN:Error. Client context: OK",
            "late failure",
        ),
        ("no token. Detail: Unauthenticated. gRPC client debug context: x", "no token"),
        ("first line\nnote: second line", "first line\nnote: second line"),
    ],
)
def test_clean_message_strips_client_text(text: str, expected: str) -> None:
    assert clean_message(text) == expected
