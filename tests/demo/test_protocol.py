"""FlightSQL calls of the demo server: DoGet, GetFlightInfo, GetTables, prepared statements,
and UNIMPLEMENTED for what Micromegas does not implement."""

from __future__ import annotations

import logging
import time

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from google.protobuf import any_pb2

from mmtui.demo import DemoServerHandle
from mmtui.flightsql.proto import flight_sql_pb2 as sql_pb2
from tests.demo.flight_calls import (
    call_options,
    command_descriptor,
    pack,
    run_query,
    statement_ticket,
)

GLOBAL_VIEWS = {"processes", "streams", "blocks", "log_entries", "log_stats", "measures"}


def test_doget_statement_returns_rows(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    table = run_query(flight_client, "SELECT count(*) AS n FROM log_entries")
    assert table.column("n").to_pylist() == [demo_server.telemetry.log_rows]


def test_doget_streams_many_batches(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    reader = flight_client.do_get(statement_ticket("SELECT time, msg FROM log_entries"))
    batches = [chunk.data for chunk in reader]
    assert len(batches) > 5
    assert sum(batch.num_rows for batch in batches) == demo_server.telemetry.log_rows


def test_doget_cancel_stops_server_early(
    flight_client: flight.FlightClient,
    demo_server: DemoServerHandle,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="mmtui.demo.server")
    reader = flight_client.do_get(statement_ticket("SELECT * FROM log_entries -- cancel me"))
    first = reader.read_chunk().data
    assert first.num_rows > 0
    reader.cancel()
    deadline = time.monotonic() + 10
    finished: list[str] = []
    while time.monotonic() < deadline and not finished:
        finished = [r.getMessage() for r in caplog.records if " cancelled: " in r.getMessage()]
        time.sleep(0.02)
    assert finished, "the server never logged the cancelled query"
    sent_rows = int(finished[0].split(" cancelled: ")[1].split(" rows")[0])
    # Streaming, not collected first: the server stopped well before the end of the table.
    assert sent_rows < demo_server.telemetry.log_rows


def test_doget_empty_result_has_schema(flight_client: flight.FlightClient) -> None:
    reader = flight_client.do_get(statement_ticket("SELECT msg FROM log_entries WHERE level > 99"))
    table = reader.read_all()
    assert table.num_rows == 0
    assert table.schema.names == ["msg"]


def test_query_logged_with_rows_and_time(
    flight_client: flight.FlightClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mmtui.demo.server")
    sql = "SELECT level FROM log_entries LIMIT 7"
    run_query(flight_client, sql)
    deadline = time.monotonic() + 5
    messages: list[str] = []
    while time.monotonic() < deadline and not any("done: 7 rows" in m for m in messages):
        messages = [r.getMessage() for r in caplog.records]
        time.sleep(0.02)
    assert any(repr(sql) in m and "range=all time" in m for m in messages)
    done = [m for m in messages if "done: 7 rows" in m]
    assert done and " ms " in done[0]


def test_flight_info_statement_ticket_runs_sql(flight_client: flight.FlightClient) -> None:
    sql = "SELECT 40 + 2 AS answer"
    info = flight_client.get_flight_info(
        command_descriptor(sql_pb2.CommandStatementQuery(query=sql))
    )
    assert len(info.endpoints) == 1
    assert len(info.schema) == 0
    wrapper = any_pb2.Any()
    wrapper.ParseFromString(info.endpoints[0].ticket.ticket)
    ticket = sql_pb2.TicketStatementQuery()
    assert wrapper.Unpack(ticket)
    assert ticket.statement_handle.decode() == sql
    table = flight_client.do_get(info.endpoints[0].ticket).read_all()
    assert table.column("answer").to_pylist() == [42]


def test_flight_info_prepared_statement_plans(flight_client: flight.FlightClient) -> None:
    sql = "SELECT level, msg FROM log_entries LIMIT 3"
    info = flight_client.get_flight_info(
        command_descriptor(
            sql_pb2.CommandPreparedStatementQuery(prepared_statement_handle=sql.encode())
        )
    )
    assert info.schema.names == ["level", "msg"]
    table = flight_client.do_get(info.endpoints[0].ticket).read_all()
    assert table.num_rows == 3


def _get_tables(
    client: flight.FlightClient, command: sql_pb2.CommandGetTables
) -> tuple[flight.FlightInfo, pa.Table]:
    info = client.get_flight_info(command_descriptor(command))
    table = client.do_get(info.endpoints[0].ticket).read_all()
    return info, table


def test_get_tables_lists_global_views(flight_client: flight.FlightClient) -> None:
    info, table = _get_tables(flight_client, sql_pb2.CommandGetTables())
    assert set(table.column("table_name").to_pylist()) == GLOBAL_VIEWS
    assert table.schema.names == ["catalog_name", "db_schema_name", "table_name", "table_type"]
    assert info.schema == table.schema
    assert set(table.column("table_type").to_pylist()) == {"table"}


def test_get_tables_include_schema(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    _, table = _get_tables(flight_client, sql_pb2.CommandGetTables(include_schema=True))
    schemas = dict(
        zip(
            table.column("table_name").to_pylist(),
            table.column("table_schema").to_pylist(),
            strict=True,
        )
    )
    log_schema = pa.ipc.open_stream(schemas["log_entries"]).schema
    assert log_schema == demo_server.telemetry.views["log_entries"].schema
    assert log_schema.field("exe").type == pa.dictionary(pa.int32(), pa.utf8())
    blocks_schema = pa.ipc.open_stream(schemas["blocks"]).schema
    assert "processes.exe" in blocks_schema.names


def test_get_tables_name_pattern(flight_client: flight.FlightClient) -> None:
    _, table = _get_tables(
        flight_client, sql_pb2.CommandGetTables(table_name_filter_pattern="log\\_%")
    )
    assert sorted(table.column("table_name").to_pylist()) == ["log_entries", "log_stats"]
    _, views = _get_tables(flight_client, sql_pb2.CommandGetTables(table_types=["VIEW"]))
    assert views.num_rows == 0


def test_sql_info_names_server(flight_client: flight.FlightClient) -> None:
    info = flight_client.get_flight_info(command_descriptor(sql_pb2.CommandGetSqlInfo()))
    table = flight_client.do_get(info.endpoints[0].ticket).read_all()
    assert info.schema == table.schema
    values = dict(
        zip(table.column("info_name").to_pylist(), table.column("value").to_pylist(), strict=True)
    )
    assert values == {0: "Micromegas Flight SQL Server", 1: "1", 2: "1.3"}
    only_name = flight_client.get_flight_info(
        command_descriptor(sql_pb2.CommandGetSqlInfo(info=[0, 999]))
    )
    table = flight_client.do_get(only_name.endpoints[0].ticket).read_all()
    assert table.column("info_name").to_pylist() == [0]


def _prepare(client: flight.FlightClient, sql: str) -> sql_pb2.ActionCreatePreparedStatementResult:
    body = pack(sql_pb2.ActionCreatePreparedStatementRequest(query=sql))
    results = list(client.do_action(flight.Action("CreatePreparedStatement", body)))
    assert len(results) == 1
    wrapper = any_pb2.Any()
    wrapper.ParseFromString(results[0].body.to_pybytes())
    result = sql_pb2.ActionCreatePreparedStatementResult()
    assert wrapper.Unpack(result)
    return result


def test_prepared_statement_returns_schema(flight_client: flight.FlightClient) -> None:
    sql = "SELECT time, level, exe, msg FROM log_entries WHERE level <= 3"
    result = _prepare(flight_client, sql)
    assert result.prepared_statement_handle.decode() == sql
    schema = pa.ipc.open_stream(result.dataset_schema).schema
    assert schema.names == ["time", "level", "exe", "msg"]
    assert schema.field("time").type == pa.timestamp("ns", tz="+00:00")
    assert schema.field("level").type == pa.int32()
    assert schema.field("exe").type == pa.dictionary(pa.int32(), pa.utf8())


def test_prepared_statement_does_not_execute(flight_client: flight.FlightClient) -> None:
    # Casting log text to a number fails only when rows are read.
    sql = "SELECT CAST(msg AS BIGINT) AS n FROM log_entries"
    schema = pa.ipc.open_stream(_prepare(flight_client, sql).dataset_schema).schema
    assert schema.field("n").type == pa.int64()
    with pytest.raises(flight.FlightInternalError):
        run_query(flight_client, sql)


def test_close_prepared_statement_accepted(flight_client: flight.FlightClient) -> None:
    body = pack(sql_pb2.ActionClosePreparedStatementRequest(prepared_statement_handle=b"SELECT 1"))
    results = list(flight_client.do_action(flight.Action("ClosePreparedStatement", body)))
    assert results == []


def test_list_actions_names_prepared_statements(flight_client: flight.FlightClient) -> None:
    names = {action.type for action in flight_client.list_actions()}
    assert names == {"CreatePreparedStatement", "ClosePreparedStatement"}


UNIMPLEMENTED_COMMANDS = [
    sql_pb2.CommandGetCatalogs(),
    sql_pb2.CommandGetDbSchemas(),
    sql_pb2.CommandGetTableTypes(),
    sql_pb2.CommandGetPrimaryKeys(table="log_entries"),
    sql_pb2.CommandGetExportedKeys(table="log_entries"),
    sql_pb2.CommandGetImportedKeys(table="log_entries"),
    sql_pb2.CommandStatementUpdate(query="DELETE FROM log_entries"),
]


@pytest.mark.parametrize("command", UNIMPLEMENTED_COMMANDS, ids=lambda c: type(c).__name__)
def test_flight_info_unimplemented_commands(
    flight_client: flight.FlightClient, command: object
) -> None:
    with pytest.raises(pa.ArrowNotImplementedError) as raised:
        flight_client.get_flight_info(command_descriptor(command))  # type: ignore[arg-type]
    # pyarrow raises ArrowNotImplementedError only for gRPC UNIMPLEMENTED.
    assert type(command).__name__ in str(raised.value)


@pytest.mark.parametrize("action", ["BeginTransaction", "CancelQuery", "EndSavepoint", "Reboot"])
def test_unimplemented_actions(flight_client: flight.FlightClient, action: str) -> None:
    with pytest.raises(pa.ArrowNotImplementedError) as raised:
        list(flight_client.do_action(flight.Action(action, b"")))
    assert action in str(raised.value)


def test_doget_unimplemented_ticket(flight_client: flight.FlightClient) -> None:
    ticket = flight.Ticket(pack(sql_pb2.CommandGetCatalogs()))
    with pytest.raises(pa.ArrowNotImplementedError) as raised:
        flight_client.do_get(ticket).read_all()
    assert "CommandGetCatalogs" in str(raised.value)


def test_handshake_unimplemented(flight_client: flight.FlightClient) -> None:
    with pytest.raises(pa.ArrowNotImplementedError):
        flight_client.authenticate_basic_token("user", "password")


def test_put_exchange_list_unimplemented(flight_client: flight.FlightClient) -> None:
    descriptor = command_descriptor(sql_pb2.CommandStatementUpdate(query="SELECT 1"))
    schema = pa.schema([("a", pa.int64())])
    with pytest.raises(pa.ArrowNotImplementedError):
        writer, _ = flight_client.do_put(descriptor, schema, call_options())
        writer.write_table(pa.table({"a": [1]}))
        writer.close()
    with pytest.raises(pa.ArrowNotImplementedError):
        writer, reader = flight_client.do_exchange(descriptor)
        reader.read_all()
    with pytest.raises(pa.ArrowNotImplementedError):
        list(flight_client.list_flights())
    with pytest.raises(pa.ArrowNotImplementedError):
        flight_client.get_schema(descriptor)


def test_flight_info_path_descriptor_unimplemented(flight_client: flight.FlightClient) -> None:
    with pytest.raises(pa.ArrowNotImplementedError):
        flight_client.get_flight_info(flight.FlightDescriptor.for_path("log_entries"))


def test_handle_lifecycle() -> None:
    from datetime import UTC, datetime

    from mmtui.demo import generate_telemetry, start_demo_server

    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    telemetry = generate_telemetry(now=now, seed=1, scale=0.01)
    handle = start_demo_server(port=0, telemetry=telemetry)
    assert handle.now == now
    assert handle.uri == f"grpc://127.0.0.1:{handle.port}"
    client = flight.connect(handle.uri)
    assert run_query(client, "SELECT max(time) <= now() AS past FROM log_entries").to_pylist() == [
        {"past": True}
    ]
    handle.stop()
    handle.stop()
    assert handle.join(timeout=0)
    with pytest.raises(flight.FlightUnavailableError):
        client.list_actions(flight.FlightCallOptions(timeout=2))
    client.close()


def test_stop_with_stalled_reader() -> None:
    from mmtui.demo import generate_telemetry, start_demo_server

    handle = start_demo_server(port=0, telemetry=generate_telemetry(seed=2, scale=0.3))
    client = flight.connect(handle.uri)
    reader = client.do_get(statement_ticket("SELECT * FROM log_entries"))
    reader.read_chunk()
    started = time.monotonic()
    handle.stop(timeout=0.5)
    assert time.monotonic() - started < 5
    reader.cancel()
    assert handle.join(timeout=10)
    client.close()
