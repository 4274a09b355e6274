"""FlightSQL protobuf messages as Flight tickets, descriptors and actions, and their replies.

Every FlightSQL command travels as a `google.protobuf.Any` wrapping a message of package
`arrow.flight.protocol.sql`; the classes come from the generated `flight_sql_pb2`.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message

from mmtui.flightsql.proto import flight_sql_pb2

CREATE_PREPARED_STATEMENT = "CreatePreparedStatement"


def pack_any(message: Message) -> bytes:
    """Serialize `message` wrapped in a `google.protobuf.Any`."""
    wrapper = any_pb2.Any()
    wrapper.Pack(message)
    data: bytes = wrapper.SerializeToString()
    return data


def statement_ticket(sql: str) -> Any:
    """Return the DoGet ticket that runs `sql`: a `TicketStatementQuery` holding the SQL text."""
    query = flight_sql_pb2.TicketStatementQuery(statement_handle=sql.encode("utf-8"))
    return flight.Ticket(pack_any(query))


def get_tables_descriptor(include_schema: bool = True) -> Any:
    """Return the GetFlightInfo descriptor of a `CommandGetTables`."""
    command = flight_sql_pb2.CommandGetTables(include_schema=include_schema)
    return flight.FlightDescriptor.for_command(pack_any(command))


def prepare_action(sql: str) -> Any:
    """Return the DoAction request that creates a prepared statement for `sql`."""
    request = flight_sql_pb2.ActionCreatePreparedStatementRequest(query=sql)
    return flight.Action(CREATE_PREPARED_STATEMENT, pack_any(request))


def parse_prepared_result(body: bytes) -> tuple[bytes, Any]:
    """Decode an `ActionCreatePreparedStatementResult`: return its handle and dataset schema.

    Raises ValueError when the body is not that message or the schema bytes are not Arrow IPC.
    """
    wrapper = any_pb2.Any()
    try:
        wrapper.ParseFromString(body)
    except DecodeError as exc:
        raise ValueError(f"invalid CreatePreparedStatement result: {exc}") from exc
    result = flight_sql_pb2.ActionCreatePreparedStatementResult()
    if not wrapper.Unpack(result):
        raise ValueError(
            f"invalid CreatePreparedStatement result: expected "
            f"ActionCreatePreparedStatementResult, got {wrapper.TypeName() or 'no type'}"
        )
    return result.prepared_statement_handle, read_ipc_schema(result.dataset_schema)


def read_ipc_schema(data: bytes) -> Any:
    """Decode an Arrow schema from IPC bytes: a stream holding only a schema, or one message.

    Raises ValueError when the bytes are empty or hold no schema.
    """
    if not data:
        raise ValueError("the schema bytes are empty")
    buffer = pa.py_buffer(data)
    try:
        return pa.ipc.open_stream(buffer).schema
    except pa.ArrowInvalid:
        pass
    try:
        return pa.ipc.read_schema(buffer)
    except pa.ArrowInvalid as exc:
        raise ValueError(f"the schema bytes are not an Arrow IPC schema: {exc}") from exc
