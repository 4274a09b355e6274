"""Raw FlightSQL calls for the demo server tests, built from the protobuf messages."""

from __future__ import annotations

import re
from datetime import datetime

import pyarrow as pa
import pyarrow.flight as flight
from google.protobuf import any_pb2
from google.protobuf.message import Message

from mmtui.flightsql.proto import flight_sql_pb2 as sql_pb2

GRPC_INVALID_ARGUMENT = 3
GRPC_UNIMPLEMENTED = 12
GRPC_INTERNAL = 13
GRPC_UNAUTHENTICATED = 16

QUERY_ID = re.compile(
    r"\(query_id=([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\)"
)
POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def pack(message: Message) -> bytes:
    wrapper = any_pb2.Any()
    wrapper.Pack(message)
    return wrapper.SerializeToString()


def statement_ticket(sql: str) -> flight.Ticket:
    return flight.Ticket(pack(sql_pb2.TicketStatementQuery(statement_handle=sql.encode())))


def command_descriptor(message: Message) -> flight.FlightDescriptor:
    return flight.FlightDescriptor.for_command(pack(message))


def call_options(headers: dict[str, str] | None = None) -> flight.FlightCallOptions:
    pairs = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return flight.FlightCallOptions(headers=pairs, timeout=30)


def range_headers(begin: datetime, end: datetime) -> dict[str, str]:
    return {"query_range_begin": begin.isoformat(), "query_range_end": end.isoformat()}


def run_query(
    client: flight.FlightClient, sql: str, headers: dict[str, str] | None = None
) -> pa.Table:
    return client.do_get(statement_ticket(sql), call_options(headers)).read_all()


def grpc_status(error: BaseException) -> int:
    """The gRPC status code pyarrow's client keeps in the exception text."""
    match = re.search(r"grpc_status:(\d+)", str(error))
    if match is None:
        raise AssertionError(f"no gRPC status in error text: {error}")
    return int(match.group(1))


def server_message(error: BaseException) -> str:
    """The message the server sent, without what pyarrow appends on either side."""
    text = str(error)
    for marker in (". Detail: Python exception:", ". gRPC client debug context:"):
        text = text.split(marker, 1)[0]
    return text
