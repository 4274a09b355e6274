"""Error paths of the demo server: status codes and the Micromegas message shape."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from mmtui.demo.engine import locate_error
from mmtui.flightsql.proto import flight_sql_pb2 as sql_pb2
from tests.demo.flight_calls import (
    GRPC_INTERNAL,
    GRPC_INVALID_ARGUMENT,
    POSITION,
    QUERY_ID,
    command_descriptor,
    grpc_status,
    pack,
    run_query,
    server_message,
    statement_ticket,
)


def _rejected(client: flight.FlightClient, sql: str) -> str:
    with pytest.raises(pa.ArrowInvalid) as raised:
        run_query(client, sql)
    assert grpc_status(raised.value) == GRPC_INVALID_ARGUMENT
    return server_message(raised.value)


@pytest.mark.parametrize(
    ("sql", "position", "cause"),
    [
        ("SELECT tme FROM log_entries", (1, 8), "No field named tme"),
        ("SELECT time\nFROM log_entries\nWHERE  levl <= 2", (3, 8), "No field named levl"),
        ("SELECT * FROM log_entrys", (1, 15), "log_entrys' not found"),
        ("SELECT msg FROM log_entries WHERE 'tme' = tme", (1, 43), "No field named tme"),
        ('SELECT "Level" FROM log_entries', (1, 8), 'No field named "Level"'),
        ("SELECT property_gett(properties, 'a') FROM log_entries", (1, 8), "property_gett"),
        ("SELEC time FROM log_entries", (1, 1), "ParserError"),
        ("SELECT time FROM log_entries\n  WHERE level <=", (2, 17), "ParserError"),
    ],
    ids=[
        "unknown-column",
        "unknown-column-line-3",
        "unknown-table",
        "column-after-string",
        "quoted-column",
        "unknown-function",
        "syntax",
        "syntax-at-end",
    ],
)
def test_planning_error_has_position(
    flight_client: flight.FlightClient, sql: str, position: tuple[int, int], cause: str
) -> None:
    message = _rejected(flight_client, sql)
    assert message.startswith("error building dataframe: ")
    assert cause in message
    found = POSITION.search(message)
    assert found is not None, message
    assert (int(found.group(1)), int(found.group(2))) == position
    query_id = QUERY_ID.search(message)
    assert query_id is not None
    assert uuid.UUID(query_id.group(1)).version == 4
    # The position and query id follow the first line of the root cause.
    first_line = message.split("\n", 1)[0]
    assert first_line.endswith(f"(query_id={query_id.group(1)})")


def test_error_without_position(flight_client: flight.FlightClient) -> None:
    message = _rejected(flight_client, "SELECT sum(msg) FROM log_entries")
    assert POSITION.search(message) is None
    assert QUERY_ID.search(message.split("\n", 1)[0]) is not None


def test_each_error_gets_new_query_id(flight_client: flight.FlightClient) -> None:
    first = QUERY_ID.search(_rejected(flight_client, "SELECT nope FROM log_entries"))
    second = QUERY_ID.search(_rejected(flight_client, "SELECT nope FROM log_entries"))
    assert first is not None and second is not None
    assert first.group(1) != second.group(1)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE copy AS SELECT * FROM log_entries",
        "COPY log_entries TO '/tmp/mmtui-demo-copy.csv'",
        "SET datafusion.execution.batch_size = 10",
    ],
    ids=["ddl", "copy", "set"],
)
def test_statements_other_than_queries_rejected(
    flight_client: flight.FlightClient, sql: str
) -> None:
    message = _rejected(flight_client, sql)
    assert "not supported" in message


def test_view_instance_unknown_id(flight_client: flight.FlightClient) -> None:
    message = _rejected(
        flight_client, "SELECT * FROM view_instance('thread_spans', 'no-such-stream')"
    )
    assert "no thread_spans instance for stream_id 'no-such-stream'" in message


def test_view_instance_unknown_view(flight_client: flight.FlightClient) -> None:
    message = _rejected(flight_client, "SELECT * FROM view_instance('net_spans', 'x')")
    assert "unknown view 'net_spans'" in message


def test_prepare_error_invalid_argument(flight_client: flight.FlightClient) -> None:
    body = pack(sql_pb2.ActionCreatePreparedStatementRequest(query="SELECT levl FROM log_entries"))
    with pytest.raises(pa.ArrowInvalid) as raised:
        list(flight_client.do_action(flight.Action("CreatePreparedStatement", body)))
    # pyarrow keeps no gRPC debug text for DoAction; it raises ArrowInvalid only for
    # INVALID_ARGUMENT.
    message = server_message(raised.value)
    assert "(at line 1, column 8)" in message
    assert QUERY_ID.search(message) is not None


def test_prepared_flight_info_error(flight_client: flight.FlightClient) -> None:
    command = sql_pb2.CommandPreparedStatementQuery(prepared_statement_handle=b"SELECT x FROM y")
    with pytest.raises(pa.ArrowInvalid) as raised:
        flight_client.get_flight_info(command_descriptor(command))
    assert "y' not found" in server_message(raised.value)


def test_error_mid_stream_after_batches(flight_client: flight.FlightClient) -> None:
    # Rows of the last hour come last in log_entries; casting their text fails.
    sql = (
        "SELECT CASE WHEN time > now() - INTERVAL '1 hour' THEN CAST(msg AS BIGINT) ELSE 0 END "
        "AS n FROM log_entries"
    )
    reader = flight_client.do_get(statement_ticket(sql))
    received = 0
    with pytest.raises(flight.FlightInternalError) as raised:
        for chunk in reader:
            received += chunk.data.num_rows
    assert received > 0
    assert grpc_status(raised.value) == GRPC_INTERNAL
    message = server_message(raised.value)
    assert "Cast error" in message
    assert QUERY_ID.search(message) is not None


@pytest.mark.parametrize(
    "ticket",
    [
        b"not a protobuf",
        pack(sql_pb2.CommandGetCatalogs()).replace(b"arrow.flight", b"other.stuff"),
    ],
    ids=["garbage", "foreign-type"],
)
def test_invalid_ticket_rejected(flight_client: flight.FlightClient, ticket: bytes) -> None:
    with pytest.raises(pa.ArrowInvalid) as raised:
        flight_client.do_get(flight.Ticket(ticket)).read_all()
    assert grpc_status(raised.value) == GRPC_INVALID_ARGUMENT
    assert "invalid FlightSQL command" in server_message(raised.value)


def test_locate_error_skips_comments_and_strings() -> None:
    sql = "-- tme in a comment\nSELECT 'tme', /* tme */ tme FROM t"
    assert locate_error(sql, "Schema error: No field named tme.") == (2, 25)


def test_locate_error_unknown_name() -> None:
    assert locate_error("SELECT a FROM t", "Schema error: No field named zz.") is None


def test_view_instance_needs_literals(flight_client: flight.FlightClient) -> None:
    message = _rejected(flight_client, "SELECT * FROM view_instance('log_entries', 42 + 1)")
    assert "second argument must be a string literal" in message


def test_prepare_wrong_body_rejected(flight_client: flight.FlightClient) -> None:
    wrong = pack(sql_pb2.ActionClosePreparedStatementRequest(prepared_statement_handle=b"x"))
    with pytest.raises(pa.ArrowInvalid) as raised:
        list(flight_client.do_action(flight.Action("CreatePreparedStatement", wrong)))
    assert "expected ActionCreatePreparedStatementRequest" in server_message(raised.value)
    with pytest.raises(pa.ArrowInvalid) as raised:
        list(flight_client.do_action(flight.Action("CreatePreparedStatement", b"\xff\x00")))
    assert "invalid FlightSQL command" in server_message(raised.value)


def test_flight_info_garbage_command(flight_client: flight.FlightClient) -> None:
    with pytest.raises(pa.ArrowInvalid) as raised:
        flight_client.get_flight_info(flight.FlightDescriptor.for_command(b"\xff\xfe garbage"))
    assert "invalid FlightSQL command" in server_message(raised.value)
